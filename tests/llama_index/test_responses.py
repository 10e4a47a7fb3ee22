"""Core responses -> LlamaIndex responses: ``raw`` and the streamed accumulation (no server)."""

from __future__ import annotations

import dataclasses

from llama_index.llms.ollama_provider.responses import raw_dict

from ollama_provider import ChatResponse as CoreResponse
from ollama_provider import Message, TokenLogprob, ToolCall, ToolCallFunction

FINAL_CHUNK = CoreResponse(
    model="m",
    created_at="2026-01-01T00:00:00Z",
    message=Message(
        "assistant",
        "",
        thinking="hmm",
        images=["aGk="],
        tool_calls=[ToolCall(ToolCallFunction("get_weather", {"city": ["Paris"]}, index=0), id="call_1")],
    ),
    done=True,
    done_reason="stop",
    finish_reason="tool_calls",
    logprobs=[TokenLogprob("a", -0.5, [97], top_logprobs=[TokenLogprob("a", -0.5, [97])])],
    total_duration=9,
    prompt_eval_count=3,
    eval_count=2,
)


def test_raw_is_every_field_of_the_core_response_as_asdict_gives_it() -> None:
    # raw_dict spells the fields out for speed: this catches a field added to the core and not to raw.
    for response in (CoreResponse(message=Message("assistant", "hi")), FINAL_CHUNK):
        raw = raw_dict(response)
        raw.pop("usage", None)
        assert raw == dataclasses.asdict(response)


def test_raw_copies_nested_values_so_changing_raw_leaves_the_response_alone() -> None:
    raw = raw_dict(FINAL_CHUNK)
    raw["message"]["images"].append("x")
    raw["message"]["tool_calls"][0]["function"]["arguments"]["city"].append("Lyon")

    assert FINAL_CHUNK.message.images == ["aGk="]
    assert FINAL_CHUNK.message.tool_calls is not None
    assert FINAL_CHUNK.message.tool_calls[0].function.arguments == {"city": ["Paris"]}


def test_raw_of_a_finished_answer_has_usage_and_of_a_chunk_has_none() -> None:
    assert raw_dict(FINAL_CHUNK)["usage"] == {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    assert "usage" not in raw_dict(CoreResponse(message=Message("assistant", "partial")))
