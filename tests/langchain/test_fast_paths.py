"""The adapter's performance shortcuts give exactly what the plain LangChain way gives.

Text chunks are built without re-validation (``_fast_chunks``); these tests pin that such a chunk is
indistinguishable from a validated one and behaves like one downstream (langchain-core assigning ids
and metadata, adding chunks, turning the sum into a message).
"""

from __future__ import annotations

from typing import Any, cast

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.messages.ai import UsageMetadata
from langchain_core.messages.utils import message_chunk_to_message
from langchain_core.outputs import ChatGenerationChunk
from langchain_ollama_provider import _fast_chunks
from langchain_ollama_provider._fast_chunks import FAST_CHUNKS, text_chunk, validated_text_chunk

SAMPLES: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = [
    ("Hello", {}, None),
    ("", {"reasoning_content": "Let me think"}, None),
    (" Ça va 🦊", {}, {"logprobs": [{"token": " Ça", "logprob": -0.1}]}),
]


def layout(model: Any) -> tuple[Any, ...]:
    return (type(model), model.__dict__, model.model_fields_set, model.__pydantic_extra__)


def ai(chunk: ChatGenerationChunk) -> AIMessageChunk:
    assert isinstance(chunk.message, AIMessageChunk)
    return chunk.message


def test_the_fast_path_is_active_with_the_pinned_langchain_core() -> None:
    # If a langchain-core or pydantic upgrade changes the instance layout, the module falls back to
    # validation (correct but slower); this test makes that fallback visible.
    assert FAST_CHUNKS
    assert text_chunk is _fast_chunks._fast_text_chunk


@pytest.mark.parametrize(("content", "additional", "info"), SAMPLES)
def test_a_fast_chunk_equals_the_validated_one(
    content: str, additional: dict[str, Any], info: dict[str, Any] | None
) -> None:
    fast, slow = text_chunk(content, dict(additional), info), validated_text_chunk(content, additional, info)
    assert fast == slow
    assert layout(fast) == layout(slow)
    assert layout(fast.message) == layout(slow.message)
    assert fast.text == content


def test_fast_chunks_share_no_mutable_state() -> None:
    first, second = ai(text_chunk("a", {}, None)), ai(text_chunk("b", {}, None))
    first.tool_call_chunks.append(
        {"name": "x", "args": "{}", "id": "1", "index": 0, "type": "tool_call_chunk"}
    )
    first.response_metadata["k"] = 1
    first.tool_calls.append({"name": "x", "args": {}, "id": "1", "type": "tool_call"})
    assert second.tool_call_chunks == [] and second.response_metadata == {}
    assert second.tool_calls == [] and second.invalid_tool_calls == []
    assert _fast_chunks._MESSAGE_DEFAULTS["tool_call_chunks"] == []


def test_fast_chunks_add_up_like_validated_ones() -> None:
    last = ChatGenerationChunk(
        message=AIMessageChunk(
            content="",
            usage_metadata=cast(UsageMetadata, {"input_tokens": 3, "output_tokens": 2, "total_tokens": 5}),
            chunk_position="last",
        ),
        generation_info={"done": True},
    )
    fast = [text_chunk(t, {}, None) for t in ("Hel", "lo")] + [last]
    slow = [validated_text_chunk(t, {}, None) for t in ("Hel", "lo")] + [last]
    for chunk in fast:  # what langchain-core's stream() does to every chunk
        chunk.message.id = "lc_run-1"
        chunk.message.response_metadata = {"model_provider": "ollama"}
    for chunk in slow:
        chunk.message.id = "lc_run-1"
        chunk.message.response_metadata = {"model_provider": "ollama"}
    fast_sum, slow_sum = fast[0] + fast[1:], slow[0] + slow[1:]
    assert fast_sum == slow_sum
    message = message_chunk_to_message(fast_sum.message)
    assert isinstance(message, AIMessage)
    assert message.content == "Hello" and message.usage_metadata == ai(last).usage_metadata
