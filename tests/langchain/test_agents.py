"""LangChain 1.x agents on ChatOllama: ``langchain.agents.create_agent`` and a hand-built LangGraph graph.

Scripted answers (:class:`~ollama_provider.testing.ScriptedProvider`, through the adapter's real
translation and the core's real request validation) drive the flows a real model would: a multi-step
tool loop ending in a final answer, parallel tool calls, tools that raise, ``tool_choice`` forcing
the first step, structured final output (tool and provider strategies), sync and async, streamed.
The recorded tool round trip (``api/chat_tool_roundtrip.yaml``) runs through ``create_agent`` too.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain.agents.middleware import AgentMiddleware, ModelRequest, ToolErrorMiddleware
from langchain.agents.structured_output import ProviderStrategy, ToolStrategy
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import StructuredTool, ToolException, tool
from langchain_ollama_provider import ChatOllama
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition
from pydantic import BaseModel

from ollama_provider import Message
from ollama_provider.testing import ScriptedProvider, tool_call

from ..recorded.api_scenarios import ONE_CALL_FORMAT, WEATHER_TOOL
from ..recordings import Cassette
from .scripted import scripted_chat

QUESTION = "What is the weather in Paris, then in Tokyo?"


@tool
def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    return f"sunny in {city}"


@tool
def get_time(city: str) -> str:
    """Get the local time in a city."""
    return f"12:00 in {city}"


class Weather(BaseModel):
    """The weather report to return."""

    city: str
    sky: str


def calls(*pairs: tuple[str, dict[str, Any]]) -> Message:
    """An assistant answer made of tool calls (ids call_0, call_1... as Ollama numbers them)."""
    return Message(
        "assistant", "", tool_calls=[tool_call(name, args, index=i) for i, (name, args) in enumerate(pairs)]
    )


def user(text: str = QUESTION) -> dict[str, list[BaseMessage]]:
    return {"messages": [HumanMessage(text)]}


async def run(agent: Any, inputs: dict[str, Any], asynchronous: bool) -> dict[str, Any]:
    return await agent.ainvoke(inputs) if asynchronous else agent.invoke(inputs)


def tool_messages(request: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in request["messages"] if m["role"] == "tool"]


MODES = pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])


# -- the tool loop -----------------------------------------------------------------------------------


@MODES
async def test_a_multi_step_tool_loop_ends_in_the_final_answer(asynchronous: bool) -> None:
    llm, fake = scripted_chat(
        [
            calls(("get_weather", {"city": "Paris"})),
            Message(
                "assistant", "", tool_calls=[tool_call("get_weather", {"city": "Tokyo"}, id="call_tokyo")]
            ),
            "Sunny in Paris and in Tokyo.",
        ]
    )
    result = await run(create_agent(llm, [get_weather]), user(), asynchronous)

    kinds = [type(m).__name__ for m in result["messages"]]
    assert kinds == ["HumanMessage", "AIMessage", "ToolMessage", "AIMessage", "ToolMessage", "AIMessage"]
    assert result["messages"][-1].content == "Sunny in Paris and in Tokyo."
    assert [m.content for m in result["messages"] if isinstance(m, ToolMessage)] == [
        "sunny in Paris",
        "sunny in Tokyo",
    ]
    # Every step offers the tool; each result goes back with the call's id and the tool's name.
    assert len(fake.requests) == 3
    assert all(r["tools"][0]["function"]["name"] == "get_weather" for r in fake.requests)
    assert tool_messages(fake.requests[2]) == [
        {"role": "tool", "content": "sunny in Paris", "tool_name": "get_weather", "tool_call_id": "call_0"},
        {
            "role": "tool",
            "content": "sunny in Tokyo",
            "tool_name": "get_weather",
            "tool_call_id": "call_tokyo",
        },
    ]
    assistant_turn = fake.requests[1]["messages"][1]
    assert assistant_turn["tool_calls"][0]["function"]["arguments"] == {"city": "Paris"}


@MODES
async def test_parallel_tool_calls_all_run_and_all_results_go_back(asynchronous: bool) -> None:
    llm, fake = scripted_chat(
        [calls(("get_weather", {"city": "Paris"}), ("get_time", {"city": "Tokyo"})), "Done."]
    )
    result = await run(create_agent(llm, [get_weather, get_time]), user(), asynchronous)

    assert result["messages"][-1].content == "Done."
    assert tool_messages(fake.requests[1]) == [
        {"role": "tool", "content": "sunny in Paris", "tool_name": "get_weather", "tool_call_id": "call_0"},
        {"role": "tool", "content": "12:00 in Tokyo", "tool_name": "get_time", "tool_call_id": "call_1"},
    ]


# -- tools that raise -------------------------------------------------------------------------------


def _no_data(city: str) -> str:
    """Get the current weather for a city."""
    raise ToolException(f"the weather service has no data for {city}")


flaky_weather = StructuredTool.from_function(_no_data, name="flaky_weather", handle_tool_error=True)


@tool
def broken_weather(city: str) -> str:
    """Get the current weather for a city."""
    raise RuntimeError("weather backend down")


@MODES
async def test_a_tool_error_goes_back_to_the_model_which_then_answers(asynchronous: bool) -> None:
    llm, fake = scripted_chat([calls(("flaky_weather", {"city": "Atlantis"})), "I could not find it."])
    result = await run(create_agent(llm, [flaky_weather]), user("Weather in Atlantis?"), asynchronous)

    error = next(m for m in result["messages"] if isinstance(m, ToolMessage))
    assert error.status == "error"
    assert tool_messages(fake.requests[1])[0]["content"] == "the weather service has no data for Atlantis"
    assert result["messages"][-1].content == "I could not find it."


@MODES
async def test_an_unhandled_tool_exception_stops_the_run(asynchronous: bool) -> None:
    llm, fake = scripted_chat([calls(("broken_weather", {"city": "Paris"})), "never asked"])
    with pytest.raises(RuntimeError, match="weather backend down"):
        await run(create_agent(llm, [broken_weather]), user(), asynchronous)
    assert len(fake.requests) == 1


@MODES
async def test_tool_error_middleware_turns_the_exception_into_a_tool_result(asynchronous: bool) -> None:
    def describe(error: Exception, request: Any) -> str:
        return f"{type(error).__name__}: try again later"

    llm, fake = scripted_chat([calls(("broken_weather", {"city": "Paris"})), "Try later."])
    agent = create_agent(llm, [broken_weather], middleware=[ToolErrorMiddleware(on_error=describe)])
    result = await run(agent, user(), asynchronous)

    assert tool_messages(fake.requests[1])[0]["content"] == "RuntimeError: try again later"
    assert result["messages"][-1].content == "Try later."


# -- tool_choice: force the first step (what helps small models) --------------------------------------


class ForceFirstStep(AgentMiddleware):
    """Force a tool on the first model call of a run, then let the model decide."""

    def __init__(self, tool_choice: Any) -> None:
        super().__init__()
        self.tool_choice = tool_choice

    def _adjust(self, request: ModelRequest) -> ModelRequest:
        if any(isinstance(m, ToolMessage) for m in request.messages):
            return request
        return request.override(tool_choice=self.tool_choice)

    def wrap_model_call(self, request: ModelRequest, handler: Callable[[ModelRequest], Any]) -> Any:
        return handler(self._adjust(request))

    async def awrap_model_call(self, request: ModelRequest, handler: Callable[[ModelRequest], Any]) -> Any:
        return await handler(self._adjust(request))


@MODES
async def test_tool_choice_forces_the_first_step_with_a_json_schema_format(asynchronous: bool) -> None:
    llm, fake = scripted_chat([calls(("get_weather", {"city": "Paris"})), "Sunny."])
    agent = create_agent(llm, [get_weather, get_time], middleware=[ForceFirstStep("get_weather")])
    result = await run(agent, user("Weather in Paris?"), asynchronous)

    first, second = fake.requests
    assert first["format"]["properties"]["name"] == {"type": "string", "enum": ["get_weather"]}
    assert first["format"]["properties"]["arguments"]["required"] == ["city"]
    assert "format" not in second  # later steps are the model's choice
    assert result["messages"][-1].content == "Sunny."


@MODES
async def test_a_forced_tool_call_given_as_json_text_still_runs_the_tool(asynchronous: bool) -> None:
    # A model whose template has no tool parser answers the forced format as plain JSON content.
    forced_answer = json.dumps({"name": "get_weather", "arguments": {"city": "Paris"}})
    llm, fake = scripted_chat([forced_answer, "Sunny in Paris."])
    agent = create_agent(llm, [get_weather], middleware=[ForceFirstStep("any")])
    result = await run(agent, user("Weather in Paris?"), asynchronous)

    assert [m.content for m in result["messages"] if isinstance(m, ToolMessage)] == ["sunny in Paris"]
    assert result["messages"][-1].content == "Sunny in Paris."
    assert tool_messages(fake.requests[1])[0]["tool_name"] == "get_weather"


@MODES
async def test_forcing_any_of_several_tools_admits_each_of_them(asynchronous: bool) -> None:
    llm, fake = scripted_chat([calls(("get_time", {"city": "Tokyo"})), "Noon."])
    agent = create_agent(llm, [get_weather, get_time], middleware=[ForceFirstStep("any")])
    await run(agent, user("Time in Tokyo?"), asynchronous)

    names = [option["properties"]["name"]["enum"] for option in fake.requests[0]["format"]["anyOf"]]
    assert names == [["get_weather"], ["get_time"]]


# -- structured final output ------------------------------------------------------------------------


@MODES
async def test_tool_strategy_returns_the_structured_response(asynchronous: bool) -> None:
    llm, fake = scripted_chat(
        [calls(("get_weather", {"city": "Paris"})), calls(("Weather", {"city": "Paris", "sky": "sunny"}))]
    )
    agent = create_agent(llm, [get_weather], response_format=ToolStrategy(Weather))
    result = await run(agent, user("Weather in Paris?"), asynchronous)

    assert result["structured_response"] == Weather(city="Paris", sky="sunny")
    # ToolStrategy forces a call on every step ("any"): the real tool or the answer's schema.
    for request in fake.requests:
        assert [o["properties"]["name"]["enum"] for o in request["format"]["anyOf"]] == [
            ["get_weather"],
            ["Weather"],
        ]


@MODES
async def test_provider_strategy_sends_the_schema_as_format(asynchronous: bool) -> None:
    # ProviderStrategy binds an OpenAI-style response_format; the adapter sends its schema as format.
    llm, fake = scripted_chat(
        [calls(("get_weather", {"city": "Paris"})), '{"city": "Paris", "sky": "sunny"}']
    )
    agent = create_agent(llm, [get_weather], response_format=ProviderStrategy(Weather))
    result = await run(agent, user("Weather in Paris?"), asynchronous)

    assert result["structured_response"] == Weather(city="Paris", sky="sunny")
    assert fake.requests[-1]["format"]["required"] == ["city", "sky"]
    assert fake.requests[-1]["format"]["properties"].keys() == {"city", "sky"}


@MODES
async def test_a_bare_schema_becomes_the_structured_response(asynchronous: bool) -> None:
    llm, _ = scripted_chat([calls(("Weather", {"city": "Oslo", "sky": "snow"}))])
    result = await run(create_agent(llm, [get_weather], response_format=Weather), user("Oslo?"), asynchronous)
    assert result["structured_response"] == Weather(city="Oslo", sky="snow")


# -- streaming --------------------------------------------------------------------------------------


def _script() -> list[str | Message]:
    return [calls(("get_weather", {"city": "Paris"})), "It is sunny in Paris today."]


def _check_streamed(tokens: list[tuple[AIMessageChunk, dict[str, Any]]], fake: ScriptedProvider) -> None:
    model_chunks = [chunk for chunk, meta in tokens if meta["langgraph_node"] == "model"]
    streamed_calls = [c for chunk in model_chunks for c in chunk.tool_call_chunks]
    assert [(c["name"], json.loads(c["args"] or "{}")) for c in streamed_calls] == [
        ("get_weather", {"city": "Paris"})
    ]
    text = "".join(str(chunk.content) for chunk in model_chunks)
    assert text == "It is sunny in Paris today."
    assert sum(1 for chunk in model_chunks if chunk.content) > 1  # token by token, not one piece
    assert len(fake.requests) == 2 and all(r["stream"] for r in fake.requests)


def test_create_agent_streams_tokens() -> None:
    llm, fake = scripted_chat(_script())
    agent = create_agent(llm, [get_weather])
    _check_streamed(list(agent.stream(user(), stream_mode="messages")), fake)


async def test_create_agent_streams_tokens_async() -> None:
    llm, fake = scripted_chat(_script())
    agent = create_agent(llm, [get_weather])
    _check_streamed([item async for item in agent.astream(user(), stream_mode="messages")], fake)


@MODES
async def test_create_agent_streams_its_steps(asynchronous: bool) -> None:
    llm, _ = scripted_chat(_script())
    agent = create_agent(llm, [get_weather])
    if asynchronous:
        updates = [u async for u in agent.astream(user(), stream_mode="updates")]
    else:
        updates = list(agent.stream(user(), stream_mode="updates"))
    assert [next(iter(update)) for update in updates] == ["model", "tools", "model"]


# -- a hand-built LangGraph graph -------------------------------------------------------------------


def _graph(llm: ChatOllama) -> Any:
    bound = llm.bind_tools([get_weather, get_time])

    def call_model(state: MessagesState) -> dict[str, list[BaseMessage]]:
        return {"messages": [bound.invoke(state["messages"])]}

    async def acall_model(state: MessagesState) -> dict[str, list[BaseMessage]]:
        return {"messages": [await bound.ainvoke(state["messages"])]}

    graph = StateGraph(MessagesState)
    graph.add_node("model", RunnableLambda(call_model, afunc=acall_model))
    graph.add_node("tools", ToolNode([get_weather, get_time]))
    graph.add_edge(START, "model")
    graph.add_conditional_edges("model", tools_condition)
    graph.add_edge("tools", "model")
    return graph.compile()


@MODES
async def test_a_langgraph_tool_loop(asynchronous: bool) -> None:
    llm, fake = scripted_chat(
        [calls(("get_weather", {"city": "Paris"}), ("get_time", {"city": "Paris"})), "Sunny, noon."]
    )
    result = await run(_graph(llm), user("Weather and time in Paris?"), asynchronous)

    assert result["messages"][-1].content == "Sunny, noon."
    assert [m["tool_call_id"] for m in tool_messages(fake.requests[1])] == ["call_0", "call_1"]


def test_a_langgraph_tool_loop_streams_tokens() -> None:
    llm, fake = scripted_chat(_script())
    _check_streamed(list(_graph(llm).stream(user(), stream_mode="messages")), fake)


async def test_a_langgraph_tool_loop_streams_tokens_async() -> None:
    llm, fake = scripted_chat(_script())
    _check_streamed([item async for item in _graph(llm).astream(user(), stream_mode="messages")], fake)


# -- on the recorded tool round trip ------------------------------------------------------------------


def _recorded_round_trip(recording: Cassette) -> tuple[dict[str, Any], dict[str, Any]]:
    """The recorded tool call (first answer) and the recorded second request."""
    recording.require("/api/chat", nth=1)  # a re-recording that stopped after the call cannot replay it
    first, second = recording.all("/api/chat")
    return first.json["message"]["tool_calls"][0], second.request


class FirstStepOnTheToolsModel(AgentMiddleware):
    """What the recording did: the first step on a tools model steered by a JSON-schema ``format``,
    later steps on the plain model; one non-streamed request per step."""

    def __init__(self, tools_model: ChatOllama) -> None:
        super().__init__()
        self.tools_model = tools_model

    def _adjust(self, request: ModelRequest) -> ModelRequest:
        if any(isinstance(m, ToolMessage) for m in request.messages):
            return request.override(model_settings={"stream": False})
        return request.override(
            model=self.tools_model, model_settings={"stream": False, "format": ONE_CALL_FORMAT}
        )

    def wrap_model_call(self, request: ModelRequest, handler: Callable[[ModelRequest], Any]) -> Any:
        return handler(self._adjust(request))

    async def awrap_model_call(self, request: ModelRequest, handler: Callable[[ModelRequest], Any]) -> Any:
        return await handler(self._adjust(request))


@MODES
@pytest.mark.vcr("api/chat_tool_roundtrip.yaml", record_mode="none")
async def test_create_agent_replays_the_recorded_round_trip(asynchronous: bool, recording: Cassette) -> None:
    recorded_call, second_request = _recorded_round_trip(recording)
    recorded_result = tool_messages(second_request)[0]["content"]
    seen: list[dict[str, Any]] = []

    @tool("get_weather", description=WEATHER_TOOL["function"]["description"],
          args_schema=WEATHER_TOOL["function"]["parameters"])  # fmt: skip
    def recorded_weather(city: str) -> str:
        seen.append({"city": city})
        return recorded_result

    url = "http://recorded.invalid:11434"  # vcrpy answers; nothing listens there
    settings: dict[str, Any] = {"base_url": url, "temperature": 0, "seed": 42, "max_retries": 0}
    agent = create_agent(
        ChatOllama(model="smollm2:135m", num_predict=40, **settings),
        [recorded_weather],
        middleware=[
            FirstStepOnTheToolsModel(ChatOllama(model="smollm2-tools:135m", num_predict=60, **settings))
        ],
    )
    result = await run(agent, user("What is the weather in Paris?"), asynchronous)

    assert seen == [recorded_call["function"]["arguments"]]
    call = result["messages"][1]
    assert isinstance(call, AIMessage) and call.tool_calls[0]["id"] == recorded_call["id"]
    final = result["messages"][-1]
    assert isinstance(final, AIMessage) and not final.tool_calls
    assert final.content  # the plain model's text answer ends the loop
    assert final.response_metadata["done_reason"] in ("stop", "length")
