"""LlamaIndex agents on ``Ollama``: ``FunctionAgent``, ``ReActAgent`` and ``AgentWorkflow``.

Scripted answers (:class:`~ollama_provider.testing.ScriptedProvider`, passed as the LLM's
``provider`` / ``async_provider``, so requests go through the adapter's real translation and the core's
validation) drive a multi-step tool loop ending in a final answer, parallel tool calls, a tool that
raises, a forced first step (``initial_tool_choice``), structured final output, streaming and a
hand-off between agents. The workflows are async (``await agent.run(...)``); sync code runs them with
``asyncio.run``. A real recording drives one run too: a model that answers in text when merely
offered a tool (what the README's table warns about) ends the loop in one step.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from llama_index.core.agent.workflow import (
    AgentOutput,
    AgentStream,
    AgentWorkflow,
    FunctionAgent,
    ReActAgent,
    ToolCallResult,
)
from llama_index.core.tools import FunctionTool
from llama_index.llms.ollama_provider import Ollama
from pydantic import BaseModel, ConfigDict

from ollama_provider import Message
from ollama_provider.testing import ScriptedProvider, tool_call

# Warnings from the frameworks' own code: llama-index-core's ReActAgent about its ctx.is_running (per
# streamed chunk), and the workflows package's inspect.getmembers() over the agents (pydantic models).
pytestmark = [
    pytest.mark.filterwarnings("ignore:is_running called from within a step:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::pydantic.warnings.PydanticDeprecatedSince20"),
    pytest.mark.filterwarnings("ignore::pydantic.warnings.PydanticDeprecatedSince211"),
]

MODEL = "scripted:latest"
QUESTION = "What is the weather in Paris, then in Tokyo?"


def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    return f"sunny in {city}"


def get_time(city: str) -> str:
    """Get the local time in a city."""
    return f"12:00 in {city}"


def broken_weather(city: str) -> str:
    """Get the current weather for a city."""
    raise RuntimeError("weather backend down")


WEATHER, TIME, BROKEN = (FunctionTool.from_defaults(fn) for fn in (get_weather, get_time, broken_weather))


class Weather(BaseModel):
    city: str
    sky: str


def calls(*pairs: tuple[str, dict[str, Any]]) -> Message:
    """An assistant answer made of tool calls (ids call_0, call_1...)."""
    return Message(
        "assistant", "", tool_calls=[tool_call(name, args, index=i) for i, (name, args) in enumerate(pairs)]
    )


def scripted_llm(replies: list[str | Message]) -> tuple[Ollama, ScriptedProvider]:
    fake = ScriptedProvider(replies, models=[MODEL])
    return Ollama(model=MODEL, provider=fake, async_provider=fake.asynchronous()), fake


def tool_messages(request: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in request["messages"] if m["role"] == "tool"]


async def run_collecting(agent: Any, question: str) -> tuple[Any, list[Any]]:
    handler = agent.run(user_msg=question)
    events = [event async for event in handler.stream_events()]
    return await handler, events


STREAMING = pytest.mark.parametrize("streaming", [True, False], ids=["streamed", "whole"])


# -- FunctionAgent ------------------------------------------------------------------------------------


@STREAMING
async def test_function_agent_runs_a_tool_loop_to_the_final_answer(streaming: bool) -> None:
    llm, fake = scripted_llm(
        [
            calls(("get_weather", {"city": "Paris"})),
            Message(
                "assistant", "", tool_calls=[tool_call("get_weather", {"city": "Tokyo"}, id="call_tokyo")]
            ),
            "Sunny in Paris and in Tokyo.",
        ]
    )
    agent = FunctionAgent(tools=[WEATHER], llm=llm, streaming=streaming)
    result, events = await run_collecting(agent, QUESTION)

    assert str(result) == "Sunny in Paris and in Tokyo."
    results = [e for e in events if isinstance(e, ToolCallResult)]
    assert [(r.tool_kwargs, r.tool_output.content) for r in results] == [
        ({"city": "Paris"}, "sunny in Paris"),
        ({"city": "Tokyo"}, "sunny in Tokyo"),
    ]
    assert len(fake.requests) == 3 and all(r["stream"] is streaming for r in fake.requests)
    assert tool_messages(fake.requests[2]) == [
        {"role": "tool", "content": "sunny in Paris", "tool_name": "get_weather", "tool_call_id": "call_0"},
        {
            "role": "tool",
            "content": "sunny in Tokyo",
            "tool_name": "get_weather",
            "tool_call_id": "call_tokyo",
        },
    ]


def test_function_agent_from_sync_code() -> None:
    llm, _ = scripted_llm([calls(("get_weather", {"city": "Paris"})), "Sunny."])
    agent = FunctionAgent(tools=[WEATHER], llm=llm)

    async def ask() -> Any:
        return await agent.run(user_msg="Weather in Paris?")

    assert str(asyncio.run(ask())) == "Sunny."


@STREAMING
async def test_function_agent_runs_parallel_tool_calls(streaming: bool) -> None:
    llm, fake = scripted_llm(
        [calls(("get_weather", {"city": "Paris"}), ("get_time", {"city": "Tokyo"})), "Done."]
    )
    agent = FunctionAgent(tools=[WEATHER, TIME], llm=llm, streaming=streaming)
    result, _ = await run_collecting(agent, QUESTION)

    assert str(result) == "Done."
    assert [(m["tool_name"], m["tool_call_id"], m["content"]) for m in tool_messages(fake.requests[1])] == [
        ("get_weather", "call_0", "sunny in Paris"),
        ("get_time", "call_1", "12:00 in Tokyo"),
    ]


@STREAMING
async def test_a_tool_that_raises_is_reported_to_the_model(streaming: bool) -> None:
    llm, fake = scripted_llm([calls(("broken_weather", {"city": "Paris"})), "The service is down."])
    agent = FunctionAgent(tools=[BROKEN], llm=llm, streaming=streaming)
    result, events = await run_collecting(agent, "Weather in Paris?")

    (failed,) = [e for e in events if isinstance(e, ToolCallResult)]
    assert failed.tool_output.is_error
    assert "weather backend down" in tool_messages(fake.requests[1])[0]["content"]
    assert str(result) == "The service is down."


@STREAMING
async def test_function_agent_streams_the_answer_token_by_token(streaming: bool) -> None:
    llm, _ = scripted_llm([calls(("get_weather", {"city": "Paris"})), "It is sunny in Paris today."])
    agent = FunctionAgent(tools=[WEATHER], llm=llm, streaming=streaming)
    result, events = await run_collecting(agent, "Weather in Paris?")

    deltas = [e.delta for e in events if isinstance(e, AgentStream) and e.delta]
    if streaming:
        assert "".join(deltas) == str(result) == "It is sunny in Paris today."
        assert len(deltas) > 1
    else:
        assert deltas == []  # streaming=False: one whole answer per step
    outputs = [e for e in events if isinstance(e, AgentOutput)]
    assert [o.response.content for o in outputs] == ["", "It is sunny in Paris today."]


# -- forcing the first step: initial_tool_choice -------------------------------------------------------


@STREAMING
async def test_initial_tool_choice_forces_the_first_step(streaming: bool) -> None:
    llm, fake = scripted_llm([calls(("get_weather", {"city": "Paris"})), "Sunny."])
    agent = FunctionAgent(
        tools=[WEATHER, TIME], llm=llm, initial_tool_choice="get_weather", streaming=streaming
    )
    result, _ = await run_collecting(agent, "Weather in Paris?")

    first, second = fake.requests
    assert first["format"]["properties"]["name"] == {"type": "string", "enum": ["get_weather"]}
    assert first["format"]["properties"]["arguments"]["required"] == ["city"]
    assert "format" not in second
    assert str(result) == "Sunny."


@STREAMING
async def test_a_forced_tool_call_given_as_json_text_still_runs_the_tool(streaming: bool) -> None:
    # A model whose template has no tool parser answers the forced format as JSON content.
    forced = json.dumps({"name": "get_weather", "arguments": {"city": "Paris"}})
    llm, fake = scripted_llm([forced, "Sunny in Paris."])
    agent = FunctionAgent(tools=[WEATHER], llm=llm, initial_tool_choice="get_weather", streaming=streaming)
    result, events = await run_collecting(agent, "Weather in Paris?")

    assert [e.tool_output.content for e in events if isinstance(e, ToolCallResult)] == ["sunny in Paris"]
    assert str(result) == "Sunny in Paris."
    # The call got an id of the server's shape, and its result went back under it.
    (tool_result,) = tool_messages(fake.requests[1])
    assert tool_result["tool_call_id"].startswith("call_")
    assert fake.requests[1]["messages"][1]["tool_calls"][0]["id"] == tool_result["tool_call_id"]
    if streaming:  # the JSON of the call is not streamed as if it were the answer
        assert forced not in "".join(e.delta for e in events if isinstance(e, AgentStream))


def test_tool_required_forces_one_of_the_tools() -> None:
    llm, fake = scripted_llm([calls(("get_time", {"city": "Tokyo"}))])
    response = llm.chat_with_tools([WEATHER, TIME], user_msg="Time in Tokyo?", tool_required=True)
    assert [s.tool_name for s in llm.get_tool_calls_from_response(response)] == ["get_time"]
    options = fake.requests[0]["format"]["anyOf"]
    assert [o["properties"]["name"]["enum"] for o in options] == [["get_weather"], ["get_time"]]


def test_tool_choice_none_sends_no_tools_and_a_given_format_wins() -> None:
    llm, fake = scripted_llm(["plain", calls(("get_weather", {"city": "Paris"}))])
    llm.chat_with_tools([WEATHER], user_msg="Hi", tool_choice="none")
    own_format = {"type": "object", "properties": {"name": {"type": "string"}}}
    llm.chat_with_tools([WEATHER], user_msg="Hi", tool_required=True, format=own_format)
    assert "tools" not in fake.requests[0] and "format" not in fake.requests[0]
    assert fake.requests[1]["format"] == own_format


def test_an_unknown_tool_choice_is_rejected_before_any_request() -> None:
    llm, fake = scripted_llm([])
    with pytest.raises(ValueError, match="tool_choice 'get_time' is not one of the tools"):
        llm.chat_with_tools([WEATHER], user_msg="Hi", tool_choice="get_time")
    assert fake.requests == []


# -- structured final output ---------------------------------------------------------------------------


async def test_function_agent_returns_structured_output() -> None:
    llm, fake = scripted_llm(
        [calls(("get_weather", {"city": "Paris"})), "Sunny in Paris.", '{"city": "Paris", "sky": "sunny"}']
    )
    agent = FunctionAgent(tools=[WEATHER], llm=llm, output_cls=Weather)
    result, _ = await run_collecting(agent, "Weather in Paris?")

    assert result.get_pydantic_model(Weather) == Weather(city="Paris", sky="sunny")
    assert fake.requests[-1]["format"]["required"] == ["city", "sky"]  # the schema as Ollama's format


# -- ReActAgent -----------------------------------------------------------------------------------------

REACT_STEPS: list[str | Message] = [
    'Thought: I need the weather tool.\nAction: get_weather\nAction Input: {"city": "Paris"}',
    "Thought: I can answer without using any more tools.\nAnswer: It is sunny in Paris.",
]


@STREAMING
async def test_react_agent_runs_its_text_protocol_to_an_answer(streaming: bool) -> None:
    llm, fake = scripted_llm(list(REACT_STEPS))
    agent = ReActAgent(tools=[WEATHER], llm=llm, streaming=streaming)
    result, events = await run_collecting(agent, "Weather in Paris?")

    assert str(result) == "It is sunny in Paris."
    assert [e.tool_output.content for e in events if isinstance(e, ToolCallResult)] == ["sunny in Paris"]
    # ReAct sends no tools: the tool is described in the system prompt and observed in the history.
    assert all("tools" not in r for r in fake.requests)
    assert "get_weather" in fake.requests[0]["messages"][0]["content"]
    assert any("sunny in Paris" in m["content"] for m in fake.requests[1]["messages"])
    if streaming:
        assert any(isinstance(e, AgentStream) and e.delta for e in events)


async def test_react_agent_reports_a_tool_error_as_an_observation() -> None:
    llm, fake = scripted_llm(
        [
            'Thought: I need the weather tool.\nAction: broken_weather\nAction Input: {"city": "Paris"}',
            "Thought: The tool failed.\nAnswer: The weather service is down.",
        ]
    )
    result, _ = await run_collecting(ReActAgent(tools=[BROKEN], llm=llm), "Weather in Paris?")
    assert str(result) == "The weather service is down."
    assert any("weather backend down" in m["content"] for m in fake.requests[1]["messages"])


# -- AgentWorkflow: a hand-off between two agents ----------------------------------------------------------


async def test_agent_workflow_hands_off_then_answers() -> None:
    llm, fake = scripted_llm(
        [
            calls(("handoff", {"to_agent": "weather", "reason": "a weather question"})),
            calls(("get_weather", {"city": "Paris"})),
            "Sunny in Paris.",
        ]
    )
    concierge = FunctionAgent(
        name="concierge", description="Routes questions.", llm=llm, tools=[TIME], can_handoff_to=["weather"]
    )
    weather = FunctionAgent(name="weather", description="Knows the weather.", llm=llm, tools=[WEATHER])
    workflow = AgentWorkflow(agents=[concierge, weather], root_agent="concierge")
    result, events = await run_collecting(workflow, "Weather in Paris?")

    assert str(result) == "Sunny in Paris."
    assert [o.current_agent_name for o in events if isinstance(o, AgentOutput)] == [
        "concierge",
        "weather",
        "weather",
    ]
    offered = [[t["function"]["name"] for t in r["tools"]] for r in fake.requests]
    assert offered == [["get_time", "handoff"], ["get_weather", "handoff"], ["get_weather", "handoff"]]
    assert tool_messages(fake.requests[2])[-1]["content"] == "sunny in Paris"


# -- on a real recording: a model that does not call tools unprompted ---------------------------------------


class _Location(BaseModel):
    # Titles dropped: the tool spec is the one the official run recorded.
    model_config = ConfigDict(json_schema_extra=lambda schema: _drop_titles(schema))
    location: str


def _drop_titles(schema: dict[str, Any]) -> None:
    schema.pop("title", None)
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)


def _weather_at(location: str) -> str:
    return f"sunny at {location}"


@pytest.mark.vcr(
    "langchain-standard/TestChatOllamaIntegration.test_agent_loop[model0].yaml", record_mode="none"
)
async def test_a_model_that_answers_in_text_ends_the_run_in_one_step() -> None:
    tool = FunctionTool.from_defaults(
        _weather_at, name="get_weather", description="Get the weather at a location.", fn_schema=_Location
    )
    url = "http://recorded.invalid:11434"  # vcrpy answers; nothing listens there
    llm = Ollama(
        model="smollm2:135m", base_url=url, context_window=8192, is_function_calling_model=True, retries=0
    )
    result, events = await run_collecting(
        FunctionAgent(tools=[tool], llm=llm), "What is the weather in San Francisco, CA?"
    )

    assert not [e for e in events if isinstance(e, ToolCallResult)]
    streamed = "".join(e.delta for e in events if isinstance(e, AgentStream))
    assert str(result) and streamed == str(result)
