"""Tool-calling scenarios replayed through ``OllamaProvider.chat``.

What a caller relies on: each call's ``id``, ``index``, name and ``arguments`` as a dict, every call
of a parallel answer kept (in order, streamed or not), ``finish_reason == "tool_calls"``, and a tool
result sent back with ``tool_call_id`` / ``tool_name``.
"""

from __future__ import annotations

import json

import pytest

from ollama_provider import Message, OllamaProvider, ToolCall

from ..recordings import Cassette
from .api_scenarios import (
    GREEDY,
    ONE_CALL_FORMAT,
    SMOLLM,
    SMOLLM_PARALLEL,
    SMOLLM_TOOLS,
    TWO_CALLS_FORMAT,
    WEATHER_TOOL,
    get_weather,
)
from .expected import TOOL_CALL_ID, assert_chat_answer, assert_metrics, assert_stream, calls, finish_reason


def _calls(tool_calls: list[ToolCall] | None) -> list[tuple[str | None, int | None, str, dict[str, object]]]:
    return [(c.id, c.function.index, c.function.name, c.function.arguments) for c in tool_calls or []]


def _assert_server_ids(tool_calls: list[ToolCall]) -> None:
    """Every call keeps an id of the server's form, none shared."""
    ids = [call.id for call in tool_calls]
    assert all(TOOL_CALL_ID.fullmatch(str(i)) for i in ids), ids
    assert len(set(ids)) == len(ids)


@pytest.mark.vcr("api/chat_tools_text_answer.yaml")
def test_tools_offered_to_a_model_that_answers_in_text(provider: OllamaProvider, recording: Cassette) -> None:
    answer = provider.chat(
        "What is the weather in Paris?", model=SMOLLM, tools=[WEATHER_TOOL], num_predict=40, **GREEDY
    )

    recorded = recording.exchange("/api/chat").json
    assert "tool_calls" not in recorded["message"]  # the scenario: tools offered, a text answer
    assert_chat_answer(answer, recorded)
    assert answer.message.tool_calls is None and answer.message.content
    # No call was made, so the reason stays the server's own.
    assert answer.finish_reason == recorded["done_reason"]
    assert_metrics(answer, recorded)


@pytest.mark.vcr("api/chat_tool_call.yaml")
def test_a_typed_python_function_as_tool_gets_a_call_with_dict_arguments(
    provider: OllamaProvider, recording: Cassette
) -> None:
    # The function's signature and docstring produce exactly the recorded tool schema.
    answer = provider.chat(
        "What is the weather in Paris?",
        model=SMOLLM_TOOLS,
        tools=[get_weather],
        format=ONE_CALL_FORMAT,
        num_predict=60,
        **GREEDY,
    )

    exchange = recording.exchange("/api/chat")
    assert exchange.request["tools"] == [WEATHER_TOOL]
    assert_chat_answer(answer, exchange.json)
    assert _calls(answer.message.tool_calls) == calls(exchange.json["message"])
    assert [(c.function.index, c.function.name) for c in answer.message.tool_calls or []] == [
        (0, "get_weather")
    ]
    _assert_server_ids(answer.message.tool_calls or [])
    assert answer.message.content == ""
    assert answer.done_reason == "stop"
    assert answer.finish_reason == "tool_calls"  # normalised: the caller must run the tool
    call = answer.message.tool_calls[0] if answer.message.tool_calls else None
    assert call is not None and isinstance(call.function.arguments, dict)
    assert get_weather(**call.function.arguments) == f"sunny in {call.function.arguments['city']}"


@pytest.mark.vcr("api/chat_tool_call_stream.yaml")
def test_streamed_tool_call_arrives_in_a_chunk_and_the_final_chunk_says_tool_calls(
    provider: OllamaProvider, recording: Cassette
) -> None:
    chunks = list(
        provider.chat(
            "What is the weather in Berlin?",
            model=SMOLLM_TOOLS,
            tools=[WEATHER_TOOL],
            format=ONE_CALL_FORMAT,
            stream=True,
            num_predict=60,
            **GREEDY,
        )
    )

    lines = recording.exchange("/api/chat").lines
    assert_stream(chunks, lines, assert_chat_answer)
    assert [_calls(chunk.message.tool_calls) for chunk in chunks] == [
        calls(line["message"]) for line in lines
    ]
    (first,) = [chunk for chunk in chunks if chunk.message.tool_calls]
    assert first.message.tool_calls is not None
    _assert_server_ids(first.message.tool_calls)
    assert not first.done and first.finish_reason is None
    # The server's final chunk says "stop" and has no calls; the stream remembers there were some.
    final = chunks[-1]
    assert final.message.tool_calls is None
    assert (final.done, final.done_reason, final.finish_reason) == (True, "stop", "tool_calls")


