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
from ollama_provider import TokenLogprob, ToolCall


def tool_call_block(call: ToolCall) -> ToolCallBlock:
    return ToolCallBlock(
        tool_call_id=call.id, tool_name=call.function.name, tool_kwargs=dict(call.function.arguments)
    )


def raw_dict(response: CoreChatResponse) -> dict[str, Any]:
    """The response as a dict (wire field names), plus ``usage`` once the answer is done."""
    raw = dataclasses.asdict(response)
    if response.done:
        usage = response.usage
        raw["usage"] = {
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "total_tokens": usage.total_tokens,
        }
    return raw


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


def _blocks(content: str, thinking: str | None, tool_calls: list[ToolCallBlock]) -> list[ContentBlock]:
    blocks: list[ContentBlock] = [ThinkingBlock(content=thinking)] if thinking else []
    blocks.append(TextBlock(text=content))
    blocks.extend(tool_calls)
    return blocks


def to_chat_response(response: CoreChatResponse) -> ChatResponse:
    """A whole (non-streamed) answer."""
    message = response.message
    calls = [tool_call_block(call) for call in message.tool_calls or []]
    return ChatResponse(
        message=ChatMessage(
            role=MessageRole.ASSISTANT, blocks=_blocks(message.content or "", message.thinking, calls)
        ),
        raw=raw_dict(response),
        logprobs=to_logprobs(response.logprobs),
    )


class StreamAccumulator:
    """Turns stream chunks into cumulative LlamaIndex responses, one per chunk.

    Every chunk is passed on, including thinking-only and tool-call-only chunks (``delta == ""``):
    ``additional_kwargs["thinking_delta"]`` carries the new thinking text, as in the official integration.
    """

    def __init__(self) -> None:
        self.content = ""
        self.thinking = ""
        self.tool_calls: list[ToolCallBlock] = []
        self.logprobs: list[list[LogProb]] = []

    def add(self, chunk: CoreChatResponse) -> ChatResponse:
        message = chunk.message
        delta = message.content or ""
        self.content += delta
        self.thinking += message.thinking or ""
        self.tool_calls.extend(tool_call_block(call) for call in message.tool_calls or [])
        self.logprobs.extend(to_logprobs(chunk.logprobs) or [])
        return ChatResponse(
            message=ChatMessage(
                role=MessageRole.ASSISTANT,
                blocks=_blocks(self.content, self.thinking, list(self.tool_calls)),
            ),
            delta=delta,
            raw=raw_dict(chunk),
            logprobs=list(self.logprobs) or None,
            additional_kwargs={"thinking_delta": message.thinking or None},
        )
