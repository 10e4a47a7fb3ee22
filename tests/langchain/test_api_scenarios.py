"""Tool-call, thinking and error scenarios of cassettes/recorded/api replayed through the adapter.

These recordings were made with plain HTTP requests, so the tests build the same requests through
LangChain: the tool is the recorded JSON-schema dict, the recorded ``format`` is passed as given, and
``stream=False`` asks for the one non-streamed request the recording holds. Each test replays its own
cassette (vcrpy) and reads the expected values from it (``recording``).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, ToolMessage
from langchain_ollama_provider import ChatOllama, OllamaEmbeddings, OllamaLLM

from ollama_provider import ModelNotFoundError, UnsupportedCapabilityError

from ..recorded.api_scenarios import ONE_CALL_FORMAT as CALL_FORMAT
from ..recorded.api_scenarios import ONE_PIXEL_PNG_BASE64, WEATHER_TOOL
from ..recorded.api_scenarios import TWO_CALLS_FORMAT as PARALLEL_FORMAT
from ..recorded.expected import TOOL_CALL_ID, chat_text, generate_text
from ..recordings import Cassette, sent_options
from ..releases import THINK_LEVELS, unless_refused

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


def chat(url: str, model: str, scenario: str, nth: int = 0, **settings: Any) -> ChatOllama:
    """A chat model sending the options request ``nth`` of ``scenario`` was recorded with."""
    options = {"temperature": 0, "seed": 42, **sent_options(scenario, nth)}
    return ChatOllama(model=model, base_url=url, max_retries=0, **options, **settings)


def add_up(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    total = chunks[0]
    for chunk in chunks[1:]:
        total += chunk
    return total


def recorded_calls(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The tool calls of recorded chat lines, as LangChain's ``tool_calls`` should list them."""
    return [
        {
            "name": call["function"]["name"],
            "args": call["function"]["arguments"],
            "id": call["id"],
            "type": "tool_call",
        }
        for line in lines
        for call in line["message"].get("tool_calls") or []
    ]


# -- tools ------------------------------------------------------------------------------------------


@pytest.mark.vcr("api/chat_tool_call_stream.yaml")
def test_streamed_tool_call_keeps_the_server_id(ollama_host: str, recording: Cassette) -> None:
    bound = chat(ollama_host, "smollm2-tools:135m", "chat_tool_call_stream").bind_tools([WEATHER_TOOL])
    chunks = list(bound.stream("What is the weather in Berlin?", format=CALL_FORMAT))

    total = add_up(chunks)
    assert total.tool_calls == recorded_calls(recording.exchange("/api/chat").lines)
    assert [call["name"] for call in total.tool_calls] == ["get_weather"]
    assert TOOL_CALL_ID.fullmatch(str(total.tool_calls[0]["id"]))
    assert [c["index"] for chunk in chunks for c in chunk.tool_call_chunks] == [0]
    assert total.response_metadata["finish_reason"] == "tool_calls"


@pytest.mark.parametrize(
    "streamed",
    [
        pytest.param(True, id="stream", marks=pytest.mark.vcr("api/chat_parallel_tool_calls_stream.yaml")),
        pytest.param(False, id="invoke", marks=pytest.mark.vcr("api/chat_parallel_tool_calls.yaml")),
    ],
)
def test_parallel_tool_calls_are_kept_apart(ollama_host: str, recording: Cassette, streamed: bool) -> None:
    scenario = "chat_parallel_tool_calls" + ("_stream" if streamed else "")
    bound = chat(ollama_host, "smollm2-tools-parallel:135m", scenario).bind_tools([WEATHER_TOOL])
    question = "What is the weather in Paris and in Tokyo?"
    if streamed:
        chunks = list(bound.stream(question, format=PARALLEL_FORMAT))
        indices = [c["index"] for chunk in chunks for c in chunk.tool_call_chunks]
        assert indices == [0, 1]
        message: AIMessage = add_up(chunks)
    else:
        message = bound.invoke(question, format=PARALLEL_FORMAT, stream=False)

    assert message.tool_calls == recorded_calls(recording.exchange("/api/chat").lines)
    assert [c["name"] for c in message.tool_calls] == ["get_weather", "get_weather"]
    ids = [c["id"] for c in message.tool_calls]
    assert len(set(ids)) == 2 and all(TOOL_CALL_ID.fullmatch(str(i)) for i in ids)


