"""How ``chat`` prints a stream: thinking dimmed and apart, content plain, tool calls named.

The recorded thinking streams need a multi-turn history the CLI does not send, so these chunks come
from an ``httpx.MockTransport`` (synthetic, shaped like api/chat_think_stream).
"""

from __future__ import annotations

import io
import json

import httpx
from rich.console import Console

from ollama_provider import OllamaProvider
from ollama_provider.cli._chat import ChatReply, ChatSettings, stats_line, stream_reply

THINKING_STREAM = [
    {"model": "m", "message": {"role": "assistant", "content": "", "thinking": "Three plus"}, "done": False},
    {"model": "m", "message": {"role": "assistant", "content": "", "thinking": " five."}, "done": False},
    {"model": "m", "message": {"role": "assistant", "content": "8"}, "done": False},
    {
        "model": "m",
        "message": {"role": "assistant", "content": ""},
        "done": True,
        "done_reason": "stop",
        "prompt_eval_count": 10,
        "eval_count": 4,
        "eval_duration": 100_000_000,
    },
]
TOOL_STREAM = [
    {
        "model": "m",
        "message": {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "call_1",
                    "function": {"index": 0, "name": "get_weather", "arguments": {"city": "Oslo"}},
                }
            ],
        },
        "done": False,
    },
    {"model": "m", "message": {"role": "assistant", "content": ""}, "done": True, "done_reason": "stop"},
]


def _provider(lines: list[dict[str, object]], seen: list[dict[str, object]]) -> OllamaProvider:
    body = b"".join(json.dumps(line).encode() + b"\n" for line in lines)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return httpx.Response(200, content=body, headers={"content-type": "application/x-ndjson"})

    return OllamaProvider("http://ollama.test", client_kwargs={"transport": httpx.MockTransport(handler)})


def _terminal() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, force_terminal=True, color_system="standard", width=200), buffer


def test_thinking_is_printed_dimmed_before_the_answer() -> None:
    seen: list[dict[str, object]] = []
    console, buffer = _terminal()
    with _provider(THINKING_STREAM, seen) as provider:
        reply = stream_reply(
            provider, [{"role": "user", "content": "3 + 5?"}], ChatSettings("m", think=True), console
        )
    printed = buffer.getvalue()
    dim = "\x1b[2;3m"  # rich: dim italic
    assert printed.index(dim + "Three plus") < printed.index("8")
    assert "\x1b[2;3m8" not in printed  # the answer itself is not dimmed
    assert reply.thinking == "Three plus five."
    assert reply.content == "8"
    assert seen[0]["think"] is True
    assert seen[0]["stream"] is True


def test_tool_calls_are_named_and_kept_for_the_history() -> None:
    console, buffer = _terminal()
    with _provider(TOOL_STREAM, []) as provider:
        reply = stream_reply(provider, [{"role": "user", "content": "Weather?"}], ChatSettings("m"), console)
    assert "[tool call] get_weather({'city': 'Oslo'})" in buffer.getvalue()
    assert reply.as_message()["tool_calls"][0]["function"]["name"] == "get_weather"


def test_settings_reach_the_request_and_unset_ones_stay_out() -> None:
    seen: list[dict[str, object]] = []
    settings = ChatSettings("m", temperature=0.0, seed=7, num_predict=5, format="json")
    with _provider(THINKING_STREAM, seen) as provider:
        stream_reply(provider, [{"role": "user", "content": "x"}], settings, None)
    request = seen[0]
    assert request["format"] == "json"
    assert request["options"] == {"temperature": 0.0, "seed": 7, "num_predict": 5}
    assert "think" not in request
    assert "keep_alive" not in request


def test_stats_line_without_a_final_chunk_says_it_was_interrupted() -> None:
    assert stats_line(ChatReply(interrupted=True, elapsed=0.2)).startswith("no final chunk (interrupted)")
