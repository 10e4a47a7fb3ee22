"""``OllamaEmbedding``: a LlamaIndex ``BaseEmbedding`` over the ollama-provider core.

Requests, retries and batching happen in the core (``/api/embed``; async batches run concurrently,
at most ``embed_concurrency`` at once); this module adds LlamaIndex's instruction prefixes.
"""

from __future__ import annotations

import asyncio
from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding, Embedding
from llama_index.core.bridge.pydantic import Field, PrivateAttr
from llama_index.core.callbacks.base import CallbackManager

from ollama_provider import AsyncOllamaProvider, OllamaProvider
from ollama_provider.config import DEFAULT_FIRST_CHUNK_TIMEOUT

from .providers import LazyCoreProviders, PerLoopGate, check_core_arguments, first_chunk_wait

DEFAULT_REQUEST_TIMEOUT = 30.0
DEFAULT_EMBED_CONCURRENCY = 4
# Texts per LlamaIndex batch when the user sets no ``embed_batch_size`` (the most BaseEmbedding allows).
# LlamaIndex's own default (10) sent one request per 10 texts: 2,000 requests for 20,000 texts. The core
# splits each batch into requests of its ``embed_batch_size`` (256) itself.
DEFAULT_LLAMA_INDEX_BATCH = 2048


