"""Core ``ChatResponse`` (answers and stream chunks) -> LlamaIndex ``ChatResponse``.

Thinking becomes a ``ThinkingBlock`` before the text, tool calls become ``ToolCallBlock`` s after it
(the server's call ids kept; identical parallel calls are all kept). ``raw`` is a plain dict of the
core response with a ``usage`` entry on the final chunk, which is what LlamaIndex's token counter reads.

>>> from ollama_provider import ChatResponse as CoreResponse, Message
>>> answer = CoreResponse(message=Message("assistant", "4", thinking="2+2"), done=True, eval_count=1)
>>> [type(b).__name__ for b in to_chat_response(answer).message.blocks]
['ThinkingBlock', 'TextBlock']
>>> to_chat_response(answer).raw["usage"]
{'prompt_tokens': 0, 'completion_tokens': 1, 'total_tokens': 1}
"""

from __future__ import annotations

import dataclasses
from typing import Any

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ContentBlock,
    LogProb,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)

from ollama_provider import ChatResponse as CoreChatResponse
from ollama_provider import Message, TokenLogprob, ToolCall

from .prebuilt import build


def tool_call_block(call: ToolCall) -> ToolCallBlock:
    return ToolCallBlock(
        tool_call_id=call.id, tool_name=call.function.name, tool_kwargs=dict(call.function.arguments)
    )


def raw_dict(response: CoreChatResponse) -> dict[str, Any]:
    """The response as a dict (wire field names, nested values as dicts), plus ``usage`` once done.

    Equal to ``dataclasses.asdict(response)`` (a test holds it to that), but written out: ``raw`` is built
    per stream chunk, and ``asdict``'s recursive deep copy cost more than everything else done per chunk.
    """
    r = response
    raw: dict[str, Any] = {
        "total_duration": r.total_duration,
        "load_duration": r.load_duration,
        "prompt_eval_count": r.prompt_eval_count,
        "prompt_eval_duration": r.prompt_eval_duration,
        "eval_count": r.eval_count,
        "eval_duration": r.eval_duration,
        "model": r.model,
        "created_at": r.created_at,
        "message": _message_dict(r.message),
        "done": r.done,
        "done_reason": r.done_reason,
        "finish_reason": r.finish_reason,
        "logprobs": [dataclasses.asdict(token) for token in r.logprobs] if r.logprobs else r.logprobs,
    }
    if r.done:
        usage = r.usage
        raw["usage"] = {
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "total_tokens": usage.total_tokens,
        }
    return raw


def _message_dict(m: Message) -> dict[str, Any]:
    return {
        "role": m.role,
        "content": m.content,
        "thinking": m.thinking,
        "images": list(m.images) if m.images else m.images,
        "tool_calls": [dataclasses.asdict(call) for call in m.tool_calls] if m.tool_calls else m.tool_calls,
        "tool_name": m.tool_name,
        "tool_call_id": m.tool_call_id,
    }


def to_logprobs(tokens: list[TokenLogprob] | None) -> list[list[LogProb]] | None:
    """One list per generated token: its top alternatives when asked for, else the token itself."""
    if not tokens:
        return None
    return [
        [
            LogProb(token=t.token, logprob=t.logprob, bytes=t.bytes or [])
            for t in (token.top_logprobs or [token])
        ]
        for token in tokens
    ]


def _text_block(text: str) -> TextBlock:
    return build(TextBlock, {"block_type": "text", "text": text}, {"text"})


def _thinking_block(thinking: str) -> ThinkingBlock:
    values: dict[str, Any] = {
        "block_type": "thinking",
        "content": thinking,
        "num_tokens": None,
        "additional_information": {},
    }
    return build(ThinkingBlock, values, {"content"})


def _blocks(content: str, thinking: str | None, tool_calls: list[ToolCallBlock]) -> list[ContentBlock]:
    blocks: list[ContentBlock] = [_thinking_block(thinking)] if thinking else []
    blocks.append(_text_block(content))
    if tool_calls:
        blocks.extend(tool_calls)
    return blocks


def _assistant_message(blocks: list[ContentBlock]) -> ChatMessage:
    values = {"role": MessageRole.ASSISTANT, "additional_kwargs": {}, "blocks": blocks}
    return build(ChatMessage, values, {"role", "blocks"})


def to_chat_response(response: CoreChatResponse) -> ChatResponse:
    """A whole (non-streamed) answer."""
    message = response.message
    calls = [tool_call_block(call) for call in message.tool_calls] if message.tool_calls else []
    values = {
        "message": _assistant_message(_blocks(message.content or "", message.thinking, calls)),
        "raw": raw_dict(response),
        "delta": None,
        "logprobs": to_logprobs(response.logprobs),
        "additional_kwargs": {},
    }
    return build(ChatResponse, values, {"message", "raw", "logprobs"})


class StreamAccumulator:
    """Turns stream chunks into cumulative LlamaIndex responses, one per chunk.

    Every chunk is passed on, including thinking-only and tool-call-only chunks (``delta == ""``):
    ``additional_kwargs["thinking_delta"]`` carries the new thinking text, as in the official integration.
    Each response gets its own text so far (LlamaIndex's contract: ``message.content`` is the text so
    far, ``delta`` the new part), but the tool-call blocks, which never change once received, are shared.
    """

    def __init__(self) -> None:
        self.content = ""
        self.thinking = ""
        self.tool_calls: list[ToolCallBlock] = []
        self.logprobs: list[list[LogProb]] = []

    def add(self, chunk: CoreChatResponse) -> ChatResponse:
        message = chunk.message
        delta = message.content or ""
        thinking_delta = message.thinking or None
        if delta:
            self.content += delta
        if thinking_delta:
            self.thinking += thinking_delta
        if message.tool_calls:
            self.tool_calls.extend(tool_call_block(call) for call in message.tool_calls)
        if chunk.logprobs:
            self.logprobs.extend(to_logprobs(chunk.logprobs) or [])
        values = {
            "message": _assistant_message(_blocks(self.content, self.thinking, self.tool_calls)),
            "raw": raw_dict(chunk),
            "delta": delta,
            "logprobs": list(self.logprobs) if self.logprobs else None,
            "additional_kwargs": {"thinking_delta": thinking_delta},
        }
        return build(ChatResponse, values, {"message", "raw", "delta", "logprobs", "additional_kwargs"})
