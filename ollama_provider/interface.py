"""The interface adapters depend on, as ``typing.Protocol`` classes.

:class:`OllamaProvider` satisfies :class:`Provider` and :class:`AsyncOllamaProvider` satisfies
:class:`AsyncProvider`; so does :class:`ollama_provider.testing.ScriptedProvider`, the in-memory
double used by adapter unit tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any, Protocol, runtime_checkable

from .types import ChatResponse, GenerateResponse, HealthStatus, ModelInfo, ShowResponse


@runtime_checkable
class Provider(Protocol):
    """What a synchronous Ollama provider offers to adapters."""

    def chat(self, messages: Any, *, model: str | None = ..., stream: bool = ..., **kwargs: Any) -> Any: ...
    def generate(
        self, prompt: str | None = ..., *, model: str | None = ..., stream: bool = ..., **kwargs: Any
    ) -> Any: ...
    def embed(self, input: Any, *, model: str | None = ..., **kwargs: Any) -> Any: ...
    def list_models(self) -> list[ModelInfo]: ...
    def show_model(self, name: str, *, verbose: bool | None = ...) -> ShowResponse: ...
    def check_health(self) -> HealthStatus: ...
    def close(self) -> None: ...


@runtime_checkable
class AsyncProvider(Protocol):
    """What an asynchronous Ollama provider offers to adapters."""

    async def chat(
        self, messages: Any, *, model: str | None = ..., stream: bool = ..., **kwargs: Any
    ) -> Any: ...
    async def generate(
        self, prompt: str | None = ..., *, model: str | None = ..., stream: bool = ..., **kwargs: Any
    ) -> Any: ...
    async def embed(self, input: Any, *, model: str | None = ..., **kwargs: Any) -> Any: ...
    async def list_models(self) -> list[ModelInfo]: ...
    async def show_model(self, name: str, *, verbose: bool | None = ...) -> ShowResponse: ...
    async def check_health(self) -> HealthStatus: ...
    async def close(self) -> None: ...


ChunkIterator = Iterator[ChatResponse] | Iterator[GenerateResponse]
AsyncChunkIterator = AsyncIterator[ChatResponse] | AsyncIterator[GenerateResponse]
__all__ = ["AsyncProvider", "Provider", "Sequence"]
