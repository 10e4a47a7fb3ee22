"""Thinking, images and server errors through the adapter, replayed from real recordings (api/*.yaml)."""

from __future__ import annotations

import base64

import pytest
from llama_index.core.base.llms.types import ChatMessage, ImageBlock, TextBlock, ThinkingBlock
from llama_index.llms.ollama_provider import Ollama

from ollama_provider import ModelNotFoundError, OllamaConnectionError, UnsupportedCapabilityError

from ..recorded.expected import chat_text
from ..recordings import Cassette, sent_options
from ..releases import THINK_LEVELS, unless_refused

THINK_MODEL = "smollm2-think:135m"
# A 1x1 PNG: the image the recording sent.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)


def arithmetic_history(last_question: str) -> list[ChatMessage]:
    """The few-shot history of the thinking recordings: earlier answers keep their thinking."""

    def answer(thinking: str, text: str) -> ChatMessage:
        return ChatMessage(role="assistant", blocks=[ThinkingBlock(content=thinking), TextBlock(text=text)])

    return [
        ChatMessage(role="user", content="What is 2 + 2?"),
        answer("The user asks for 2 plus 2. Two plus two is four.", "4"),
        ChatMessage(role="user", content="What is 3 + 5?"),
        answer("The user asks for 3 plus 5. Three plus five is eight.", "8"),
        ChatMessage(role="user", content=last_question),
    ]


def thinker(thinking: bool | str | None, scenario: str) -> Ollama:
    """The thinking model, sending the options ``scenario`` was recorded with (few tokens)."""
    options = {"seed": 42, **sent_options(scenario)}
    return Ollama(
        model=THINK_MODEL,
        temperature=options.pop("temperature", 0),
        thinking=thinking,
        additional_kwargs=options,
    )


@pytest.mark.vcr("api/chat_think.yaml")
def test_thinking_comes_back_as_a_thinking_block_before_the_text(recording: Cassette) -> None:
    response = thinker(True, "chat_think").chat(arithmetic_history("What is 10 + 7?"))

    recorded = recording.exchange("/api/chat").json["message"]
    first, second = response.message.blocks
    assert isinstance(first, ThinkingBlock) and first.content == recorded["thinking"]
    assert isinstance(second, TextBlock) and second.text == recorded["content"]


@pytest.mark.vcr("api/chat_think_level.yaml")
def test_a_thinking_level_is_sent_as_is(recording: Cassette) -> None:
    with unless_refused(recording, "/api/chat", THINK_LEVELS):
        response = thinker("high", "chat_think_level").chat(arithmetic_history("What is 1 + 1?"))

    exchange = recording.exchange("/api/chat")
    assert exchange.request["think"] == "high"
    assert isinstance(response.message.blocks[0], ThinkingBlock)
    assert response.message.blocks[0].content == exchange.json["message"]["thinking"]


@pytest.mark.vcr("api/chat_think_false.yaml")
def test_think_false_per_call_wins_over_the_llm_setting(recording: Cassette) -> None:
    # The official integration turns think=False into the LLM's setting (`False or self.thinking`).
    response = thinker(True, "chat_think_false").chat(arithmetic_history("What is 10 + 7?"), think=False)

    exchange = recording.exchange("/api/chat")
    assert exchange.request["think"] is False
    assert response.message.content == exchange.json["message"]["content"]
    assert not any(isinstance(b, ThinkingBlock) for b in response.message.blocks)


@pytest.mark.vcr("api/chat_think_stream.yaml")
def test_thinking_only_chunks_are_kept_with_their_thinking_delta(recording: Cassette) -> None:
    chunks = list(thinker(True, "chat_think_stream").stream_chat(arithmetic_history("What is 6 + 1?")))
    thinking_deltas = [c.additional_kwargs["thinking_delta"] for c in chunks]

    lines = recording.exchange("/api/chat").lines
    assert [t or None for t in thinking_deltas] == [line["message"].get("thinking") or None for line in lines]
    assert all(c.delta == "" for c, t in zip(chunks, thinking_deltas, strict=True) if t)
    final_thinking = chunks[-1].message.blocks[0]
    assert isinstance(final_thinking, ThinkingBlock)
    assert final_thinking.content == "".join(t for t in thinking_deltas if t)


@pytest.mark.vcr("api/chat_think_stream.yaml")
async def test_astream_chat_carries_thinking_deltas(recording: Cassette) -> None:
    stream = await thinker(True, "chat_think_stream").astream_chat(arithmetic_history("What is 6 + 1?"))
    thinking = [r.additional_kwargs["thinking_delta"] async for r in stream]

    assert "".join(t for t in thinking if t) == chat_text(recording.exchange("/api/chat").lines, "thinking")


@pytest.mark.vcr("api/chat_think_unsupported.yaml")
def test_thinking_on_a_model_without_it_raises_the_core_error() -> None:
    llm = Ollama(model="gemma3:270m", thinking=True)

    with pytest.raises(UnsupportedCapabilityError, match="does not support thinking"):
        llm.chat([ChatMessage(role="user", content="Hi")])


@pytest.mark.capability_check
@pytest.mark.vcr("api/chat_image_unsupported.yaml")
def test_image_blocks_for_a_text_only_model_are_refused_before_sending() -> None:
    # On every release (Ollama 0.12 would drop the image): the model's show answer lists no vision.
    message = ChatMessage(
        role="user", blocks=[TextBlock(text="What is in this image?"), ImageBlock(image=PNG)]
    )

    with pytest.raises(UnsupportedCapabilityError, match="does not support vision"):
        Ollama(model="smollm2:135m").chat([message])


@pytest.mark.vcr("api/chat_missing_model.yaml", "api/tags.yaml")
def test_a_missing_model_raises_model_not_found_with_suggestions() -> None:
    stream = Ollama(model="no-such-model:1b").stream_chat([ChatMessage(role="user", content="Hi")])

    with pytest.raises(ModelNotFoundError) as caught:
        list(stream)

    assert caught.value.model == "no-such-model:1b"
    assert "ollama pull no-such-model:1b" in str(caught.value)


def test_an_unreachable_server_raises_a_connection_error() -> None:
    # Nothing listens on port 9 of localhost (discard); no retries to keep it quick.
    llm = Ollama(model="smollm2:135m", base_url="http://127.0.0.1:9", retries=0)

    with pytest.raises(OllamaConnectionError, match=r"127\.0\.0\.1:9"):
        llm.complete("Hi")
