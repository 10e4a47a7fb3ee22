"""Forcing a tool call: Ollama's chat API has tools but no ``tool_choice``, so a call is forced with a
JSON-schema ``format`` that only admits ``{"name": <a chosen tool>, "arguments": <its parameters>}``.

Pure functions and response rewriting shared by the adapters (LangChain's ``tool_choice``,
LlamaIndex's ``tool_choice`` / ``tool_required``), so both frameworks force calls the same way.
A model whose chat template has a tool parser answers such a request with real ``tool_calls``; one
without answers the JSON as text, which :class:`ForcedCallAnswer` turns into the call.

>>> tool = {"type": "function", "function": {"name": "get_weather", "parameters": {
...     "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
>>> forcing_format([tool])["properties"]["name"]
{'type': 'string', 'enum': ['get_weather']}
>>> parse_forced_call('{"name": "get_weather", "arguments": {"city": "Oslo"}}', ["get_weather"])
('get_weather', {'city': 'Oslo'})
>>> parse_forced_call("It is sunny.", ["get_weather"]) is None
True
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import orjson

from .errors import InvalidRequestError
from .types import ChatResponse, ToolCall, ToolCallFunction

__all__ = [
    "ForcedCallAnswer",
    "ToolChoice",
    "chosen_tools",
    "forcing_format",
    "new_call_id",
    "parse_forced_call",
    "tool_names",
]

#: ``None`` / ``"auto"``: the model decides; ``"none"`` / ``False``: no tools; ``"any"`` /
#: ``"required"`` / ``True``: one of the tools; a name or ``{"type": "function", "function":
#: {"name": ...}}``: that tool.
ToolChoice = str | bool | Mapping[str, Any] | None
_FORCE_ANY = ("any", "required")
Tool = Mapping[str, Any]


def tool_names(tools: Sequence[Tool]) -> list[str]:
    """The names of OpenAI-style tool dicts (``{"type": "function", "function": {"name": ...}}``)."""
    return [str(tool["function"]["name"]) for tool in tools]


def chosen_tools(tools: Sequence[Tool], tool_choice: ToolChoice) -> list[Tool] | None:
    """The tools to force, ``[]`` for "send no tools", ``None`` for "let the model decide".

    >>> weather = {"type": "function", "function": {"name": "get_weather"}}
    >>> chosen_tools([weather], "required") == [weather], chosen_tools([weather], "none")
    (True, [])
    >>> chosen_tools([weather], "get_time")
    Traceback (most recent call last):
    ...
    ollama_provider.errors.InvalidRequestError: tool_choice 'get_time' is not one of the tools ['get_weather']
    """
    if tool_choice is None or tool_choice == "auto":
        return None
    if tool_choice is False or tool_choice == "none":
        return []
    if tool_choice is True or tool_choice in _FORCE_ANY:
        if not tools:
            raise InvalidRequestError(f"tool_choice={tool_choice!r} needs at least one tool")
        return list(tools)
    if isinstance(tool_choice, Mapping):
        function = tool_choice.get("function", tool_choice)
        name = function.get("name") if isinstance(function, Mapping) else None
        if not isinstance(name, str):
            raise InvalidRequestError(f"unsupported tool_choice {tool_choice!r}")
        tool_choice = name
    if isinstance(tool_choice, str):
        matches = [tool for tool in tools if tool["function"]["name"] == tool_choice]
        if not matches:
            raise InvalidRequestError(
                f"tool_choice {tool_choice!r} is not one of the tools {tool_names(tools)}"
            )
        return matches
    raise InvalidRequestError(f"unsupported tool_choice {tool_choice!r}")


def _call_schema(tool: Tool) -> dict[str, Any]:
    function = tool["function"]
    parameters = function.get("parameters") or {"type": "object", "properties": {}}
    return {
        "type": "object",
        "properties": {
            "name": {"type": "string", "enum": [str(function["name"])]},
            "arguments": dict(parameters),
        },
        "required": ["name", "arguments"],
    }


def forcing_format(tools: Sequence[Tool]) -> dict[str, Any]:
    """The ``format`` admitting exactly one call of one of ``tools`` (``anyOf`` for several)."""
    if not tools:
        raise InvalidRequestError("forcing a tool call needs at least one tool")
    if len(tools) == 1:
        return _call_schema(tools[0])
    return {"anyOf": [_call_schema(tool) for tool in tools]}


def parse_forced_call(text: str, allowed: Sequence[str]) -> tuple[str, dict[str, Any]] | None:
    """``(name, arguments)`` from a forced answer given as text, ``None`` if it is not such a call."""
    try:
        value = orjson.loads(text)
    except (TypeError, orjson.JSONDecodeError):
        return None
    if not isinstance(value, dict):
        return None
    name, arguments = value.get("name"), value.get("arguments", {})
    if name not in allowed or not isinstance(arguments, dict):
        return None
    return str(name), arguments


def new_call_id() -> str:
    """A call id shaped like the server's (``call_`` and 8 characters)."""
    return "call_" + secrets.token_hex(4)


class ForcedCallAnswer:
    """Rewrites the answer to a forced request so that a call given as JSON text is a tool call.

    For a stream, feed every chunk to :meth:`chunk` in order: while no real ``tool_calls`` came,
    content is held back (it is the call's JSON, not prose), and the final chunk carries the call, or
    the held text if it is not one (nothing the model said is lost). :meth:`whole` does the same for
    a non-streamed answer. Responses are copied, never changed in place.

    >>> from ollama_provider import Message
    >>> forced = ForcedCallAnswer(["get_weather"])
    >>> parts = ['{"name": "get_weather", ', '"arguments": {"city": "Oslo"}}']
    >>> chunks = [forced.chunk(ChatResponse(message=Message("assistant", p))) for p in parts]
    >>> final = forced.chunk(ChatResponse(message=Message("assistant", ""), done=True))
    >>> [c.message.content for c in chunks], final.message.tool_calls[0].function.arguments
    (['', ''], {'city': 'Oslo'})
    """

    def __init__(self, allowed: Sequence[str]) -> None:
        self.allowed = list(allowed)
        self._held: list[str] = []
        self._native = False

    def whole(self, response: ChatResponse) -> ChatResponse:
        if response.message.tool_calls:
            return response
        return self._as_call(response, response.message.content or "")

    def chunk(self, response: ChatResponse) -> ChatResponse:
        message = response.message
        if message.tool_calls:
            self._native = True
        if self._native:
            if not self._held:
                return response
            held, self._held = "".join(self._held), []
            return replace(response, message=replace(message, content=held + (message.content or "")))
        self._held.append(message.content or "")
        if not response.done:
            return replace(response, message=replace(message, content=""))
        held, self._held = "".join(self._held), []
        return self._as_call(response, held)

    def _as_call(self, response: ChatResponse, text: str) -> ChatResponse:
        parsed = parse_forced_call(text, self.allowed)
        if parsed is None:
            return replace(response, message=replace(response.message, content=text))
        name, arguments = parsed
        call = ToolCall(ToolCallFunction(name, arguments, 0), new_call_id())
        finished = replace(response, message=replace(response.message, content="", tool_calls=[call]))
        if finished.done:
            finished.finish_reason = "tool_calls"
        return finished
