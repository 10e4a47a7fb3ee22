"""The core providers behind the embedding model and the LLM, built on first use.

Kept in the embeddings package, the lighter of the two, so importing the embeddings alone stays light.
"""

from __future__ import annotations

import asyncio
import inspect
import weakref
from collections.abc import Mapping
from typing import Any

from llama_index.core.bridge.pydantic import field_serializer

from ollama_provider import AsyncOllamaProvider, AsyncProvider, OllamaProvider, Provider
from ollama_provider.config import DEFAULT_FIRST_CHUNK_TIMEOUT
from ollama_provider.integrations import built_once, redact_url, redacted, without_userinfo


def first_chunk_wait(first_chunk_timeout: float | None, request_timeout: float | None) -> float | None:
    """The core's ``first_chunk_timeout`` for these settings: as given, except that left at its
    default it is at least ``request_timeout`` (``None``: no limit), which LlamaIndex users raise for
    slow models (as with its own Ollama integration, whose ``request_timeout`` covers the whole wait).

    >>> first_chunk_wait(5.0, 30.0), first_chunk_wait(DEFAULT_FIRST_CHUNK_TIMEOUT, 600.0)
    (5.0, 600.0)
    >>> first_chunk_wait(DEFAULT_FIRST_CHUNK_TIMEOUT, None) is None
    True
    """
    if first_chunk_timeout != DEFAULT_FIRST_CHUNK_TIMEOUT:
        return first_chunk_timeout
    if request_timeout is None:
        return None
    return max(first_chunk_timeout, request_timeout)


def check_core_arguments(
    owner: str, provider: Any, async_provider: Any, client_kwargs: Any
) -> dict[str, Any]:
    """Reject wrong types for the arguments that bypass pydantic validation, naming the parameter;
    returns a copy of ``client_kwargs``.

    >>> from ollama_provider import OllamaConfig
    >>> check_core_arguments("Ollama", OllamaConfig(), None, None)
    Traceback (most recent call last):
    ...
    TypeError: Ollama(provider=...) takes a synchronous core provider ... not OllamaConfig
    """
    if provider is not None and not (isinstance(provider, Provider) and not _is_async(provider)):
        raise TypeError(
            f"{owner}(provider=...) takes a synchronous core provider such as OllamaProvider(...), "
            f"not {type(provider).__name__}"
        )
    if async_provider is not None and not (
        isinstance(async_provider, AsyncProvider) and _is_async(async_provider)
    ):
        raise TypeError(
            f"{owner}(async_provider=...) takes an asynchronous core provider such as "
            f"AsyncOllamaProvider(...), not {type(async_provider).__name__}"
        )
    if client_kwargs is not None and not isinstance(client_kwargs, Mapping):
        raise TypeError(
            f"{owner}(client_kwargs=...) takes a dict of httpx client arguments, "
            f"not {type(client_kwargs).__name__}"
        )
    return dict(client_kwargs or {})


def _is_async(provider: Any) -> bool:
    return inspect.iscoroutinefunction(getattr(provider, "chat", None))


class LazyCoreProviders:
    """Mixin for a pydantic model with ``base_url``, ``headers``, ``_provider``, ``_async_provider``
    and ``_settings()``.

    No client is built (and nothing is sent) until a provider is first needed; a provider passed in
    by the user (to share its connection pool) is used as it is. Credentials never leave in a
    serialisation (``to_dict``/``to_json``, which LlamaIndex also hands to its callbacks and tracers)
    nor in a repr: ``headers`` become ``None`` and ``base_url`` loses its ``user:password@``.
    """

    @field_serializer("headers", check_fields=False)
    def _serialized_headers(self, headers: dict[str, str] | None) -> None:
        return None

    @field_serializer("base_url", check_fields=False)
    def _serialized_base_url(self, base_url: str | list[str] | None) -> str | list[str] | None:
        return without_userinfo(base_url)

    def __repr_args__(self) -> Any:
        for name, value in super().__repr_args__():  # type: ignore[misc]  # pydantic's, next in the MRO
            if name == "base_url" and value:
                value = redact_url(value)
            elif name == "headers" and value:
                value = redacted(value)
            yield name, value

    base_url: str | list[str] | None
    _provider: OllamaProvider | None
    _async_provider: AsyncOllamaProvider | None

    def _settings(self) -> dict[str, Any]:
        raise NotImplementedError

    # Read on every request: straight from pydantic's private dict, because a plain read of a
    # private attribute goes through pydantic's __getattr__ (several microseconds each time).
    @property
    def provider(self) -> OllamaProvider:
        """The synchronous core provider (created on first use)."""
        private = self.__pydantic_private__  # type: ignore[attr-defined]
        return built_once(private, "_provider", lambda: OllamaProvider(self.base_url, **self._settings()))

    @property
    def async_provider(self) -> AsyncOllamaProvider:
        """The asynchronous core provider (created on first use)."""
        private = self.__pydantic_private__  # type: ignore[attr-defined]
        return built_once(
            private, "_async_provider", lambda: AsyncOllamaProvider(self.base_url, **self._settings())
        )


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
