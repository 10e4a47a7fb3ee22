"""Tool calling through LlamaIndex, replayed from real recordings (cassettes/recorded/api/chat_tool_*.yaml).

The tiny recorded models call tools when a JSON-schema ``format`` steers them (see the recordings'
README); the tests pass the same ``format`` through ``chat_with_tools(..., format=...)``, which the
adapter forwards to ``/api/chat``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from llama_index.core.base.llms.types import ChatMessage, ToolCallBlock
from llama_index.core.tools import FunctionTool
from llama_index.llms.ollama_provider import Ollama
from pydantic import BaseModel, ConfigDict, Field

from ollama_provider import UnsupportedCapabilityError

from ..recorded.expected import TOOL_CALL_ID
from ..recordings import BUNDLED_DIR, Cassette, sent_options

#: What each api/ scenario sent (the requests are the same in every recording of it).
SCENARIOS: dict[str, Any] = json.loads((BUNDLED_DIR / "api" / "scenarios.json").read_text("utf-8"))


def recorded_request(scenario: str, index: int = 0) -> dict[str, Any]:
    body: dict[str, Any] = SCENARIOS[scenario]["requests"][index]["body"]
    return body


def _without_titles(schema: dict[str, Any]) -> None:
    schema.pop("title", None)
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)


class WeatherArgs(BaseModel):
    # Titles dropped so the tool spec is the one the recordings were made with.
    model_config = ConfigDict(json_schema_extra=_without_titles)

    city: str = Field(description="City name")


def get_weather(city: str) -> str:
    return json.dumps({"temperature_c": 18, "sky": "sunny"})


WEATHER_TOOL = FunctionTool.from_defaults(
    fn=get_weather,
    name="get_weather",
    description="Get the current weather for a city",
    fn_schema=WeatherArgs,
)
TOOL_CALL_FORMAT = recorded_request("chat_tool_call")["format"]
PARALLEL_FORMAT = recorded_request("chat_parallel_tool_calls")["format"]


def llm(model: str, scenario: str, nth: int = 0) -> Ollama:
    """An LLM sending the options request ``nth`` of ``scenario`` was recorded with (few tokens)."""
    options = {"seed": 42, **sent_options(scenario, nth)}
    return Ollama(model=model, temperature=options.pop("temperature", 0), additional_kwargs=options)


def recorded_calls(recording: Cassette, nth: int = 0) -> list[dict[str, Any]]:
    """The tool calls of the ``nth`` recorded chat answer, one chunk after another."""
    lines = recording.exchange("/api/chat", nth=nth).lines
    return [call for line in lines for call in line["message"].get("tool_calls") or []]


def test_the_tool_spec_is_the_recorded_one() -> None:
    assert WEATHER_TOOL.metadata.to_openai_tool() == recorded_request("chat_tool_call")["tools"][0]


@pytest.mark.vcr("api/chat_tool_call.yaml")
def test_chat_with_tools_returns_the_call_with_the_server_id(recording: Cassette) -> None:
    response = llm("smollm2-tools:135m", "chat_tool_call").chat_with_tools(
        [WEATHER_TOOL], "What is the weather in Paris?", format=TOOL_CALL_FORMAT
    )
    selections = llm("smollm2-tools:135m", "chat_tool_call").get_tool_calls_from_response(response)

    assert [(s.tool_id, s.tool_name, s.tool_kwargs) for s in selections] == [
        (call["id"], call["function"]["name"], call["function"]["arguments"])
        for call in recorded_calls(recording)
    ]
    assert [s.tool_name for s in selections] == ["get_weather"]
    assert TOOL_CALL_ID.fullmatch(selections[0].tool_id)
    assert response.raw["finish_reason"] == "tool_calls"


@pytest.mark.vcr("api/chat_tool_call.yaml", "api/show_tools_model.yaml")
def test_predict_and_call_runs_the_tool(recording: Cassette) -> None:
    result = llm("smollm2-tools:135m", "chat_tool_call").predict_and_call(
        [WEATHER_TOOL], "What is the weather in Paris?", format=TOOL_CALL_FORMAT
    )

    (call,) = recorded_calls(recording)
    assert result.response == get_weather(**call["function"]["arguments"])
    assert result.sources[0].raw_input == {"args": (), "kwargs": call["function"]["arguments"]}


@pytest.mark.vcr("api/chat_tool_call.yaml", "api/show_tools_model.yaml")
async def test_apredict_and_call_reads_capabilities_asynchronously() -> None:
    model = llm("smollm2-tools:135m", "chat_tool_call")
    result = await model.apredict_and_call(
        [WEATHER_TOOL], "What is the weather in Paris?", format=TOOL_CALL_FORMAT
    )

    assert result.response == '{"temperature_c": 18, "sky": "sunny"}'
    # the capabilities were fetched (asynchronously) before metadata was read: now cached
    assert model.to_payload()["is_function_calling_model"] is True


@pytest.mark.vcr("api/chat_tool_roundtrip.yaml")
def test_tool_result_goes_back_with_call_id_and_tool_name(recording: Cassette) -> None:
    question = ChatMessage(role="user", content="What is the weather in Paris?")
    first = llm("smollm2-tools:135m", "chat_tool_roundtrip").chat_with_tools(
        [WEATHER_TOOL], question, format=TOOL_CALL_FORMAT
    )
    call = llm("smollm2-tools:135m", "chat_tool_roundtrip").get_tool_calls_from_response(first)[0]
    assert call.tool_id == recorded_calls(recording)[0]["id"]
    recording.require("/api/chat", nth=1)
    history = [
        question,
        first.message,
        ChatMessage(
            role="tool",
            content=WEATHER_TOOL.call(**call.tool_kwargs).content,
            additional_kwargs={"tool_call_id": call.tool_id},  # what LlamaIndex agents set
        ),
    ]

    # The recorded second request carries tool_call_id and tool_name: the name is found by id.
    answer = llm("smollm2:135m", "chat_tool_roundtrip", nth=1).chat_with_tools(
        [WEATHER_TOOL], chat_history=history
    )

    second = recording.exchange("/api/chat", nth=1)
    sent = second.request["messages"][-1]
    assert (sent["tool_call_id"], sent["tool_name"]) == (call.tool_id, "get_weather")
    assert answer.message.content == second.json["message"]["content"]
    assert len(history) == 3  # the caller's history is not mutated


@pytest.mark.vcr("api/chat_parallel_tool_calls.yaml")
def test_parallel_calls_are_all_kept_with_their_ids(recording: Cassette) -> None:
    model = llm("smollm2-tools-parallel:135m", "chat_parallel_tool_calls")
    response = model.chat_with_tools(
        [WEATHER_TOOL],
        "What is the weather in Paris and in Tokyo?",
        allow_parallel_tool_calls=True,
        format=PARALLEL_FORMAT,
    )
    selections = model.get_tool_calls_from_response(response)

    assert [(s.tool_id, s.tool_kwargs) for s in selections] == [
        (call["id"], call["function"]["arguments"]) for call in recorded_calls(recording)
    ]
    assert len({s.tool_id for s in selections}) == 2
    assert all(TOOL_CALL_ID.fullmatch(s.tool_id) for s in selections)


@pytest.mark.vcr("api/chat_parallel_tool_calls.yaml")
def test_without_allow_parallel_only_the_first_call_is_kept(recording: Cassette) -> None:
    model = llm("smollm2-tools-parallel:135m", "chat_parallel_tool_calls")
    response = model.chat_with_tools(
        [WEATHER_TOOL], "What is the weather in Paris and in Tokyo?", format=PARALLEL_FORMAT
    )

    first, _second = recorded_calls(recording)
    assert [s.tool_kwargs for s in model.get_tool_calls_from_response(response)] == [
        first["function"]["arguments"]
    ]


@pytest.mark.vcr("api/chat_parallel_tool_calls_stream.yaml")
def test_streaming_with_tools_yields_each_call_chunk_and_keeps_both(recording: Cassette) -> None:
    chunks = list(
        llm("smollm2-tools-parallel:135m", "chat_parallel_tool_calls_stream").stream_chat_with_tools(
            [WEATHER_TOOL], "What is the weather in Paris and in Tokyo?", format=PARALLEL_FORMAT
        )
    )
    calls_per_chunk = [
        [b.tool_call_id for b in c.message.blocks if isinstance(b, ToolCallBlock)] for c in chunks
    ]

    # Each response holds the calls so far: the first, then both (until the end of the stream).
    first, second = (call["id"] for call in recorded_calls(recording))
    assert calls_per_chunk == [[first], [first, second]] + [[first, second]] * (len(chunks) - 2)
    assert all(c.delta == "" for c in chunks)


@pytest.mark.vcr("api/chat_tool_call_stream.yaml")
async def test_astream_chat_with_tools_gives_the_call(recording: Cassette) -> None:
    model = llm("smollm2-tools:135m", "chat_tool_call_stream")
    stream = await model.astream_chat_with_tools(
        [WEATHER_TOOL], "What is the weather in Berlin?", format=TOOL_CALL_FORMAT
    )
    last = None
    async for last in stream:  # noqa: B007 - the last response holds everything
        pass

    assert last is not None
    assert [(s.tool_id, s.tool_name, s.tool_kwargs) for s in model.get_tool_calls_from_response(last)] == [
        (call["id"], call["function"]["name"], call["function"]["arguments"])
        for call in recorded_calls(recording)
    ]


@pytest.mark.vcr("api/chat_tools_text_answer.yaml")
def test_a_text_answer_has_no_tool_calls(recording: Cassette) -> None:
    # Offered a tool without a `format`, the model decides: the bundled recording answered in text,
    # a live server may call the tool. What the answer held is what the adapter must give back.
    model = llm("smollm2:135m", "chat_tools_text_answer")
    response = model.chat_with_tools([WEATHER_TOOL], "What is the weather in Paris?")

    answer = recording.exchange("/api/chat")
    calls = recorded_calls(recording)
    assert response.message.content == answer.json["message"]["content"]
    assert [
        (s.tool_id, s.tool_name, s.tool_kwargs)
        for s in model.get_tool_calls_from_response(response, error_on_no_tool_call=False)
    ] == [(call["id"], call["function"]["name"], call["function"]["arguments"]) for call in calls]
    if not calls:  # a text answer: asking for its calls is an error
        with pytest.raises(ValueError, match="Expected at least one tool call"):
            model.get_tool_calls_from_response(response)


@pytest.mark.vcr("api/chat_tools_unsupported.yaml")
def test_tools_on_a_model_without_them_raise_the_core_error() -> None:
    with pytest.raises(UnsupportedCapabilityError, match="does not support tools"):
        llm("gemma3:270m", "chat_tools_unsupported").chat_with_tools([WEATHER_TOOL], "Weather in Paris?")
