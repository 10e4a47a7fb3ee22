"""Wiring of the langchain-tests *integration* suites to the real recordings or a live Ollama.

``cassettes/recorded/langchain-standard/`` holds the standard integration suite as run live with the
official ``langchain-ollama`` (one cassette per test, ``Class.test_name.yaml``). Our test classes use
the same names, so each test replays its own cassette, matched on the semantic request body.

* An Ollama answers at ``OLLAMA_HOST``: every standard test runs live, no cassette involved.
* Otherwise a test replays its cassette (``record_mode="none"``: our adapter never overwrites the
  official package's recordings). A test for which no recording can answer (no cassette, or our
  adapter deliberately sends a different request than the official package did) is skipped with
  the precise reason; a test whose recorded answer makes it fail is ``xfail(strict=True)``.
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from ollama_provider import resolve_host

STANDARD_DIR = Path(__file__).resolve().parents[2] / "cassettes" / "recorded" / "langchain-standard"
STANDARD_CLASSES = ("TestChatOllamaIntegration", "TestOllamaEmbeddingsIntegration")
LIVE = "runs against a live Ollama only (set OLLAMA_HOST to a running server with the recorded models)"

_FORCED_TOOL = (
    "no recording matches our request: tool_choice='any' forces the single bound tool with a JSON-schema "
    "format, while the official package ignored tool_choice (its recording has no format, and the model "
    "answered in text)"
)
_TOOL_HISTORY = (
    "no recording matches our request: we send ToolMessage.tool_call_id and the tool-call ids back (and the "
    "core writes content '' and function.index), which the official client dropped from its request"
)
#: Standard tests whose request, by design, differs from the official package's recording.
DIFFERENT_REQUEST = {
    "test_tool_calling": _FORCED_TOOL,
    "test_tool_calling_async": _FORCED_TOOL,
    "test_bind_runnables_as_tools": _FORCED_TOOL,
    "test_tool_calling_with_no_arguments": _FORCED_TOOL,
    "test_unicode_tool_call_integration": _FORCED_TOOL,
    "test_tool_message_histories_string_content": _TOOL_HISTORY,
    "test_tool_message_histories_list_content": _TOOL_HISTORY,
    "test_tool_message_error_status": _TOOL_HISTORY,
    "test_structured_few_shot_examples": _TOOL_HISTORY,
}
#: Replayed tests whose recorded answer fails the test (they failed the official package too).
RECORDED_FAILURE = {
    "test_agent_loop": (
        "recorded answer: smollm2:135m replies in text when merely offered a tool (no tool_choice), so "
        "there is no tool call; the official package failed identically (official-results.txt)"
    ),
    "test_json_mode": (
        "recorded answer: smollm2:135m's JSON has the wrong shape (nested 'setup' objects, no "
        "'punchline'), so parsing into Joke raises; the official package failed identically "
        "(official-results.txt)"
    ),
}
#: Tests that never reach the server (or are skipped by the suite itself for a capability flag).
NO_SERVER_NEEDED = {
    "test_no_overrides_DO_NOT_OVERRIDE",
    "test_pdf_inputs",
    "test_audio_inputs",
    "test_image_inputs",
    "test_image_tool_message",
    "test_pdf_tool_message",
    "test_anthropic_inputs",
    "test_stream_time",
}

_live: list[str | None] = []


def live_problem() -> str | None:
    """``None`` when an Ollama answers at ``OLLAMA_HOST``, else why not (probed once)."""
    if not _live:
        raw = os.environ.get("OLLAMA_HOST")
        problem: str | None = "OLLAMA_HOST is not set"
        if raw:
            url = resolve_host(raw)
            try:
                httpx.get(f"{url}/api/version", timeout=1.0).raise_for_status()
                problem = None
            except httpx.HTTPError as exc:
                problem = f"no Ollama answers at {url} ({type(exc).__name__})"
        _live.append(problem)
    return _live[0]


def _class_name(item: pytest.Item) -> str | None:
    """The test class of an item (doctest and plain function items have none)."""
    return getattr(getattr(item, "cls", None), "__name__", None)


@pytest.hookimpl(tryfirst=True)  # before the suite-wide hook, which reads the vcr marks we add
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    standard = [item for item in items if _class_name(item) in STANDARD_CLASSES]
    if not standard or live_problem() is None:
        return
    for item in standard:
        test = getattr(item, "originalname", item.name)
        cassette = STANDARD_DIR / f"{_class_name(item)}.{item.name}.yaml"
        if test in NO_SERVER_NEEDED:
            continue
        if test in DIFFERENT_REQUEST:
            item.add_marker(pytest.mark.skip(reason=f"{DIFFERENT_REQUEST[test]}; {LIVE}"))
        elif not cassette.exists():
            reason = f"the official run left no recording for {item.name}; {LIVE}"
            item.add_marker(pytest.mark.skip(reason=reason))
        else:
            item.add_marker(pytest.mark.vcr(str(cassette), record_mode="none"))
            if test in RECORDED_FAILURE:
                item.add_marker(pytest.mark.xfail(reason=RECORDED_FAILURE[test], strict=True))
