"""An in-memory test double that satisfies :class:`~ollama_provider.interface.Provider`.

For unit tests of code built on the core (adapters, apps): scripted replies, deterministic
embeddings, and a record of every request, with no server and no sockets.

>>> from ollama_provider.testing import ScriptedProvider
>>> fake = ScriptedProvider(replies=["Hello there!", "Bye now."])
>>> fake.chat("Hi", model="any").message.content
'Hello there!'
>>> [chunk.message.content for chunk in fake.chat("Hi", model="any", stream=True)]
['Bye ', 'now.', '']
>>> fake.requests[0]["messages"]
[{'role': 'user', 'content': 'Hi'}]
>>> len(fake.embed(["a", "b"], model="emb")), len(fake.embed("a", model="emb"))
(2, 8)

The async twin plays the same script and keeps the same record (for async code, or code that mixes):

>>> import asyncio
>>> fake = ScriptedProvider(["sync answer", "async answer"])
>>> afake = fake.asynchronous()
>>> async def ask():
...     return (await afake.chat("Hi", model="any")).message.content
>>> fake.chat("Hi", model="any").message.content, asyncio.run(ask()), len(afake.requests)
('sync answer', 'async answer', 2)
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import deque
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from typing import Any

from .. import _calls as calls
from ..config import OllamaConfig
from ..errors import ModelNotFoundError
from ..streams import AsyncStream, Stream
from ..types import (
    ChatResponse,
    GenerateResponse,
    HealthStatus,
    Message,
    ModelInfo,
    ShowResponse,
    ToolCall,
    ToolCallFunction,
)

_WORDS = re.compile(r"\S+\s*|\s+")


class ScriptedProvider:
    """Answers each chat/generate call with the next scripted reply (a string or a Message).

    Requests are validated exactly as the real provider validates them (same call builders), so
    a test using this double still catches a wrong message shape or option.
    """

    def __init__(
        self,
        replies: Iterable[str | Message] = (),
        *,
        models: Sequence[str] = ("scripted:latest",),
        dimensions: int = 8,
        context_length: int = 4096,
    ) -> None:
        self.config = OllamaConfig()
        self.replies: deque[str | Message] = deque(replies)
        self.models = list(models)
        self.dimensions = dimensions
        self.context_length = context_length
        self.requests: list[dict[str, Any]] = []
        self.closed = False

    def _next_message(self) -> Message:
        reply = self.replies.popleft() if self.replies else ""
        return reply if isinstance(reply, Message) else Message("assistant", reply)

    def chat(self, messages: Any, *, model: str | None = None, stream: bool = False, **kwargs: Any) -> Any:
        call = calls.chat(self.config, messages, model=model, stream=stream, **kwargs)
        assert call.body is not None
        self.requests.append(call.body)
        message = self._next_message()
        final = ChatResponse(model=call.body["model"], message=message, done=True, done_reason="stop")
        final.finish_reason = "tool_calls" if message.tool_calls else "stop"
        final.prompt_eval_count, final.eval_count = (
            len(call.body["messages"]),
            len(_WORDS.findall(message.content)),
        )
        if not stream:
            return final
        return Stream(self._chat_chunks(call.body["model"], message, final))

    @staticmethod
    def _chat_chunks(model: str, message: Message, final: ChatResponse) -> Iterator[ChatResponse]:
        if message.thinking:  # thinking comes first, in chunks of its own, as the server sends it
            yield ChatResponse(model=model, message=Message("assistant", "", thinking=message.thinking))
        for word in _WORDS.findall(message.content):
            yield ChatResponse(model=model, message=Message("assistant", word))
        for call in message.tool_calls or []:
            yield ChatResponse(model=model, message=Message("assistant", "", tool_calls=[call]))
        final.message = Message("assistant", "")
        yield final

    def generate(
        self, prompt: str | None = None, *, model: str | None = None, stream: bool = False, **kwargs: Any
    ) -> Any:
        call = calls.generate(self.config, prompt, model=model, stream=stream, **kwargs)
        assert call.body is not None
        self.requests.append(call.body)
        text = self._next_message().content
        final = GenerateResponse(model=call.body["model"], response="", done=True, done_reason="stop")
        final.finish_reason = "stop"
        if not stream:
            final.response = text
            return final
        words = [GenerateResponse(model=call.body["model"], response=w) for w in _WORDS.findall(text)]
        return Stream(iter([*words, final]))

    def embed(self, input: Any, *, model: str | None = None, **kwargs: Any) -> Any:
        texts, single = calls.embed_inputs(input)
        call = calls.embed(self.config, texts, model=model, **kwargs)
        assert call.body is not None
        self.requests.append(call.body)
        vectors = [self._vector(text, kwargs.get("dimensions") or self.dimensions) for text in texts]
        return vectors[0] if single else vectors

    @staticmethod
    def _vector(text: str, dimensions: int) -> list[float]:
        """A deterministic unit vector: equal texts embed equally, like a real model."""
        digest = hashlib.sha256(text.encode()).digest() * (dimensions // 32 + 1)
        raw = [b - 127.5 for b in digest[:dimensions]]
        norm = math.sqrt(sum(v * v for v in raw)) or 1.0
        return [v / norm for v in raw]

    def list_models(self) -> list[ModelInfo]:
        return [ModelInfo(name, name) for name in self.models]

    def show_model(self, name: str, *, verbose: bool | None = None) -> ShowResponse:
        if name not in self.models:
            raise ModelNotFoundError(f"model '{name}' not found", model=name, suggestions=self.models[:3])
        return ShowResponse(
            model_info={"general.architecture": "scripted", "scripted.context_length": self.context_length},
            capabilities=["completion", "tools"],
        )

    def check_health(self) -> HealthStatus:
        return HealthStatus("healthy", "memory://scripted", 0.0, "scripted", len(self.models))

    def close(self) -> None:
        self.closed = True

    def asynchronous(self) -> AsyncScriptedProvider:
        """An async twin answering from the same script and recording into the same ``requests``."""
        return AsyncScriptedProvider(self)


async def _async_chunks(chunks: Iterable[Any]) -> AsyncIterator[Any]:
    for chunk in chunks:
        yield chunk


class AsyncScriptedProvider:
    """The asynchronous :class:`ScriptedProvider` (satisfies :class:`~ollama_provider.AsyncProvider`):
    ``await fake.chat(...)``, ``async for chunk in await fake.chat(..., stream=True)``."""

    def __init__(self, scripted: ScriptedProvider | None = None) -> None:
        self.scripted = scripted if scripted is not None else ScriptedProvider()
        self.closed = False

    @property
    def config(self) -> OllamaConfig:
        return self.scripted.config

    @property
    def requests(self) -> list[dict[str, Any]]:
        return self.scripted.requests

    @property
    def replies(self) -> deque[str | Message]:
        return self.scripted.replies

    async def chat(
        self, messages: Any, *, model: str | None = None, stream: bool = False, **kwargs: Any
    ) -> Any:
        answer = self.scripted.chat(messages, model=model, stream=stream, **kwargs)
        return AsyncStream(_async_chunks(answer)) if stream else answer

    async def generate(
        self, prompt: str | None = None, *, model: str | None = None, stream: bool = False, **kwargs: Any
    ) -> Any:
        answer = self.scripted.generate(prompt, model=model, stream=stream, **kwargs)
        return AsyncStream(_async_chunks(answer)) if stream else answer

    async def embed(self, input: Any, *, model: str | None = None, **kwargs: Any) -> Any:
        return self.scripted.embed(input, model=model, **kwargs)

    async def list_models(self) -> list[ModelInfo]:
        return self.scripted.list_models()

    async def show_model(self, name: str, *, verbose: bool | None = None) -> ShowResponse:
        return self.scripted.show_model(name, verbose=verbose)

    async def check_health(self) -> HealthStatus:
        return self.scripted.check_health()

    async def close(self) -> None:
        self.closed = True


def tool_call(name: str, arguments: dict[str, Any], *, index: int = 0, id: str | None = None) -> ToolCall:
    """Build a tool call for a scripted reply: ``Message("assistant", "", tool_calls=[tool_call(...)])``."""
    return ToolCall(ToolCallFunction(name, arguments, index), id or f"call_{index}")
