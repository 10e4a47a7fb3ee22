"""Wiring of the langchain-tests *integration* suites to our adapter's own recordings or a live Ollama.

``cassettes/recorded/langchain-standard-ours/`` holds the standard integration suites as our adapter
ran them live (one cassette per test that reached the server, ``Class.test_name.yaml``; see its
README). ``langchain-standard/`` beside it is the official ``langchain-ollama``'s run of the same
suites, kept for comparison: our adapter sends other requests than the official package for forced
tools and tool-message histories, so it replays its own.

* Replaying (the default): each test replays its cassette from the run's recordings. A test the
  recordings hold no cassette for is skipped, saying so. A test whose recorded answer cannot pass
  (the 135M model's answer, as :data:`RECORDED_FAILURE` reads it from the cassette) is
  ``xfail(strict=True)``; when a re-recording holds a good answer, the test must pass.
* Recording (``--record-mode`` other than none, tests/tools/record.py): each test records into its
  cassette through our adapter.
* An Ollama answers at ``OLLAMA_HOST`` and nothing is recorded: every standard test runs live, marked
  ``live`` (``pytest -m live`` selects them).

Recording or live, the model decides: a test of :data:`RECORDED_FAILURE` that fails is ``xfail`` when the
answer it got is the kind that cannot pass (read from what it just recorded, or, live, from the answers
as the test's own code read them: tests/live_answers.py), and a failure like any other when not.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from ollama_provider.testing import semantic_body_matcher

from ..live_answers import LiveAnswers, keep_answers
from ..live_server import server_problem
from ..recorded.expected import chat_text
from ..recordings import Cassette, Exchange, cassette, is_recording, recordings_dir, vcr_cassette

STANDARD = "langchain-standard-ours"
STANDARD_CLASSES = ("TestChatOllamaIntegration", "TestOllamaEmbeddingsIntegration")
LIVE = "runs against a live Ollama only (set OLLAMA_HOST to a running server with the recorded models)"
STANDARD_MATCHER = "semantic_body_any_tool_call_ids"
LIVE_ANSWERS = pytest.StashKey[LiveAnswers]()  # a live test's answers (kept by pytest_runtest_call)


# --------------------------------------------------------------------------- matching


class _WithNumberedIds:
    """A vcrpy request whose tool-call ids are numbered in order of appearance.

    The suite makes some of its few-shot histories with fresh ``uuid4()`` ids on every run, which
    the server only echoes: the same history is the same request whatever the ids, as long as each
    id points where it pointed.
    """

    def __init__(self, request: Any) -> None:
        self.method, self.path = request.method, request.path
        raw = getattr(request, "body_bytes", None) or request.body or b""
        self.body = _number_ids(raw.encode("utf-8") if isinstance(raw, str) else bytes(raw))


def _number_ids(raw: bytes) -> bytes:
    try:
        body = json.loads(raw)
    except ValueError:
        return raw
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        return raw
    numbers: dict[str, str] = {}

    def number(value: Any) -> Any:
        return numbers.setdefault(value, f"id-{len(numbers)}") if isinstance(value, str) else value

    for message in body["messages"]:
        if "tool_call_id" in message:
            message["tool_call_id"] = number(message["tool_call_id"])
        for call in message.get("tool_calls") or []:
            if "id" in call:
                call["id"] = number(call["id"])
    return json.dumps(body).encode("utf-8")


def any_tool_call_ids_matcher(r1: Any, r2: Any) -> None:
    semantic_body_matcher(_WithNumberedIds(r1), _WithNumberedIds(r2))


def pytest_recording_configure(config: pytest.Config, vcr: Any) -> None:
    vcr.register_matcher(STANDARD_MATCHER, any_tool_call_ids_matcher)


# --------------------------------------------------------------------------- which cassette, which outcome


def _no_tool_call(recording: Cassette) -> bool:
    """The first answer offered tools but called none."""
    first = recording.exchange("/api/chat")
    return not any(line["message"].get("tool_calls") for line in first.lines)


def _not_a_joke(recording: Cassette) -> bool:
    """The answer is not the JSON object with string ``setup`` and ``punchline`` the test parses."""
    try:
        joke = json.loads(chat_text(recording.exchange("/api/chat").lines))
    except ValueError:
        return True
    return not (isinstance(joke, dict) and all(isinstance(joke.get(k), str) for k in ("setup", "punchline")))


def _calls_in(exchange: Exchange) -> list[tuple[str, dict[str, Any]]]:
    """``(name, arguments)`` of the tool calls of a recorded chat answer: native ``tool_calls``, or the
    JSON call a forced request (a ``format``) answers with as text."""
    lines = exchange.lines
    native = [call["function"] for line in lines for call in line["message"].get("tool_calls") or []]
    found = [(str(call["name"]), dict(call.get("arguments") or {})) for call in native]
    try:
        forced = json.loads(chat_text(lines))
    except ValueError:
        return found
    if isinstance(forced, dict) and isinstance(forced.get("arguments"), dict):
        found.append((str(forced.get("name")), forced["arguments"]))
    return found


def _not_magic_3(recording: Cassette) -> bool:
    """The call of ``magic_function`` does not carry the question's input 3."""
    calls = [call for exchange in recording.all("/api/chat") for call in _calls_in(exchange)]
    return any(args != {"input": 3} for name, args in calls if name == "magic_function")


