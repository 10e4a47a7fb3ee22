"""The adapter's performance shortcuts give exactly what the plain LangChain way gives.

Text chunks are built without re-validation (``_fast_chunks``): such a chunk is indistinguishable
from a validated one and behaves like one downstream (langchain-core assigning ids and metadata,
adding chunks, turning the sum into a message). ``invoke`` sums an answer's parts in lists
(``_answers``) instead of adding chunk messages: the result equals ``generate_from_stream`` over the
chunks ``_stream`` yields for the same answer.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, cast

import httpx
import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models.chat_models import generate_from_stream
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.messages.utils import message_chunk_to_message
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_ollama_provider import ChatOllama, _fast_chunks
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


# -- invoke sums parts in lists (ChatAnswer) instead of adding chunk messages ---------------------------


def ndjson_line(content: str = "", done: bool = False, **extra: Any) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    message.update(extra.pop("message", {}))
    out: dict[str, Any] = {
        "model": "m",
        "created_at": "2026-01-01T00:00:00Z",
        "message": message,
        "done": done,
    }
    if done:
        out.update(done_reason="stop", prompt_eval_count=3, eval_count=2, eval_duration=10**9)
    out.update(extra)
    return out


def call(name: str, index: int | None = None, **arguments: Any) -> dict[str, Any]:
    function: dict[str, Any] = {"name": name, "arguments": arguments}
    if index is not None:
        function["index"] = index
    return {"function": function}


def logprob(token: str) -> list[dict[str, Any]]:
    return [{"token": token, "logprob": -0.5, "bytes": list(token.encode())}]


ANSWERS: dict[str, list[dict[str, Any]]] = {
    "text": [ndjson_line("Hel"), ndjson_line("lo"), ndjson_line(done=True)],
    "thinking": [
        ndjson_line(message={"thinking": "Hm, "}),
        ndjson_line(message={"thinking": "easy."}),
        ndjson_line("4"),
        ndjson_line(done=True),
    ],
    "logprobs": [
        ndjson_line("a", logprobs=logprob("a")),
        ndjson_line("b", logprobs=logprob("b")),
        ndjson_line(done=True, logprobs=[]),
    ],
    "parallel tool calls": [
        ndjson_line(message={"tool_calls": [call("get_weather", 0, city="Oslo")]}),
        ndjson_line(message={"tool_calls": [call("get_weather", 1, city="Paris"), call("get_time")]}),
        ndjson_line(done=True),
    ],
    "one line": [ndjson_line("all at once", done=True)],
}


def chat_model(lines: list[dict[str, Any]]) -> ChatOllama:
    body = "".join(json.dumps(item) + "\n" for item in lines)

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text=body, headers={"content-type": "application/x-ndjson"})

    return ChatOllama(model="m", client_kwargs={"transport": httpx.MockTransport(answer)})


def comparable(result: ChatResult) -> list[Any]:
    # Tool calls the server did not name get fresh random ids on every call: compare all but those.
    out = []
    for generation in result.generations:
        message = generation.message
        assert isinstance(message, AIMessage)
        calls = [{**c, "id": None} for c in message.tool_calls]
        out.append((generation.generation_info, message.model_copy(update={"tool_calls": calls})))
    return out


@pytest.mark.parametrize("name", sorted(ANSWERS))
def test_invoke_sums_an_answer_exactly_as_generate_from_stream_would(name: str) -> None:
    llm, messages = chat_model(ANSWERS[name]), [cast(BaseMessage, HumanMessage("hi"))]
    reference = generate_from_stream(llm._stream(messages))
    assert comparable(llm._generate(messages)) == comparable(reference)
    assert comparable(asyncio.run(llm._agenerate(messages))) == comparable(reference)


def test_forced_tool_answers_sum_like_their_chunks() -> None:
    lines = [
        ndjson_line('{"name": "get_weather", '),
        ndjson_line('"arguments": {"city": "Oslo"}}'),
        ndjson_line(done=True),
    ]
    llm, messages = chat_model(lines), [cast(BaseMessage, HumanMessage("weather?"))]
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    kwargs: dict[str, Any] = {"tools": tools, "tool_choice": "get_weather"}
    reference = generate_from_stream(llm._stream(messages, **kwargs))
    result = llm._generate(messages, **kwargs)
    assert comparable(result) == comparable(reference)
    message = result.generations[0].message
    assert isinstance(message, AIMessage) and message.tool_calls[0]["args"] == {"city": "Oslo"}


def test_invoke_without_token_callbacks_gives_what_invoke_with_them_gives() -> None:
    class Tokens(BaseCallbackHandler):
        def __init__(self) -> None:
            self.tokens: list[str] = []

        def on_llm_new_token(self, token: str | list[str | dict[str, Any]], **kwargs: Any) -> None:
            assert isinstance(token, str)
            self.tokens.append(token)

    llm, handler = chat_model(ANSWERS["thinking"]), Tokens()
    with_callbacks = llm.invoke("hi", config={"callbacks": [handler]})
    without = llm.invoke("hi")
    assert handler.tokens == ["", "", "4", ""]
    assert without.model_copy(update={"id": None}) == with_callbacks.model_copy(update={"id": None})
    assert without.additional_kwargs == {"reasoning_content": "Hm, easy."}
