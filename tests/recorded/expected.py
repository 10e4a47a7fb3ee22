"""Expected values of the recorded tests, computed from a recorded answer's raw JSON (tests/recordings.py).

Each helper states what our typed response must hold for a given raw answer: the usage and timings of
a final chunk, a timestamp, the text of a stream. None of it calls our parsers.

>>> utc("2026-11-26T17:24:08.465616093Z")
datetime.datetime(2026, 11, 26, 17, 24, 8, 465616, tzinfo=datetime.timezone.utc)
>>> utc("2026-11-26T18:24:08+01:00").hour
17
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

import pytest

NANOSECONDS = 1e9
_RFC3339 = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$")


def utc(raw: str) -> datetime:
    """An RFC 3339 time of the server (nanoseconds cut to microseconds), in UTC."""
    match = _RFC3339.match(raw)
    assert match, f"not an RFC 3339 time: {raw!r}"
    base, fraction, zone = match.groups()
    micro = (fraction or "")[:6].ljust(6, "0")
    offset = "+00:00" if zone == "Z" else zone
    return datetime.fromisoformat(f"{base}.{micro}{offset}").astimezone(timezone.utc)


def assert_metrics(answer: Any, final: dict[str, Any]) -> None:
    """``answer.usage`` and ``answer.timings`` are the recorded final chunk's counts and durations."""
    prompt, completion = final.get("prompt_eval_count", 0), final.get("eval_count", 0)
    usage = answer.usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (
        prompt,
        completion,
        prompt + completion,
    )
    timings = answer.timings
    for ours, key in (
        (timings.total, "total_duration"),
        (timings.load, "load_duration"),
        (timings.prompt_eval, "prompt_eval_duration"),
        (timings.eval, "eval_duration"),
    ):
        assert ours == pytest.approx(final.get(key, 0) / NANOSECONDS), key
    eval_seconds = final.get("eval_duration", 0) / NANOSECONDS
    speed = completion / eval_seconds if eval_seconds else None
    assert timings.tokens_per_second == (pytest.approx(speed) if speed else None)


def chat_text(lines: Sequence[dict[str, Any]], field: str = "content") -> str:
    """The message ``content`` (or ``thinking``) of chat lines, joined."""
    return "".join(line["message"].get(field) or "" for line in lines)


def generate_text(lines: Sequence[dict[str, Any]], field: str = "response") -> str:
    """The ``response`` (or ``thinking``) of generate lines, joined."""
    return "".join(line.get(field) or "" for line in lines)


def finish_reason(done_reason: str, called_tools: bool = False) -> str:
    """The normalised reason a caller sees: ``tool_calls`` when the answer called tools and stopped."""
    return "tool_calls" if called_tools and done_reason == "stop" else done_reason


def calls(message: dict[str, Any]) -> list[tuple[str | None, int | None, str, dict[str, Any]]]:
    """``(id, index, name, arguments)`` of each recorded tool call of a message."""
    return [
        (
            call.get("id"),
            call["function"].get("index"),
            call["function"]["name"],
            call["function"]["arguments"],
        )
        for call in message.get("tool_calls") or []
    ]


#: Ollama's tool-call ids: ``call_`` and eight lowercase letters or digits.
TOOL_CALL_ID = re.compile(r"call_[a-z0-9]{8}")


def assert_chat_answer(answer: Any, line: dict[str, Any]) -> None:
    """A chat answer (or one chunk) says what its recorded JSON line says."""
    message = line["message"]
    assert (answer.model, answer.created_at, answer.done) == (line["model"], line["created_at"], line["done"])
    assert (answer.message.role, answer.message.content) == (message["role"], message["content"])
    assert (answer.message.thinking or None) == (message.get("thinking") or None)
    assert answer.done_reason == line.get("done_reason")


def assert_generate_answer(answer: Any, line: dict[str, Any]) -> None:
    """A generate answer (or one chunk) says what its recorded JSON line says."""
    assert (answer.model, answer.created_at, answer.done) == (line["model"], line["created_at"], line["done"])
    assert (answer.response, answer.thinking or None) == (line["response"], line.get("thinking") or None)
    assert answer.done_reason == line.get("done_reason")
    assert answer.context == line.get("context")


def assert_stream(chunks: Sequence[Any], lines: Sequence[dict[str, Any]], chunk_check: Any) -> None:
    """One chunk per recorded line, each as its line says; only the last is done and carries the metrics."""
    assert len(chunks) == len(lines)
    for chunk, line in zip(chunks, lines, strict=True):
        chunk_check(chunk, line)
    assert [chunk.done for chunk in chunks] == [False] * (len(chunks) - 1) + [True]
    assert all(chunk.finish_reason is None and chunk.usage.total_tokens == 0 for chunk in chunks[:-1])
    assert_metrics(chunks[-1], lines[-1])


def parameter_values(parameters: str) -> dict[str, list[str]]:
    """The ``parameters`` text of ``/api/show`` (``name   value`` lines) as lists of values per name."""
    values: dict[str, list[str]] = {}
    for line in parameters.splitlines():
        name, _, value = line.strip().partition(" ")
        if name:
            values.setdefault(name, []).append(value.strip().strip('"'))
    return values


def assert_details(ours: Any, raw: dict[str, Any]) -> None:
    """``ModelDetails`` hold the recorded ``details`` object, key for key."""
    assert (ours.format, ours.family, ours.families) == (raw["format"], raw["family"], raw.get("families"))
    assert (ours.parameter_size, ours.quantization_level) == (
        raw["parameter_size"],
        raw["quantization_level"],
    )
    assert ours.parent_model == raw.get("parent_model", "")
    assert (ours.context_length, ours.embedding_length) == (
        raw.get("context_length"),
        raw.get("embedding_length"),
    )


def assert_progress(updates: Sequence[Any], lines: Sequence[dict[str, Any]]) -> None:
    """Pull, push and create progress: one update per recorded line, as the line says."""
    assert [(u.status, u.digest, u.total, u.completed) for u in updates] == [
        (line["status"], line.get("digest"), line.get("total"), line.get("completed")) for line in lines
    ]
    for update in updates:
        expected = 100 * (update.completed or 0) / update.total if update.total else None
        assert update.percent == (pytest.approx(expected) if expected is not None else None)
