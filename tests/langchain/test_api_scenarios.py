"""Tool-call, thinking and error scenarios of cassettes/recorded/api replayed through the adapter.

These recordings were made with plain HTTP requests, so the tests build the same requests through
LangChain: the tool is the recorded JSON-schema dict, the recorded ``format`` is passed as given, and
``stream=False`` asks for the one non-streamed request the recording holds.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, ToolMessage
from langchain_ollama_provider import ChatOllama, OllamaEmbeddings, OllamaLLM

from ollama_provider import ModelNotFoundError, OllamaResponseError, UnsupportedCapabilityError

from ..recorded.api_scenarios import ONE_CALL_FORMAT as CALL_FORMAT
from ..recorded.api_scenarios import TWO_CALLS_FORMAT as PARALLEL_FORMAT
from ..recorded.api_scenarios import WEATHER_TOOL

THINK_HISTORY: list[BaseMessage] = [
    HumanMessage("What is 2 + 2?"),
    AIMessage(
        "4", additional_kwargs={"reasoning_content": "The user asks for 2 plus 2. Two plus two is four."}
    ),
    HumanMessage("What is 3 + 5?"),
    AIMessage(
        "8", additional_kwargs={"reasoning_content": "The user asks for 3 plus 5. Three plus five is eight."}
    ),
]


def chat(url: str, model: str, **settings: Any) -> ChatOllama:
    return ChatOllama(model=model, base_url=url, temperature=0, seed=42, max_retries=0, **settings)


def add_up(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    total = chunks[0]
    for chunk in chunks[1:]:
        total += chunk
    return total


# -- tools ------------------------------------------------------------------------------------------


def test_streamed_tool_call_keeps_the_server_id(replay_server: str) -> None:
    bound = chat(replay_server, "smollm2-tools:135m").bind_tools([WEATHER_TOOL])
    chunks = list(bound.stream("What is the weather in Berlin?", format=CALL_FORMAT))
    total = add_up(chunks)
    assert total.tool_calls == [
        {
            "name": "get_weather",
            "args": {"city": "Berlin"},
            "id": total.tool_calls[0]["id"],
            "type": "tool_call",
        }
    ]
    assert total.tool_calls[0]["id"].startswith("call_")
    assert [c["index"] for chunk in chunks for c in chunk.tool_call_chunks] == [0]
    assert total.response_metadata["finish_reason"] == "tool_calls"


@pytest.mark.parametrize("streamed", [True, False], ids=["stream", "invoke"])
def test_parallel_tool_calls_are_kept_apart(replay_server: str, streamed: bool) -> None:
    bound = chat(replay_server, "smollm2-tools-parallel:135m").bind_tools([WEATHER_TOOL])
    question = "What is the weather in Paris and in Tokyo?"
    if streamed:
        chunks = list(bound.stream(question, format=PARALLEL_FORMAT))
        indices = [c["index"] for chunk in chunks for c in chunk.tool_call_chunks]
        assert indices == [0, 1]
        message: AIMessage = add_up(chunks)
    else:
        message = bound.invoke(question, format=PARALLEL_FORMAT, stream=False)
    assert [(c["name"], c["args"]) for c in message.tool_calls] == [
        ("get_weather", {"city": "Paris"}),
        ("get_weather", {"city": "Tokyo"}),
    ]
    ids = [c["id"] for c in message.tool_calls]
    assert len(set(ids)) == 2 and all(str(i).startswith("call_") for i in ids)
    if not streamed:
        assert ids == ["call_gjg110cy", "call_2sed0fm3"]


# vcr, not the replay server: chat_tool_call.yaml holds the same first request with another call id.
@pytest.mark.vcr("api/chat_tool_roundtrip.yaml", record_mode="none")
def test_tool_message_round_trip_sends_the_call_id_back() -> None:
    replay_server = "http://recorded.invalid:11434"  # vcrpy answers; nothing listens there
    question = HumanMessage("What is the weather in Paris?")
    caller = chat(replay_server, "smollm2-tools:135m").bind_tools([WEATHER_TOOL])
    call_message = caller.invoke([question], format=CALL_FORMAT, stream=False)
    assert call_message.tool_calls[0]["id"] == "call_5mjhvwrc"
    result = ToolMessage(
        '{"temperature_c": 18, "sky": "sunny"}', tool_call_id=call_message.tool_calls[0]["id"]
    )
    # The recorded second request carries tool_call_id and tool_name: it only matches if we send both.
    answer = (
        chat(replay_server, "smollm2:135m")
        .bind_tools([WEATHER_TOOL])
        .invoke([question, call_message, result], stream=False)
    )
    assert answer.content.startswith("\nYou can use the `json` module")
    assert answer.response_metadata["done_reason"] == "length"


def test_tools_on_a_model_without_tool_support_raise_the_servers_error(replay_server: str) -> None:
    bound = chat(replay_server, "gemma3:270m").bind_tools([WEATHER_TOOL])
    with pytest.raises(UnsupportedCapabilityError, match="does not support tools"):
        bound.invoke("Weather in Paris?", stream=False)


# -- thinking ---------------------------------------------------------------------------------------


def test_streamed_thinking_arrives_in_thinking_only_chunks(replay_server: str) -> None:
    model = chat(replay_server, "smollm2-think:135m", reasoning=True)
    chunks = list(model.stream([*THINK_HISTORY, HumanMessage("What is 6 + 1?")]))
    thinking_only = [c for c in chunks if c.additional_kwargs.get("reasoning_content") and not c.content]
    assert thinking_only and thinking_only[0].additional_kwargs["reasoning_content"] == "The"
    total = add_up(chunks)
    assert total.content == "7"
    reasoning = total.additional_kwargs["reasoning_content"]
    assert reasoning.startswith("The user asks for 6 plus 1")
    assert total.content_blocks[0] == {"type": "reasoning", "reasoning": reasoning}


async def test_async_invoke_returns_thinking_as_reasoning_content(replay_server: str) -> None:
    model = chat(replay_server, "smollm2-think:135m", reasoning=True)
    message = await model.ainvoke([*THINK_HISTORY, HumanMessage("What is 10 + 7?")], stream=False)
    assert message.additional_kwargs["reasoning_content"] == "The user asks for 10 plus 7. One more."
    assert message.content == ""


def test_reasoning_level_is_sent_and_surfaced(replay_server: str) -> None:
    model = chat(replay_server, "smollm2-think:135m", reasoning="high")
    message = model.invoke([*THINK_HISTORY, HumanMessage("What is 1 + 1?")], stream=False)
    assert message.additional_kwargs["reasoning_content"] == "1 + 1 is 2."


def test_reasoning_false_per_call_turns_thinking_off(replay_server: str) -> None:
    model = chat(replay_server, "smollm2-think:135m", reasoning=True)
    message = model.invoke([*THINK_HISTORY, HumanMessage("What is 10 + 7?")], reasoning=False, stream=False)
    assert message.content == "10 + 7 = 8\n"
    assert "reasoning_content" not in message.additional_kwargs


def test_reasoning_on_a_model_without_thinking_raises(replay_server: str) -> None:
    with pytest.raises(UnsupportedCapabilityError, match="does not support thinking"):
        chat(replay_server, "gemma3:270m", reasoning=True).invoke("Hi", stream=False)


def test_llm_streams_thinking_into_generation_info(replay_server: str) -> None:
    llm = OllamaLLM(model="smollm2-think:135m", base_url=replay_server, reasoning=True)
    result = llm.generate(["What is 4 + 4?"])
    generation = result.generations[0][0]
    assert generation.generation_info is not None
    assert generation.generation_info["thinking"]
    assert generation.generation_info["done_reason"] == "stop"


def test_llm_stream_yields_the_recorded_completion(replay_server: str) -> None:
    llm = OllamaLLM(model="smollm2:135m", base_url=replay_server, temperature=0, seed=42, num_predict=40)
    pieces = list(llm.stream("Name three colours of the rainbow."))
    assert len(pieces) > 2
    assert "".join(pieces) == llm.invoke("Name three colours of the rainbow.")


# -- errors and images -------------------------------------------------------------------------------


def test_missing_model_raises_model_not_found(replay_server: str) -> None:
    with pytest.raises(ModelNotFoundError) as caught:
        chat(replay_server, "no-such-model:1b").invoke("Hi")
    assert caught.value.model == "no-such-model:1b"


def test_image_to_a_text_only_model_reaches_the_server_and_fails_clearly(replay_server: str) -> None:
    pixel = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
    message = HumanMessage(
        [
            {"type": "text", "text": "What is in this image?"},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{pixel}"}},
        ]
    )
    with pytest.raises(OllamaResponseError, match="does not support multimodal") as caught:
        chat(replay_server, "smollm2:135m").invoke([message], stream=False)
    assert caught.value.status_code == 400


def test_embedding_dimensions_are_sent(replay_server: str) -> None:
    embeddings = OllamaEmbeddings(model="all-minilm:latest", base_url=replay_server, dimensions=64)
    assert len(embeddings.embed_query("The sky is blue.")) == 64
    assert len(asyncio.run(embeddings.aembed_query("The sky is blue."))) == 64
