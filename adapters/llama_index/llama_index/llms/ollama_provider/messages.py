"""LlamaIndex ``ChatMessage`` -> the message dicts the core sends to ``/api/chat``.

Text blocks are concatenated as the official ``llama-index-llms-ollama`` does, so the same inputs
produce the same request (and replay against recordings of the official integration).

>>> from llama_index.core.base.llms.types import ChatMessage, ThinkingBlock, TextBlock
>>> answer = ChatMessage(role="assistant", blocks=[ThinkingBlock(content="2+2"), TextBlock(text="4")])
>>> to_ollama_messages([answer])
[{'role': 'assistant', 'content': '4', 'thinking': '2+2'}]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from llama_index.core.base.llms.types import (
    CachePoint,
    ChatMessage,
    ImageBlock,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)

# Ollama knows four roles; LlamaIndex has a few aliases of them.
_ROLES: dict[str, str] = {
    MessageRole.SYSTEM.value: "system",
    MessageRole.DEVELOPER.value: "system",
    MessageRole.USER.value: "user",
    MessageRole.ASSISTANT.value: "assistant",
    MessageRole.CHATBOT.value: "assistant",
    MessageRole.MODEL.value: "assistant",
    MessageRole.TOOL.value: "tool",
    MessageRole.FUNCTION.value: "tool",
}


def to_ollama_messages(messages: Sequence[ChatMessage]) -> list[dict[str, Any]]:
    """Convert a chat history. Tool results get ``tool_call_id`` and ``tool_name`` when known.

    The tool name of a result is taken from ``additional_kwargs`` (``tool_name`` or ``name``), else
    from the assistant tool call with the same id earlier in the history.
    """
    names_by_call_id: dict[str, str] = {}
    converted: list[dict[str, Any]] = []
    for message in messages:
        out = _convert(message)
        for call in out.get("tool_calls", []):
            if call.get("id"):
                names_by_call_id[call["id"]] = call["function"]["name"]
        if out["role"] == "tool":
            _add_tool_result_ids(out, message.additional_kwargs, names_by_call_id)
        converted.append(out)
    return converted


def _convert(message: ChatMessage) -> dict[str, Any]:
    role = _ROLES.get(message.role.value, message.role.value)
    out: dict[str, Any] = {"role": role, "content": ""}
    images: list[str] = []
    tool_calls: list[dict[str, Any]] = []
    for block in message.blocks:
        if isinstance(block, TextBlock):
            out["content"] += block.text
        elif isinstance(block, ImageBlock):
            images.append(block.resolve_image(as_base64=True).read().decode("ascii"))
        elif isinstance(block, ThinkingBlock):
            if block.content:
                out["thinking"] = out.get("thinking", "") + block.content
        elif isinstance(block, ToolCallBlock):
            tool_calls.append(_tool_call(block))
        elif isinstance(block, CachePoint):
            continue  # a prompt-caching hint for other providers; Ollama caches on its own
        else:
            raise ValueError(
                f"Ollama cannot take a {type(block).__name__} in a chat message "
                "(supported: text, image, thinking and tool-call blocks)"
            )
    if images:
        out["images"] = images
    # Histories written by older LlamaIndex code keep tool calls in additional_kwargs.
    legacy = message.additional_kwargs.get("tool_calls")
    if not tool_calls and legacy:
        tool_calls = [_legacy_tool_call(call) for call in legacy]
    if tool_calls:
        out["tool_calls"] = tool_calls
    return out


def _tool_call(block: ToolCallBlock) -> dict[str, Any]:
    call: dict[str, Any] = {"function": {"name": block.tool_name, "arguments": block.tool_kwargs}}
    if block.tool_call_id:
        call["id"] = block.tool_call_id
    return call


def _legacy_tool_call(call: Any) -> dict[str, Any]:
    if isinstance(call, Mapping):
        return dict(call)
    dump = getattr(call, "model_dump", None)  # e.g. ollama / openai client objects
    if callable(dump):
        return dict(dump(exclude_none=True))
    raise ValueError(f"cannot read a tool call of type {type(call).__name__} from additional_kwargs")


def _add_tool_result_ids(
    out: dict[str, Any], extra: Mapping[str, Any], names_by_call_id: Mapping[str, str]
) -> None:
    call_id = extra.get("tool_call_id")
    if call_id:
        out["tool_call_id"] = str(call_id)
    name = (
        extra.get("tool_name")
        or extra.get("name")
        or (names_by_call_id.get(str(call_id)) if call_id else None)
    )
    if name:
        out["tool_name"] = str(name)
