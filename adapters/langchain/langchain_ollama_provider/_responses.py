"""The core's chat chunks -> LangChain ``ChatGenerationChunk`` objects.

One :class:`ChatChunkTranslator` per request keeps the little state a stream needs: the tool-call
indices already used, and (when a tool is forced through ``format``) the JSON text that will become
the tool call. Everything else is a direct mapping:

* ``message.content`` -> chunk content; ``message.thinking`` -> ``additional_kwargs["reasoning_content"]``
  (so ``content_blocks`` shows a reasoning block), also on thinking-only chunks;
* ``message.tool_calls`` -> ``tool_call_chunks`` with the server's ids and an ``index``;
* the final chunk (``done``) -> ``usage_metadata`` and the response metadata (model, finish reason,
  durations, timings in seconds), marked ``chunk_position="last"``.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, NamedTuple, cast
from uuid import uuid4

from langchain_core.messages import AIMessageChunk
from langchain_core.messages.ai import UsageMetadata
from langchain_core.messages.tool import ToolCallChunk, tool_call_chunk
from langchain_core.outputs import ChatGenerationChunk

from ollama_provider import ChatResponse, ToolCall
from ollama_provider.integrations import ForcedCallAnswer

from ._fast_chunks import text_chunk

PROVIDER = "ollama"


def new_tool_call_id() -> str:
    """An id for a tool call the server did not name (same shape as Ollama's ``call_xxxxxxxx``)."""
    return f"call_{uuid4().hex[:12]}"


def usage_metadata(response: Any) -> UsageMetadata:
    usage = response.usage
    counts = {
        "input_tokens": usage.prompt_tokens,
        "output_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }
    return cast(UsageMetadata, counts)


def final_metadata(response: Any) -> dict[str, Any]:
    """What the last chunk of an answer says about it (``response_metadata`` / ``generation_info``)."""
    timings = response.timings
    return {
        "model": response.model,
        "model_name": response.model,
        "model_provider": PROVIDER,
        "created_at": response.created_at,
        "done": response.done,
        "done_reason": response.done_reason,
        "finish_reason": response.finish_reason,
        "total_duration": response.total_duration,
        "load_duration": response.load_duration,
        "prompt_eval_count": response.prompt_eval_count,
        "prompt_eval_duration": response.prompt_eval_duration,
        "eval_count": response.eval_count,
        "eval_duration": response.eval_duration,
        "timings": {
            "total": timings.total,
            "load": timings.load,
            "prompt_eval": timings.prompt_eval,
            "eval": timings.eval,
            "tokens_per_second": timings.tokens_per_second,
        },
    }


def is_load_only(response: ChatResponse) -> bool:
    """Ollama's answer to a chat with no messages: it loads the model and says nothing
    (``done_reason: "load"``, empty content). ``langchain-ollama`` skips such a chunk, so an answer
    made of nothing else is "No data received" (a ``ValueError``) instead of an empty message."""
    if not response.done or response.done_reason != "load":
        return False
    message = response.message
    return not (message.content or "").strip() and not message.tool_calls and not message.thinking


def logprob_dicts(logprobs: Any) -> list[dict[str, Any]] | None:
    return [dataclasses.asdict(item) for item in logprobs] if logprobs else None


class ChunkParts(NamedTuple):
    """One chunk of an answer in LangChain's terms, before any LangChain object is built."""

    content: str
    additional_kwargs: dict[str, Any]
    tool_call_chunks: list[ToolCallChunk]
    generation_info: dict[str, Any] | None
    usage: UsageMetadata | None
    """Set on the last chunk (``done``) only."""


def chunk_from_parts(parts: ChunkParts) -> ChatGenerationChunk:
    """The ``ChatGenerationChunk`` for :meth:`ChatChunkTranslator.parts` (what ``_stream`` yields)."""
    content, additional, tool_chunks, info, usage = parts
    if usage is None and not tool_chunks:
        return text_chunk(content, additional, info)  # the common case: skips re-validation
    return ChatGenerationChunk(
        message=AIMessageChunk(
            content=content,
            additional_kwargs=additional,
            tool_call_chunks=tool_chunks,
            usage_metadata=usage,
            chunk_position="last" if usage is not None else None,
        ),
        generation_info=info,
    )


class ChatChunkTranslator:
    """Translate the chunks of one chat answer, in order.

    ``forced_tools``: names of the tools a JSON-schema ``format`` forces. The core's
    :class:`~ollama_provider.integrations.ForcedCallAnswer` holds such an answer's content back (it
    is the JSON of the call, not prose) and makes it the tool call at the end, unless the server
    returned real ``tool_calls``.
    """

    def __init__(self, forced_tools: list[str] | None = None) -> None:
        self._forced = ForcedCallAnswer(forced_tools) if forced_tools else None
        self._used_indices: set[int] = set()

    def translate(self, response: ChatResponse) -> ChatGenerationChunk:
        return chunk_from_parts(self.parts(response))

    def parts(self, response: ChatResponse) -> ChunkParts:
        """What the next chunk says, before any LangChain object is built from it."""
        if self._forced is not None:
            response = self._forced.chunk(response)
        message = response.message
        content = message.content or ""
        tool_chunks = [self._tool_chunk(call) for call in message.tool_calls or []]
        additional: dict[str, Any] = {}
        if message.thinking:
            additional["reasoning_content"] = message.thinking
        info: dict[str, Any] | None = None
        logprobs = logprob_dicts(response.logprobs)
        if logprobs is not None:
            info = {"logprobs": logprobs}
        if not response.done:
            return ChunkParts(content, additional, tool_chunks, info, None)
        info = {**final_metadata(response), **(info or {})}
        return ChunkParts(content, additional, tool_chunks, info, usage_metadata(response))

    def _next_index(self, wanted: int | None) -> int:
        index = wanted if wanted is not None and wanted not in self._used_indices else None
        if index is None:
            index = max(self._used_indices, default=-1) + 1
        self._used_indices.add(index)
        return index

    def _tool_chunk(self, call: ToolCall) -> ToolCallChunk:
        return tool_call_chunk(
            name=call.function.name,
            args=json.dumps(call.function.arguments, ensure_ascii=False),
            id=call.id or new_tool_call_id(),
            index=self._next_index(call.function.index),
        )