@pytest.mark.vcr("api/chat_tool_roundtrip.yaml")
def test_tool_message_round_trip_sends_the_call_id_back(ollama_host: str, recording: Cassette) -> None:
    question = HumanMessage("What is the weather in Paris?")
    caller = chat(ollama_host, "smollm2-tools:135m", "chat_tool_roundtrip").bind_tools([WEATHER_TOOL])
    call_message = caller.invoke([question], format=CALL_FORMAT, stream=False)
    assert call_message.tool_calls == recorded_calls(recording.exchange("/api/chat").lines)

    result = ToolMessage(
        '{"temperature_c": 18, "sky": "sunny"}', tool_call_id=call_message.tool_calls[0]["id"]
    )
    recording.require("/api/chat", nth=1)
    # The recorded second request carries tool_call_id and tool_name: it only matches if we send both.
    answer = (
        chat(ollama_host, "smollm2:135m", "chat_tool_roundtrip", nth=1)
        .bind_tools([WEATHER_TOOL])
        .invoke([question, call_message, result], stream=False)
    )
    recorded_answer = recording.exchange("/api/chat", nth=1)
    sent = recorded_answer.request["messages"][-1]
    assert (sent["tool_call_id"], sent["tool_name"]) == (call_message.tool_calls[0]["id"], "get_weather")
    assert answer.content == recorded_answer.json["message"]["content"]
    assert answer.response_metadata["done_reason"] == recorded_answer.json["done_reason"]


@pytest.mark.vcr("api/chat_tools_unsupported.yaml")
def test_tools_on_a_model_without_tool_support_raise_the_servers_error(
    ollama_host: str, recording: Cassette
) -> None:
    bound = chat(ollama_host, "gemma3:270m", "chat_tools_unsupported").bind_tools([WEATHER_TOOL])
    with pytest.raises(UnsupportedCapabilityError, match="does not support tools") as caught:
        bound.invoke("Weather in Paris?", stream=False)
    assert caught.value.message == recording.exchange("/api/chat").error


# -- thinking ---------------------------------------------------------------------------------------


@pytest.mark.vcr("api/chat_think_stream.yaml")
def test_streamed_thinking_arrives_in_thinking_only_chunks(ollama_host: str, recording: Cassette) -> None:
    model = chat(ollama_host, "smollm2-think:135m", "chat_think_stream", reasoning=True)
    chunks = list(model.stream([*THINK_HISTORY, HumanMessage("What is 6 + 1?")]))

    lines = recording.exchange("/api/chat").lines
    assert [c.additional_kwargs.get("reasoning_content") or None for c in chunks] == [
        line["message"].get("thinking") or None for line in lines
    ]
    thinking_only = [c for c in chunks if c.additional_kwargs.get("reasoning_content") and not c.content]
    assert thinking_only
    total = add_up(chunks)
    assert total.content == chat_text(lines)
    reasoning = total.additional_kwargs["reasoning_content"]
    assert reasoning == chat_text(lines, "thinking")
    assert total.content_blocks[0] == {"type": "reasoning", "reasoning": reasoning}


@pytest.mark.vcr("api/chat_think.yaml")
async def test_async_invoke_returns_thinking_as_reasoning_content(
    ollama_host: str, recording: Cassette
) -> None:
    model = chat(ollama_host, "smollm2-think:135m", "chat_think", reasoning=True)
    message = await model.ainvoke([*THINK_HISTORY, HumanMessage("What is 10 + 7?")], stream=False)

    recorded = recording.exchange("/api/chat").json["message"]
    assert message.additional_kwargs["reasoning_content"] == recorded["thinking"]
    assert message.content == recorded["content"]


