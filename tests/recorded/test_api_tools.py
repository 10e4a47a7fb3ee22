"""Tool-calling scenarios replayed through ``OllamaProvider.chat``.

What a caller relies on: each call's ``id``, ``index``, name and ``arguments`` as a dict, every call
of a parallel answer kept (in order, streamed or not), ``finish_reason == "tool_calls"``, and a tool
result sent back with ``tool_call_id`` / ``tool_name``.
"""

from __future__ import annotations

import json

import pytest

from ollama_provider import Message, OllamaProvider, ToolCall

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


def _calls(tool_calls: list[ToolCall] | None) -> list[tuple[str | None, int | None, str, dict[str, object]]]:
    return [(c.id, c.function.index, c.function.name, c.function.arguments) for c in tool_calls or []]


@pytest.mark.vcr("api/chat_tools_text_answer.yaml")
def test_tools_offered_to_a_model_that_answers_in_text(provider: OllamaProvider) -> None:
    answer = provider.chat(
        "What is the weather in Paris?", model=SMOLLM, tools=[WEATHER_TOOL], num_predict=40, **GREEDY
    )

    assert answer.message.tool_calls is None
    assert answer.message.content.startswith("\n# Tools\n\nYou may call one or more functions")
    # No call was made, so the reason stays the server's own.
    assert (answer.done_reason, answer.finish_reason) == ("length", "length")
    assert answer.usage.prompt_tokens == 184  # the tool schema went into the prompt


@pytest.mark.vcr("api/chat_tool_call.yaml")
def test_a_typed_python_function_as_tool_gets_a_call_with_dict_arguments(provider: OllamaProvider) -> None:
    # The function's signature and docstring produce exactly the recorded tool schema.
    answer = provider.chat(
        "What is the weather in Paris?",
        model=SMOLLM_TOOLS,
        tools=[get_weather],
        format=ONE_CALL_FORMAT,
        num_predict=60,
        **GREEDY,
    )

    assert _calls(answer.message.tool_calls) == [("call_vnquqt6l", 0, "get_weather", {"city": "Paris"})]
    assert answer.message.content == ""
    assert answer.done_reason == "stop"
    assert answer.finish_reason == "tool_calls"  # normalised: the caller must run the tool
    call = answer.message.tool_calls[0] if answer.message.tool_calls else None
    assert call is not None and get_weather(**call.function.arguments) == "sunny in Paris"


@pytest.mark.vcr("api/chat_tool_call_stream.yaml")
def test_streamed_tool_call_arrives_in_a_chunk_and_the_final_chunk_says_tool_calls(
    provider: OllamaProvider,
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

    assert len(chunks) == 2
    first, final = chunks
    assert _calls(first.message.tool_calls) == [("call_q7ncua3p", 0, "get_weather", {"city": "Berlin"})]
    assert not first.done and first.finish_reason is None
    # The server's final chunk says "stop" and has no calls; the stream remembers there were some.
    assert final.message.tool_calls is None
    assert (final.done, final.done_reason, final.finish_reason) == (True, "stop", "tool_calls")
    assert (final.usage.prompt_tokens, final.usage.completion_tokens) == (160, 24)


@pytest.mark.vcr("api/chat_parallel_tool_calls.yaml")
def test_parallel_tool_calls_are_both_kept_with_their_ids_and_indexes(provider: OllamaProvider) -> None:
    answer = provider.chat(
        "What is the weather in Paris and in Tokyo?",
        model=SMOLLM_PARALLEL,
        tools=[WEATHER_TOOL],
        format=TWO_CALLS_FORMAT,
        num_predict=80,
        **GREEDY,
    )

    assert _calls(answer.message.tool_calls) == [
        ("call_gjg110cy", 0, "get_weather", {"city": "Paris"}),
        ("call_2sed0fm3", 1, "get_weather", {"city": "Tokyo"}),
    ]
    assert answer.finish_reason == "tool_calls"
    assert answer.usage.completion_tokens == 44


@pytest.mark.vcr("api/chat_parallel_tool_calls_stream.yaml")
def test_streamed_parallel_tool_calls_arrive_one_per_chunk_and_are_all_kept(provider: OllamaProvider) -> None:
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

    assert len(chunks) == 3
    assert [len(chunk.message.tool_calls or []) for chunk in chunks] == [1, 1, 0]
    every_call = [call for chunk in chunks for call in chunk.message.tool_calls or []]
    assert _calls(every_call) == [
        ("call_uvw4rgc3", 0, "get_weather", {"city": "Paris"}),
        ("call_k0v3881j", 1, "get_weather", {"city": "Tokyo"}),
    ]
    assert chunks[-1].finish_reason == "tool_calls"


@pytest.mark.vcr("api/chat_tool_roundtrip.yaml")
def test_tool_roundtrip_sends_the_result_back_with_tool_call_id_and_tool_name(
    provider: OllamaProvider,
) -> None:
    question = {"role": "user", "content": "What is the weather in Paris?"}
    first = provider.chat(
        [question], model=SMOLLM_TOOLS, tools=[WEATHER_TOOL], format=ONE_CALL_FORMAT, num_predict=60, **GREEDY
    )
    assert first.finish_reason == "tool_calls"
    assert first.message.tool_calls is not None
    (call,) = first.message.tool_calls
    assert _calls([call]) == [("call_5mjhvwrc", 0, "get_weather", {"city": "Paris"})]

    # The answer's Message goes back as it came; the tool result names the call it answers.
    result = Message(
        "tool",
        json.dumps({"temperature_c": 18, "sky": "sunny"}),
        tool_name=call.function.name,
        tool_call_id=call.id,
    )
    second = provider.chat(
        [question, first.message, result], model=SMOLLM, tools=[WEATHER_TOOL], num_predict=40, **GREEDY
    )

    assert second.message.tool_calls is None
    assert second.message.content == (
        "\nYou can use the `json` module to parse the JSON response and extract the weather data.\n\n"
        "```python\nimport json\n\ndef get_weather_data(city_name):"
    )
    assert second.finish_reason == "length"
    assert second.usage.prompt_tokens == 252  # question, call and result were all in the prompt
