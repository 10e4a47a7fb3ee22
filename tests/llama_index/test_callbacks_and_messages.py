"""Callbacks and instrumentation fire as for built-in LLMs (real li_chat recording); message conversion."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from llama_index.core.base.llms.types import (
    ChatMessage,
    DocumentBlock,
    ImageBlock,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)
from llama_index.core.callbacks import CallbackManager, LlamaDebugHandler, TokenCountingHandler
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent
from llama_index.llms.ollama_provider import Ollama
from llama_index.llms.ollama_provider.messages import to_ollama_messages

from ..recordings import Cassette, last_user_text

PAINTER = [ChatMessage(role="user", content="Name a famous painter.")]
COMPOSER = [ChatMessage(role="user", content="Name a famous composer.")]


class EventNames(BaseEventHandler):
    names: list[str]

    @classmethod
    def class_name(cls) -> str:
        return "EventNames"

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        self.names.append(event.class_name())


@pytest.fixture
def events() -> Iterator[list[str]]:
    handler = EventNames(names=[])
    root = get_dispatcher()
    root.add_event_handler(handler)
    yield handler.names
    root.event_handlers.remove(handler)


def recorded_llm(**kwargs: Any) -> Ollama:
    # The options the frameworks/li_* recordings were made with (few tokens, as tests/llama_index/
    # test_flows_recorded.py sends them too: these tests share its cassettes).
    return Ollama(
        model="smollm2:135m", temperature=0.0, additional_kwargs={"seed": 42, "num_predict": 32}, **kwargs
    )


def painted(body: dict[str, Any]) -> bool:
    """The non-streamed chat request of PAINTER (a re-recording may lack it)."""
    return last_user_text("Name a famous painter.")(body) and body.get("stream") is False


@pytest.mark.vcr("frameworks/li_chat.yaml")
def test_chat_and_stream_emit_instrumentation_events(events: list[str], recording: Cassette) -> None:
    recording.require("/api/chat", where=painted)
    llm = recorded_llm()
    llm.chat(PAINTER)
    chunks = list(llm.stream_chat(COMPOSER))

    assert events[:2] == ["LLMChatStartEvent", "LLMChatEndEvent"]
    assert events[2] == "LLMChatStartEvent"
    assert events.count("LLMChatInProgressEvent") == len(chunks)
    assert events[-1] == "LLMChatEndEvent"


@pytest.mark.vcr("frameworks/li_complete.yaml")
def test_complete_emits_completion_events(events: list[str]) -> None:
    recorded_llm().complete("Write one sentence about the moon.")

    assert "LLMCompletionStartEvent" in events and "LLMCompletionEndEvent" in events


@pytest.mark.vcr("frameworks/li_chat.yaml")
def test_callback_handlers_see_every_llm_call_and_token_counts(recording: Cassette) -> None:
    recording.require("/api/chat", where=painted)
    debug, tokens = LlamaDebugHandler(), TokenCountingHandler()
    llm = recorded_llm(callback_manager=CallbackManager([debug, tokens]))

    llm.chat(PAINTER)
    list(llm.stream_chat(COMPOSER))

    assert len(debug.get_llm_inputs_outputs()) == 2
    # The counts the server reported (our adapter hands them to LlamaIndex), not a tokenizer's guess.
    painter = recording.exchange("/api/chat", where=painted).json
    assert (
        tokens.llm_token_counts[0].prompt_token_count,
        tokens.llm_token_counts[0].completion_token_count,
    ) == (painter["prompt_eval_count"], painter["eval_count"])


# --------------------------------------------------------------------------- message conversion (no I/O)


def test_roles_are_mapped_to_the_four_ollama_roles() -> None:
    roles = ["system", "developer", "user", "assistant", "chatbot", "model", "tool", "function"]

    converted = to_ollama_messages([ChatMessage(role=role, content="x") for role in roles])

    expected = ["system", "system", "user", "assistant", "assistant", "assistant", "tool", "tool"]
    assert [m["role"] for m in converted] == expected


def test_text_blocks_are_joined_images_base64_and_thinking_kept() -> None:
    message = ChatMessage(
        role="assistant",
        blocks=[
            ThinkingBlock(content="hmm"),
            TextBlock(text="a"),
            TextBlock(text="b"),
            ImageBlock(image=b"\x89PNG"),
        ],
    )

    assert to_ollama_messages([message]) == [
        {
            "role": "assistant",
            "content": "ab",
            "thinking": "hmm",
            "images": [base64.b64encode(b"\x89PNG").decode()],
        }
    ]


def test_tool_calls_keep_ids_and_tool_results_find_their_name() -> None:
    history = [
        ChatMessage(
            role="assistant",
            blocks=[
                TextBlock(text=""),
                ToolCallBlock(tool_call_id="call_1", tool_name="get_weather", tool_kwargs={"city": "Paris"}),
                ToolCallBlock(tool_call_id="call_2", tool_name="get_weather", tool_kwargs={"city": "Paris"}),
            ],
        ),
        ChatMessage(role="tool", content="sunny", additional_kwargs={"tool_call_id": "call_2"}),
    ]

    assistant, result = to_ollama_messages(history)

    assert [c["id"] for c in assistant["tool_calls"]] == ["call_1", "call_2"]  # identical calls both kept
    assert result == {
        "role": "tool",
        "content": "sunny",
        "tool_call_id": "call_2",
        "tool_name": "get_weather",
    }


def test_legacy_tool_calls_in_additional_kwargs_are_sent() -> None:
    legacy = {"function": {"name": "f", "arguments": {"x": 1}}}
    message = ChatMessage(role="assistant", content="", additional_kwargs={"tool_calls": [legacy]})

    assert to_ollama_messages([message])[0]["tool_calls"] == [legacy]


def test_an_unsupported_block_is_a_clear_error() -> None:
    message = ChatMessage(
        role="user", blocks=[DocumentBlock(data=b"%PDF", document_mimetype="application/pdf")]
    )

    with pytest.raises(ValueError, match="Ollama cannot take a DocumentBlock"):
        to_ollama_messages([message])
