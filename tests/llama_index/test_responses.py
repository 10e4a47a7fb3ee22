"""Core responses -> LlamaIndex responses: ``raw`` and the streamed accumulation (no server)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)
from llama_index.llms.ollama_provider import prebuilt, responses
from llama_index.llms.ollama_provider.prebuilt import UNVALIDATED
from llama_index.llms.ollama_provider.responses import StreamAccumulator, raw_dict

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


def _chunk(
    content: str = "", thinking: str | None = None, calls: list[ToolCall] | None = None
) -> CoreResponse:
    return CoreResponse(model="m", message=Message("assistant", content, thinking=thinking, tool_calls=calls))


def _validated_response(
    text: str, thinking: str, calls: list[ToolCallBlock], delta: str, chunk: CoreResponse
) -> ChatResponse:
    blocks: list[Any] = [ThinkingBlock(content=thinking)] if thinking else []
    blocks += [TextBlock(text=text), *calls]
    return ChatResponse(
        message=ChatMessage(role=MessageRole.ASSISTANT, blocks=blocks),
        delta=delta,
        raw=raw_dict(chunk),
        logprobs=None,
        additional_kwargs={"thinking_delta": chunk.message.thinking or None},
    )


@pytest.fixture(params=["unvalidated", "validating fallback"])
def construction(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways prebuilt.build can be chosen at import."""
    if request.param == "validating fallback":
        monkeypatch.setattr(responses, "build", prebuilt._validated)
    return str(request.param)


def test_streamed_responses_equal_what_the_validating_constructors_build(construction: str) -> None:
    call = ToolCall(ToolCallFunction("get_weather", {"city": "Paris"}), id="call_1")
    chunks = [
        _chunk(thinking="Let me"),
        _chunk(thinking=" see"),
        _chunk("It is"),
        _chunk(" sunny"),
        _chunk(calls=[call]),
    ]
    accumulator = StreamAccumulator()
    responses = [accumulator.add(chunk) for chunk in chunks]

    call_block = ToolCallBlock(tool_call_id="call_1", tool_name="get_weather", tool_kwargs={"city": "Paris"})
    expected = [
        _validated_response("", "Let me", [], "", chunks[0]),
        _validated_response("", "Let me see", [], "", chunks[1]),
        _validated_response("It is", "Let me see", [], "It is", chunks[2]),
        _validated_response("It is sunny", "Let me see", [], " sunny", chunks[3]),
        _validated_response("It is sunny", "Let me see", [call_block], "", chunks[4]),
    ]
    assert responses == expected
    assert [r.model_dump() for r in responses] == [e.model_dump() for e in expected]
    assert [r.model_fields_set for r in responses] == [e.model_fields_set for e in expected]
    assert [r.message.model_fields_set for r in responses] == [e.message.model_fields_set for e in expected]
    assert responses[3].message.content == "It is sunny"


def test_streamed_responses_can_be_changed_one_at_a_time(construction: str) -> None:
    accumulator = StreamAccumulator()
    first, second = accumulator.add(_chunk("a")), accumulator.add(_chunk("b"))

    first.message.blocks = [TextBlock(text="changed")]
    first.message.additional_kwargs["note"] = 1
    first.additional_kwargs["extra"] = True

    assert (first.message.content, second.message.content) == ("changed", "ab")
    assert second.message.additional_kwargs == {}
    assert second.additional_kwargs == {"thinking_delta": None}


def test_the_unvalidated_construction_is_in_use_with_the_installed_pydantic() -> None:
    # If this fails, the adapter still works (it validates instead), only slower: see prebuilt.py.
    assert UNVALIDATED is True
