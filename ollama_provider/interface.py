"""The interface adapters depend on, as ``typing.Protocol`` classes.

:class:`OllamaProvider` satisfies :class:`Provider` and :class:`AsyncOllamaProvider` satisfies
:class:`AsyncProvider`. So does :class:`ollama_provider.testing.ScriptedProvider` (sync), an in-memory
double for unit tests of code written against the interface.

>>> from ollama_provider import OllamaProvider, Provider
>>> from ollama_provider.testing import ScriptedProvider
>>> isinstance(OllamaProvider(), Provider), isinstance(ScriptedProvider(), Provider)
(True, True)
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from .types import HealthStatus, ModelInfo, ShowResponse


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


__all__ = ["AsyncProvider", "Provider"]
