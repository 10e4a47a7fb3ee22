"""Tools and ``tool_choice``: what Ollama has no native switch for is emulated here.

Ollama's chat API takes tools but no ``tool_choice``. So:

* ``None`` / ``"auto"``: the tools are offered; the model decides.
* ``"none"`` / ``False``: no tools are sent at all.
* a tool name, ``{"type": "function", "function": {"name": ...}}``, or ``"any"`` / ``"required"`` /
  ``True`` with a single bound tool: that tool is *forced*. The request keeps the tools and adds
  a JSON-schema ``format`` that only admits ``{"name": <that tool>, "arguments": <its parameters>}``,
  so even a model that would answer in prose has to produce the call. If the server then returns
  no ``tool_calls`` (templates without tool support), the JSON answer becomes the tool call.
* ``"any"`` with several tools: the format admits any one of them (``anyOf``).

>>> tool = {"type": "function", "function": {"name": "get_weather", "parameters": {
...     "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
>>> forced_format([tool], "get_weather")["properties"]["name"]
{'type': 'string', 'enum': ['get_weather']}
>>> forced_format([tool], "auto") is None
True
>>> json_tool_call('{"name": "get_weather", "arguments": {"city": "Oslo"}}', ["get_weather"])
('get_weather', {'city': 'Oslo'})
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from langchain_core.utils.function_calling import convert_to_openai_tool

ToolChoice = str | bool | dict[str, Any] | None
_FORCE_ANY = ("any", "required")


def to_ollama_tool(tool: Any) -> dict[str, Any]:
    """Any LangChain tool-like object (BaseTool, function, pydantic, TypedDict, dict) -> a tool dict."""
    return convert_to_openai_tool(tool)


def tool_name(tool: dict[str, Any]) -> str:
    return str(tool["function"]["name"])


def _tool_params(tool: dict[str, Any]) -> dict[str, Any]:
    params = tool["function"].get("parameters") or {"type": "object", "properties": {}}
    return dict(params)


def _call_schema(tool: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "name": {"type": "string", "enum": [tool_name(tool)]},
            "arguments": _tool_params(tool),
        },
        "required": ["name", "arguments"],
    }


def chosen_tools(tools: Sequence[dict[str, Any]], tool_choice: ToolChoice) -> list[dict[str, Any]] | None:
    """The tools to force, ``[]`` for "send no tools", ``None`` for "let the model decide"."""
    if tool_choice is None or tool_choice == "auto":
        return None
    if tool_choice is False or tool_choice == "none":
        return []
    if tool_choice is True or tool_choice in _FORCE_ANY:
        if not tools:
            raise ValueError(f"tool_choice={tool_choice!r} needs at least one bound tool")
        return list(tools)
    if isinstance(tool_choice, dict):
        function = tool_choice.get("function", tool_choice)
        name = function.get("name") if isinstance(function, dict) else None
        if not isinstance(name, str):
            raise ValueError(f"unsupported tool_choice {tool_choice!r}")
        tool_choice = name
    if isinstance(tool_choice, str):
        matches = [tool for tool in tools if tool_name(tool) == tool_choice]
        if not matches:
            names = [tool_name(tool) for tool in tools]
            raise ValueError(f"tool_choice {tool_choice!r} is not one of the bound tools {names}")
        return matches
    raise ValueError(f"unsupported tool_choice {tool_choice!r}")


def forced_format(tools: Sequence[dict[str, Any]], tool_choice: ToolChoice) -> dict[str, Any] | None:
    """The JSON-schema ``format`` forcing the chosen tool(s), or ``None`` when nothing is forced."""
    chosen = chosen_tools(tools, tool_choice)
    if not chosen:
        return None
    if len(chosen) == 1:
        return _call_schema(chosen[0])
    return {"anyOf": [_call_schema(tool) for tool in chosen]}


def json_tool_call(text: str, allowed: Sequence[str]) -> tuple[str, dict[str, Any]] | None:
    """``(name, arguments)`` from a forced JSON answer, ``None`` if the text is not such a call."""
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return None
    if not isinstance(value, dict):
        return None
    name, arguments = value.get("name"), value.get("arguments", {})
    if name not in allowed or not isinstance(arguments, dict):
        return None
    return str(name), arguments