@pytest.mark.vcr("api/chat_think_level.yaml")
def test_reasoning_level_is_sent_and_surfaced(ollama_host: str, recording: Cassette) -> None:
    model = chat(ollama_host, "smollm2-think:135m", "chat_think_level", reasoning="high")
    with unless_refused(recording, "/api/chat", THINK_LEVELS):
        message = model.invoke([*THINK_HISTORY, HumanMessage("What is 1 + 1?")], stream=False)

    exchange = recording.exchange("/api/chat")
    assert exchange.request["think"] == "high"
    assert message.additional_kwargs["reasoning_content"] == exchange.json["message"]["thinking"]


@pytest.mark.vcr("api/chat_think_false.yaml")
def test_reasoning_false_per_call_turns_thinking_off(ollama_host: str, recording: Cassette) -> None:
    model = chat(ollama_host, "smollm2-think:135m", "chat_think_false", reasoning=True)
    message = model.invoke([*THINK_HISTORY, HumanMessage("What is 10 + 7?")], reasoning=False, stream=False)

    exchange = recording.exchange("/api/chat")
    assert exchange.request["think"] is False
    assert message.content == exchange.json["message"]["content"]
    assert "reasoning_content" not in message.additional_kwargs


@pytest.mark.vcr("api/chat_think_unsupported.yaml")
def test_reasoning_on_a_model_without_thinking_raises(ollama_host: str, recording: Cassette) -> None:
    with pytest.raises(UnsupportedCapabilityError, match="does not support thinking") as caught:
        chat(ollama_host, "gemma3:270m", "chat_think_unsupported", reasoning=True).invoke("Hi", stream=False)
    assert caught.value.message == recording.exchange("/api/chat").error


@pytest.mark.vcr("api/generate_think_stream.yaml")
def test_llm_streams_thinking_into_generation_info(ollama_host: str, recording: Cassette) -> None:
    llm = OllamaLLM(
        model="smollm2-think:135m",
        base_url=ollama_host,
        reasoning=True,
        **sent_options("generate_think_stream"),
    )
    result = llm.generate(["What is 4 + 4?"])

    lines = recording.exchange("/api/generate").lines
    generation = result.generations[0][0]
    assert generation.text == generate_text(lines)
    assert generation.generation_info is not None
    assert generation.generation_info["thinking"] == generate_text(lines, "thinking")
    assert generation.generation_info["done_reason"] == lines[-1]["done_reason"]


@pytest.mark.vcr("api/generate_think_stream.yaml", allow_playback_repeats=True)
async def test_llm_chunks_carry_thinking_as_reasoning_content(ollama_host: str, recording: Cassette) -> None:
    # Where langchain-ollama's streamed chunks put it; "thinking" too, the key of its generate result.
    # (temperature 0 and a seed: a record run asks twice and must hear the same answer.)
    llm = OllamaLLM(model="smollm2-think:135m", base_url=ollama_host, reasoning=True, temperature=0, seed=42)
    for chunks in (list(llm._stream("What is 4 + 4?")), [c async for c in llm._astream("What is 4 + 4?")]):
        lines = recording.exchange("/api/generate").lines
        thinking = [line["thinking"] for line in lines if line.get("thinking")]
        infos = [chunk.generation_info or {} for chunk in chunks]
        assert [info["reasoning_content"] for info in infos if "reasoning_content" in info] == thinking
        total = chunks[0]
        for chunk in chunks[1:]:
            total += chunk
        assert total.generation_info is not None
        assert (
            total.generation_info["reasoning_content"]
            == total.generation_info["thinking"]
            == "".join(thinking)
        )
        assert total.text == generate_text(lines)


