"""LangChain messages -> the core's chat message dicts.

Text parts are joined, images (data URLs, base64, standard content blocks) become the message's
``images``, assistant tool calls keep their ids, tool results carry ``tool_call_id`` and the
name of the tool they answer (``tool_name``, which chat templates read).

>>> from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
>>> call = {"name": "get_weather", "args": {"city": "Paris"}, "id": "call_1"}
>>> to_ollama_messages([
...     HumanMessage("Weather in Paris?"),
...     AIMessage("", tool_calls=[call]),
...     ToolMessage("sunny", tool_call_id="call_1"),
... ])[1:]  # doctest: +NORMALIZE_WHITESPACE
[{'role': 'assistant', 'content': '',
  'tool_calls': [{'function': {'name': 'get_weather', 'arguments': {'city': 'Paris'}}, 'id': 'call_1'}]},
 {'role': 'tool', 'content': 'sunny', 'tool_call_id': 'call_1', 'tool_name': 'get_weather'}]
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

_ROLES: dict[type[BaseMessage], str] = {
    HumanMessage: "user",
    SystemMessage: "system",
    AIMessage: "assistant",
    ToolMessage: "tool",
}


def to_ollama_messages(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    """Translate a LangChain conversation into the message dicts the core sends."""
    tool_names: dict[str, str] = {}  # tool_call_id -> tool name, from earlier assistant turns
    out: list[dict[str, Any]] = []
    for message in messages:
        text, images = _split_content(message.content)
        entry: dict[str, Any] = {"role": _role(message), "content": text}
        if images:
            entry["images"] = images
        if isinstance(message, AIMessage):
            calls = [_tool_call(call) for call in message.tool_calls]
            if calls:
                entry["tool_calls"] = calls
                tool_names.update((c["id"], c["function"]["name"]) for c in calls if c.get("id"))
            thinking = message.additional_kwargs.get("reasoning_content")
            if isinstance(thinking, str):  # "" too, as langchain-ollama sends it back
                entry["thinking"] = thinking
        elif isinstance(message, ToolMessage):
            entry["tool_call_id"] = message.tool_call_id
            name = message.name or tool_names.get(message.tool_call_id)
            if name:
                entry["tool_name"] = name
        elif isinstance(message, FunctionMessage):
            entry["tool_name"] = message.name
        out.append(entry)
    return out


def _role(message: BaseMessage) -> str:
    if isinstance(message, ChatMessage):
        return message.role
    if isinstance(message, FunctionMessage):
        return "tool"
    for cls, role in _ROLES.items():
        if isinstance(message, cls):
            return role
    raise TypeError(f"unsupported message type for Ollama: {type(message).__name__}")


def _tool_call(call: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"function": {"name": call["name"], "arguments": dict(call.get("args") or {})}}
    if call.get("id"):
        out["id"] = call["id"]
    return out


def _split_content(content: str | list[Any]) -> tuple[str, list[str]]:
    """The text of a message and its images (anything the core's image encoder accepts)."""
    if isinstance(content, str):
        return content, []
    texts: list[str] = []
    images: list[str] = []
    for part in content:
        if isinstance(part, str):
            texts.append(part)
            continue
        kind = part.get("type")
        if kind == "text":
            texts.append(str(part.get("text", "")))
        elif kind == "image_url":
            url = part.get("image_url")
            images.append(_inline_image(url.get("url") if isinstance(url, dict) else url))
        elif kind == "image":
            images.append(_image_block(part))
        elif kind in ("tool_use", "tool_call", "reasoning", "thinking"):
            continue  # carried by tool_calls / reasoning_content, not by the text
        elif kind == "json":
            texts.append(json.dumps(part.get("json")))
        else:
            raise ValueError(
                f"Ollama messages take text and images; content part of type {kind!r} is not supported"
            )
    return "\n".join(texts), images


def _image_block(block: dict[str, Any]) -> str:
    """A standard image content block (v1 ``base64``/``url`` or v0 ``source_type``/``data``)."""
    data = block.get("base64") or (block.get("data") if block.get("source_type") == "base64" else None)
    if isinstance(data, str):
        return data
    url = block.get("url") or (block.get("data") if block.get("source_type") == "url" else None)
    if isinstance(url, str):
        return _inline_image(url)
    raise ValueError("Ollama needs images inline: give base64 data or a data: URL (no file ids)")


def _inline_image(url: Any) -> str:
    if not isinstance(url, str) or not url:
        raise ValueError("an image_url part needs a string URL (a data: URL or base64 data)")
    if url.startswith(("http://", "https://")):
        raise ValueError(
            "Ollama does not fetch image URLs: download the image and pass base64 data or a data: URL"
        )
    return url  # data URL or base64: the core strips the data: prefix and validates the base64