def _unicode_lost(recording: Cassette) -> bool:
    """A customer name lacks both of the first two characters of the (Chinese, Japanese) name asked for."""
    for exchange in recording.all("/api/chat"):
        asked = re.search(r"named '([^']+)'", str(exchange.request["messages"][-1].get("content")))
        for _, args in _calls_in(exchange):
            name = str(args.get("customer_name", ""))
            if asked and not any(ch in name for ch in asked.group(1)[:2]):
                return True
    return False


#: Tests that fail on some answers of the 135M model, the reason (after "recorded answer: " or "live
#: answer: "), and how to see it in the answer.
RECORDED_FAILURE: dict[str, tuple[str, Callable[[Cassette], bool]]] = {
    "test_agent_loop": (
        "smollm2:135m replies in text when merely offered a tool (no tool_choice), so "
        "there is no tool call (the official package failed identically, official-results.txt)",
        _no_tool_call,
    ),
    "test_tool_calling": (
        "smollm2:135m called magic_function with another input than the question's 3 "
        "(as it did under Ollama 0.12.11)",
        _not_magic_3,
    ),
    "test_tool_calling_async": (
        "smollm2:135m called magic_function with another input than the question's 3",
        _not_magic_3,
    ),
    "test_unicode_tool_call_integration": (
        "smollm2:135m wrote another customer name than the Chinese or Japanese one asked for",
        _unicode_lost,
    ),
    "test_json_mode": (
        "smollm2:135m's JSON has the wrong shape (no string 'setup' and 'punchline'), so "
        "parsing into Joke raises (the official package failed identically, official-results.txt)",
        _not_a_joke,
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


def _class_name(item: pytest.Item) -> str | None:
    """The test class of an item (doctest and plain function items have none)."""
    return getattr(getattr(item, "cls", None), "__name__", None)


@pytest.hookimpl(tryfirst=True)  # before the suite-wide hook, which reads the vcr marks we add
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    standard = [item for item in items if _class_name(item) in STANDARD_CLASSES]
    if not standard:
        return
    recording = is_recording(config)
    if not recording and server_problem() is None:  # live: no cassette involved
        for item in standard:
            item.add_marker(pytest.mark.live)
            if getattr(item, "originalname", item.name) in RECORDED_FAILURE:
                item.stash[LIVE_ANSWERS] = LiveAnswers()  # replaced by the answers kept while it runs
        return
    for item in standard:
        test = getattr(item, "originalname", item.name)
        if test in NO_SERVER_NEEDED:
            continue
        name = f"{STANDARD}/{_class_name(item)}.{item.name}.yaml"
        cassette_mark = pytest.mark.vcr(name, match_on=["method", "path", STANDARD_MATCHER])
        failure = RECORDED_FAILURE.get(test)
        if recording:
            item.add_marker(cassette_mark)  # records into it (the suite-wide hook needs a server)
        elif not (recordings_dir() / name).exists():
            item.add_marker(pytest.mark.skip(reason=f"the recordings hold no {name}; {LIVE}"))
        else:
            item.add_marker(cassette_mark)
            if failure and failure[1](cassette(name)):
                item.add_marker(pytest.mark.xfail(reason=f"recorded answer: {failure[0]}", strict=True))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    """Keep the answers of a live test of :data:`RECORDED_FAILURE` while it runs."""
    if LIVE_ANSWERS not in item.stash:
        return (yield)
    with pytest.MonkeyPatch.context() as patch:
        item.stash[LIVE_ANSWERS] = keep_answers(patch)
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A failed test of :data:`RECORDED_FAILURE` that ran against a server: ``xfail`` when the answer
    it got is one that cannot pass (the model's doing), else the failure stands."""
    report = yield
    failure = RECORDED_FAILURE.get(getattr(item, "originalname", item.name))
    if (
        failure is None
        or report.when != "call"
        or not report.failed
        or _class_name(item) not in STANDARD_CLASSES
    ):
        return report
    live = item.stash.get(LIVE_ANSWERS, None)
    cassette_in_use = getattr(item, "funcargs", {}).get("vcr")
    if live is not None:
        answers, source = live.cassette(item.nodeid), "live answer"
    elif cassette_in_use is not None and not cassette_in_use.write_protected:
        answers, source = vcr_cassette(cassette_in_use), "answer just recorded"
    else:
        return report  # replayed: the strict xfail of collection decided already
    if answers.all("/api/chat") and failure[1](answers):
        report.outcome = "skipped"
        report.wasxfail = f"{source}: {failure[0]}"
    return report