class OllamaEmbedding(LazyCoreProviders, BaseEmbedding):
    """Ollama embeddings for LlamaIndex. Drop-in for ``llama_index.embeddings.ollama.OllamaEmbedding``.

    Adds ``dimensions`` (shorter vectors, for models that support it), ``truncate`` (``False``: an
    input longer than the context is an error instead of being cut), ``request_timeout``, ``headers``
    and ``embed_concurrency``. ``base_url=None`` (the default) honours ``OLLAMA_HOST``.

    >>> embed = OllamaEmbedding(model_name="all-minilm", query_instruction="query:")  # no I/O yet
    >>> embed._format_query("  What is Ollama? ")
    'query: What is Ollama?'

    With a server running::

        from llama_index.core import Settings
        Settings.embed_model = OllamaEmbedding(model_name="all-minilm")
    """

    base_url: str | list[str] | None = Field(
        default=None,
        description="Ollama server URL; None reads OLLAMA_HOST, else http://127.0.0.1:11434. Several "
        "servers (comma-separated, or a list) make a pool: batches are spread over them.",
    )
    model_name: str = Field(description="The Ollama model to use.")
    embed_batch_size: int = Field(
        default=DEFAULT_LLAMA_INDEX_BATCH,
        description="Texts per request when set; unset: LlamaIndex hands over 2,048 texts at a time and "
        "the core sends them in requests of 256.",
        gt=0,
        le=2048,
    )
    ollama_additional_kwargs: dict[str, Any] = Field(
        default_factory=dict, description="Model options sent with every request."
    )
    query_instruction: str | None = Field(default=None, description="Instruction to prepend to queries.")
    text_instruction: str | None = Field(default=None, description="Instruction to prepend to texts.")
    keep_alive: float | str | None = Field(
        default=None, description="How long the model stays loaded after a request (e.g. '5m', 300)."
    )
    dimensions: int | None = Field(
        default=None, gt=0, description="Vector size to ask for (None: the model's)."
    )
    truncate: bool | None = Field(
        default=None, description="False: inputs longer than the context fail instead of being truncated."
    )
    request_timeout: float | None = Field(
        default=DEFAULT_REQUEST_TIMEOUT, description="Seconds to wait for an answer (None: forever)."
    )
    first_chunk_timeout: float | None = Field(
        default=DEFAULT_FIRST_CHUNK_TIMEOUT,
        gt=0,
        description="Seconds to wait for an answer to start, as given (left at its default, at least "
        "request_timeout): the request may wait in a busy server's queue or for the model to load (None: "
        "no limit).",
    )
    headers: dict[str, str] | None = Field(default=None, description="Extra HTTP headers.")
    embed_concurrency: int = Field(
        default=DEFAULT_EMBED_CONCURRENCY, description="Embedding requests in flight at once (async).", gt=0
    )

    _provider: OllamaProvider | None = PrivateAttr(default=None)
    _async_provider: AsyncOllamaProvider | None = PrivateAttr(default=None)
    _client_kwargs: dict[str, Any] = PrivateAttr(default_factory=dict)
    _request_batch_size: int | None = PrivateAttr(default=None)
    _batch_gates: PerLoopGate = PrivateAttr(default_factory=PerLoopGate)

    def __init__(
        self,
        model_name: str,
        base_url: str | list[str] | None = None,
        embed_batch_size: int | None = None,
        ollama_additional_kwargs: dict[str, Any] | None = None,
        query_instruction: str | None = None,
        text_instruction: str | None = None,
        callback_manager: CallbackManager | None = None,
        client_kwargs: dict[str, Any] | None = None,
        keep_alive: float | str | None = None,
        dimensions: int | None = None,
        truncate: bool | None = None,
        request_timeout: float | None = DEFAULT_REQUEST_TIMEOUT,
        headers: dict[str, str] | None = None,
        embed_concurrency: int = DEFAULT_EMBED_CONCURRENCY,
        provider: OllamaProvider | None = None,
        async_provider: AsyncOllamaProvider | None = None,
        **kwargs: Any,
    ) -> None:
        # LlamaIndex runs async batches through ``num_workers`` workers; without it every batch of a
        # large ingestion would be in flight at once. Default it to the core's concurrency bound.
        kwargs.setdefault("num_workers", embed_concurrency)
        fields: dict[str, Any] = dict(
            model_name=model_name,
            base_url=base_url,
            embed_batch_size=embed_batch_size or DEFAULT_LLAMA_INDEX_BATCH,
            ollama_additional_kwargs=ollama_additional_kwargs or {},
            query_instruction=query_instruction,
            text_instruction=text_instruction,
            callback_manager=callback_manager,
            keep_alive=keep_alive,
            dimensions=dimensions,
            truncate=truncate,
            request_timeout=request_timeout,
            headers=headers,
            embed_concurrency=embed_concurrency,
            **kwargs,
        )
        checked_client_kwargs = check_core_arguments(
            "OllamaEmbedding", provider, async_provider, client_kwargs
        )
        super().__init__(**fields)
        self._provider = provider
        self._async_provider = async_provider
        self._client_kwargs = checked_client_kwargs
        # An explicit size is the request size too (as before); unset, the core's default applies.
        self._request_batch_size = embed_batch_size

    @classmethod
    def class_name(cls) -> str:
        return "OllamaProviderEmbedding"

    # -- the core providers, built on first use ---------------------------------------------------
    def _settings(self) -> dict[str, Any]:
        settings: dict[str, Any] = {
            "timeout": self.request_timeout,
            "first_chunk_timeout": first_chunk_wait(self.first_chunk_timeout, self.request_timeout),
            "headers": dict(self.headers or {}),
            "embed_concurrency": self.embed_concurrency,
            "client_kwargs": self._client_kwargs,
        }
        if self._request_batch_size is not None:
            settings["embed_batch_size"] = self._request_batch_size
        return settings

    def _embed_kwargs(self) -> dict[str, Any]:
        return {
            "model": self.model_name,
            "truncate": self.truncate,
            "dimensions": self.dimensions,
            "keep_alive": self.keep_alive,
            "options": self.ollama_additional_kwargs or None,
        }

    # -- instruction prefixes (same rules as the official integration) ----------------------------
    def _format_query(self, query: str) -> str:
        if self.query_instruction:
            return f"{self.query_instruction.strip()} {query.strip()}".strip()
        return query.strip()

    def _format_text(self, text: str) -> str:
        if self.text_instruction:
            return f"{self.text_instruction.strip()} {text.strip()}".strip()
        return text.strip()

    # -- BaseEmbedding: formatting here, requests in the public methods (as the official class does,
    # so code that calls or patches get_general_text_embedding(s) works the same) ------------------
    def _get_query_embedding(self, query: str) -> Embedding:
        return self.get_general_text_embedding(self._format_query(query))

    async def _aget_query_embedding(self, query: str) -> Embedding:
        return await self.aget_general_text_embedding(self._format_query(query))

    def _get_text_embedding(self, text: str) -> Embedding:
        return self.get_general_text_embedding(self._format_text(text))

    async def _aget_text_embedding(self, text: str) -> Embedding:
        return await self.aget_general_text_embedding(self._format_text(text))

    def _get_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return self.get_general_text_embeddings(self._formatted(texts))

    async def _aget_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return await self.aget_general_text_embeddings(self._formatted(texts))

    # -- the requests, as in llama-index-embeddings-ollama: texts are sent as given (no instruction) --
    def get_general_text_embedding(self, texts: str) -> Embedding:
        """The vector of one text, as given (no instruction prefix). The parameter keeps the official
        package's name."""
        vector: Embedding = self.provider.embed(texts, **self._embed_kwargs())
        return vector

    async def aget_general_text_embedding(self, prompt: str) -> Embedding:
        """The vector of one text, as given (no instruction prefix)."""
        vector: Embedding = await self.async_provider.embed(prompt, **self._embed_kwargs())
        return vector

    def get_general_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        """One vector per text, as given, in order (the core splits long lists into requests)."""
        vectors: list[Embedding] = self.provider.embed(list(texts), **self._embed_kwargs())
        return vectors

    async def aget_general_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        """One vector per text, as given, in order; the core's requests for it run concurrently."""
        if self._request_batch_size is not None:  # one request per LlamaIndex batch, num_workers at once
            return await self._aembed_batch(texts)
        # Large default batches: the core already runs embed_concurrency requests per batch, so one
        # batch at a time keeps that the bound on requests in flight.
        async with self._batch_gate():
            return await self._aembed_batch(texts)

    async def _aembed_batch(self, texts: list[str]) -> list[Embedding]:
        vectors: list[Embedding] = await self.async_provider.embed(list(texts), **self._embed_kwargs())
        return vectors

    def _batch_gate(self) -> asyncio.Semaphore:
        return self._batch_gates.for_running_loop()

    def _formatted(self, texts: list[str]) -> list[str]:
        return [self._format_text(text) for text in texts]