# Streamed, then invoked: the same request twice. Replay answers both with the first recorded answer
# (playback repeats); recording sends both, and the server may answer the second one differently
# (Ollama 0.12 does, with temperature 0 and a seed): each is compared with the answer it got.
@pytest.mark.vcr("api/generate_stream.yaml", allow_playback_repeats=True)
def test_llm_stream_yields_the_recorded_completion(ollama_host: str, recording: Cassette) -> None:
    llm = OllamaLLM(model="smollm2:135m", base_url=ollama_host, temperature=0, seed=42, num_predict=40)
    pieces = list(llm.stream("Name three colours of the rainbow."))

    lines = recording.exchange("/api/generate").lines
    assert [piece for piece in pieces if piece] == [line["response"] for line in lines if line["response"]]
    assert "".join(pieces) == generate_text(lines)
    invoked = llm.invoke("Name three colours of the rainbow.")
    answered = recording.all("/api/generate")[0 if recording.replaying else -1]
    assert invoked == generate_text(answered.lines)


# -- errors and images -------------------------------------------------------------------------------


@pytest.mark.vcr("api/chat_load.yaml", allow_playback_repeats=True)
async def test_an_empty_message_list_is_no_data_as_in_langchain_ollama(
    ollama_host: str, recording: Cassette, caplog: pytest.LogCaptureFixture
) -> None:
    # Ollama only loads the model; langchain-ollama skips that empty answer and raises this ValueError.
    llm = ChatOllama(model="smollm2:135m", base_url=ollama_host, max_retries=0)  # no messages: nothing generated
    with pytest.raises(ValueError, match=r"^No data received from Ollama stream\.$"):
        llm.invoke([])
    with pytest.raises(ValueError, match=r"^No data received from Ollama stream\.$"):
        await llm.ainvoke([])
    with pytest.raises(ValueError, match="No generation chunks were returned"):  # nothing is streamed
        list(llm.stream([]))
    recording.require("/api/chat", where=lambda body: body.get("stream") is False)
    with pytest.raises(ValueError, match=r"^No data received from Ollama stream\.$"):
        llm.invoke([], stream=False)

    # What the server said, each time: a load with nothing in it.
    for exchange in recording.all("/api/chat"):
        assert exchange.request["messages"] == []
        assert [(line["done_reason"], line["message"]["content"]) for line in exchange.lines] == [
            ("load", "")
        ]
    assert "done_reason='load'" in caplog.text


@pytest.mark.vcr("api/chat_missing_model.yaml", "api/tags.yaml")  # after the 404, the installed models
def test_missing_model_raises_model_not_found(ollama_host: str, recording: Cassette) -> None:
    with pytest.raises(ModelNotFoundError) as caught:
        chat(ollama_host, "no-such-model:1b", "chat_missing_model").invoke("Hi")
    assert caught.value.model == "no-such-model:1b"
    assert caught.value.message == recording.exchange("/api/chat").error


@pytest.mark.capability_check
@pytest.mark.vcr("api/chat_image_unsupported.yaml")
def test_image_to_a_text_only_model_fails_clearly_before_sending(ollama_host: str) -> None:
    # On every release: Ollama 0.12 would drop the image without a word; the model's show answer tells.
    message = HumanMessage(
        [
            {"type": "text", "text": "What is in this image?"},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{ONE_PIXEL_PNG_BASE64}"}},
        ]
    )
    with pytest.raises(UnsupportedCapabilityError, match="does not support vision") as caught:
        chat(ollama_host, "smollm2:135m", "chat_image_unsupported").invoke([message], stream=False)
    assert caught.value.status_code == 400


# Queried sync, then async: the same request twice, answered by the one recording.
@pytest.mark.vcr("api/embed_dimensions.yaml", allow_playback_repeats=True)
def test_embedding_dimensions_are_sent(ollama_host: str, recording: Cassette) -> None:
    embeddings = OllamaEmbeddings(model="all-minilm:latest", base_url=ollama_host, dimensions=64)
    vector = embeddings.embed_query("The sky is blue.")

    exchange = recording.exchange("/api/embed")
    assert exchange.request["dimensions"] == 64
    assert [vector] == exchange.json["embeddings"]
    assert asyncio.run(embeddings.aembed_query("The sky is blue.")) == vector