@pytest.mark.vcr("api/chat_parallel_tool_calls.yaml")
def test_parallel_tool_calls_are_both_kept_with_their_ids_and_indexes(
    provider: OllamaProvider, recording: Cassette
) -> None:
    answer = provider.chat(
        "What is the weather in Paris and in Tokyo?",
        model=SMOLLM_PARALLEL,
        tools=[WEATHER_TOOL],
        format=TWO_CALLS_FORMAT,
        num_predict=80,
        **GREEDY,
    )

    recorded = recording.exchange("/api/chat").json
    assert_chat_answer(answer, recorded)
    assert _calls(answer.message.tool_calls) == calls(recorded["message"])
    assert [c.function.index for c in answer.message.tool_calls or []] == [0, 1]
    _assert_server_ids(answer.message.tool_calls or [])
    assert answer.finish_reason == finish_reason(recorded["done_reason"], called_tools=True) == "tool_calls"
    assert_metrics(answer, recorded)


@pytest.mark.vcr("api/chat_parallel_tool_calls_stream.yaml")
def test_streamed_parallel_tool_calls_arrive_one_per_chunk_and_are_all_kept(
    provider: OllamaProvider, recording: Cassette
) -> None:
    chunks = list(
        provider.chat(
            "What is the weather in Paris and in Tokyo?",
            model=SMOLLM_PARALLEL,
            tools=[WEATHER_TOOL],
            format=TWO_CALLS_FORMAT,
            stream=True,
            num_predict=80,
            **GREEDY,
        )
    )

    lines = recording.exchange("/api/chat").lines
    assert_stream(chunks, lines, assert_chat_answer)
    assert [len(chunk.message.tool_calls or []) for chunk in chunks] == [1, 1, 0]
    every_call = [call for chunk in chunks for call in chunk.message.tool_calls or []]
    assert _calls(every_call) == [call for line in lines for call in calls(line["message"])]
    assert [c.function.index for c in every_call] == [0, 1]
    _assert_server_ids(every_call)
    assert chunks[-1].finish_reason == "tool_calls"


@pytest.mark.vcr("api/chat_tool_roundtrip.yaml")
def test_tool_roundtrip_sends_the_result_back_with_tool_call_id_and_tool_name(
    provider: OllamaProvider, recording: Cassette
) -> None:
    question = {"role": "user", "content": "What is the weather in Paris?"}
    first = provider.chat(
        [question], model=SMOLLM_TOOLS, tools=[WEATHER_TOOL], format=ONE_CALL_FORMAT, num_predict=60, **GREEDY
    )
    assert first.finish_reason == "tool_calls"
    assert first.message.tool_calls is not None
    (call,) = first.message.tool_calls
    assert _calls([call]) == calls(recording.exchange("/api/chat").json["message"])
    _assert_server_ids([call])

    # The answer's Message goes back as it came; the tool result names the call it answers.
    result = Message(
        "tool",
        json.dumps({"temperature_c": 18, "sky": "sunny"}),
        tool_name=call.function.name,
        tool_call_id=call.id,
    )
    recording.require("/api/chat", nth=1)
    second = provider.chat(
        [question, first.message, result], model=SMOLLM, tools=[WEATHER_TOOL], num_predict=40, **GREEDY
    )
    recorded_second = recording.exchange("/api/chat", nth=1)

    sent_result = recorded_second.request["messages"][-1]
    assert (sent_result["tool_call_id"], sent_result["tool_name"]) == (call.id, "get_weather")
    assert_chat_answer(second, recorded_second.json)
    assert second.message.tool_calls is None
    assert second.finish_reason == recorded_second.json["done_reason"]
    assert_metrics(second, recorded_second.json)  # its prompt held the question, the call and the result
