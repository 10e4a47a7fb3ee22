"""The core providers behind the embedding model and the LLM, built on first use.

Kept in the embeddings package, the lighter of the two, so importing the embeddings alone stays light.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from ollama_provider import AsyncOllamaProvider, OllamaProvider


class LazyCoreProviders:
    """Mixin for a pydantic model with ``base_url``, ``_provider``, ``_async_provider`` and ``_settings()``.

    No client is built (and nothing is sent) until a provider is first needed; a provider passed in
    by the user (to share its connection pool) is used as it is.
    """

    base_url: str | list[str] | None
    _provider: OllamaProvider | None
    _async_provider: AsyncOllamaProvider | None

    def _settings(self) -> dict[str, Any]:
        raise NotImplementedError

    @property
    def provider(self) -> OllamaProvider:
        """The synchronous core provider (created on first use)."""
        if self._provider is None:
            self._provider = OllamaProvider(self.base_url, **self._settings())
        return self._provider

    @property
    def async_provider(self) -> AsyncOllamaProvider:
        """The asynchronous core provider (created on first use)."""
        if self._async_provider is None:
            self._async_provider = AsyncOllamaProvider(self.base_url, **self._settings())
        return self._async_provider


class PerLoopGate:
    """An ``asyncio.Semaphore(1)`` per event loop (a semaphore belongs to the loop it first waits on).

    Pickles and copies as a new, empty one: event loops do not travel to other processes, and
    LlamaIndex would otherwise drop the attribute with a warning when pickling its owner.
    """

    def __init__(self) -> None:
        self._gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )

    def for_running_loop(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        gate = self._gates.get(loop)
        if gate is None:
            gate = self._gates[loop] = asyncio.Semaphore(1)
        return gate

    def __reduce__(self) -> tuple[type[PerLoopGate], tuple[()]]:
        return (PerLoopGate, ())

    def __deepcopy__(self, memo: dict[int, Any]) -> PerLoopGate:
        return PerLoopGate()
