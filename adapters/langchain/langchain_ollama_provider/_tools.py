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

>>> tool = to_ollama_tool({"type": "function", "function": {"name": "get_weather", "parameters": {
...     "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}})
>>> forcing_format(chosen_tools([tool], "get_weather"))["properties"]["name"]
{'type': 'string', 'enum': ['get_weather']}
>>> chosen_tools([tool], "auto") is None
True

Choosing the tools, the format and the reading of a call answered as text are the core's
(``ollama_provider.integrations``), shared with the LlamaIndex adapter.
"""

from __future__ import annotations

from typing import Any

from langchain_core.utils.function_calling import convert_to_openai_tool

from ollama_provider.integrations import ToolChoice, chosen_tools, forcing_format

__all__ = ["ToolChoice", "chosen_tools", "forcing_format", "to_ollama_tool"]


def to_ollama_tool(tool: Any) -> dict[str, Any]:
    """Any LangChain tool-like object (BaseTool, function, pydantic, TypedDict, dict) -> a tool dict."""
    return convert_to_openai_tool(tool)
