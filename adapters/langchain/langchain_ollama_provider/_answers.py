"""Sum the chunks of one answer into the ``ChatResult`` of ``invoke``.

``invoke`` streams (as the official integration does), and langchain-core's way to turn a stream
into a result, ``generate_from_stream``, adds the chunks' messages together: every chunk is a
pydantic ``AIMessageChunk`` and the sum re-merges contents, dicts and usage generically. Here the
parts are collected in lists and one message is built at the end. The result equals what
``generate_from_stream`` gives for the same chunks (``tests/langchain/test_fast_paths.py``); that
holds because our chunks are simple: text and thinking are plain strings, each tool call arrives
whole with its own ``index`` (so merging never combines two), only the last chunk has usage, and
the only key of ``generation_info`` that repeats is ``logprobs`` (lists, concatenated).

>>> from langchain_ollama_provider._responses import ChunkParts
>>> answer = ChatAnswer()
>>> answer.add(ChunkParts("Hel", {}, [], None, None))
>>> usage = {"input_tokens": 1, "output_tokens": 2, "total_tokens": 3}
>>> answer.add(ChunkParts("lo", {}, [], {"done": True}, usage))
>>> message = answer.result().generations[0].message
>>> message.content, message.usage_metadata["total_tokens"], message.response_metadata
('Hello', 3, {})
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessageChunk
from langchain_core.messages.ai import UsageMetadata, add_usage
from langchain_core.messages.tool import ToolCallChunk
from langchain_core.messages.utils import message_chunk_to_message
from langchain_core.outputs import ChatGeneration, ChatResult

from ._responses import ChunkParts

_LOGPROBS = "logprobs"
#: langchain-ollama's words for an answer with nothing in it, kept so code matching them still works.
NO_DATA = "No data received from Ollama stream."


class ChatAnswer:
    """The parts of one answer so far; :meth:`result` builds the ``ChatResult``."""

    def __init__(self) -> None:
        self._content: list[str] = []
        self._thinking: list[str] = []
        self._tool_chunks: list[ToolCallChunk] = []
        self._info: dict[str, Any] = {}
        self._usage: UsageMetadata | None = None
        self._chunks = 0

    def add(self, parts: ChunkParts) -> None:
        content, additional, tool_chunks, info, usage = parts
        self._chunks += 1
        self._content.append(content)
        thinking = additional.get("reasoning_content")
        if thinking:
            self._thinking.append(thinking)
        if tool_chunks:
            self._tool_chunks.extend(tool_chunks)
        if info:
            self._merge_info(info)
        if usage is not None:
            self._usage = usage if self._usage is None else add_usage(self._usage, usage)

    def _merge_info(self, info: dict[str, Any]) -> None:
        merged = self._info
        for key, value in info.items():
            if key == _LOGPROBS and merged.get(key):
                merged[key] = merged[key] + value
            else:
                merged[key] = value

    def result(self) -> ChatResult:
        if not self._chunks:
            raise ValueError(NO_DATA)
        additional: dict[str, Any] = {}
        if self._thinking:
            additional["reasoning_content"] = "".join(self._thinking)
        message = AIMessageChunk(
            content="".join(self._content),
            additional_kwargs=additional,
            tool_call_chunks=self._tool_chunks,
            usage_metadata=self._usage,
            chunk_position="last" if self._usage is not None else None,
        )
        generation = ChatGeneration(
            message=message_chunk_to_message(message), generation_info=self._info or None
        )
        return ChatResult(generations=[generation])
