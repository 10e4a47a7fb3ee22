"""``OllamaEmbeddings``: LangChain embeddings over the core's batched ``embed``.

Long document lists are cut into batches (``batch_size``) by the core; the async methods send
batches concurrently, at most ``max_concurrency`` at a time. Construction does no I/O.

>>> from langchain_ollama_provider import OllamaEmbeddings
>>> embeddings = OllamaEmbeddings(model="all-minilm", dimensions=128, keep_alive="10m", batch_size=64)
>>> embeddings.provider.config.embed_batch_size
64
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from langchain_core.embeddings import Embeddings
from pydantic import Field, field_validator, model_validator
from typing_extensions import Self

from ollama_provider import OllamaConfig

from ._connection import _OllamaConnection

_OPTION_FIELDS = (
    "mirostat",
    "mirostat_eta",
    "mirostat_tau",
    "num_ctx",
    "num_gpu",
    "num_thread",
    "repeat_last_n",
    "repeat_penalty",
    "temperature",
    "stop",
    "tfs_z",
    "top_k",
    "top_p",
)


class OllamaEmbeddings(_OllamaConnection, Embeddings):
    """Embed texts with an Ollama embedding model (e.g. ``all-minilm``, ``nomic-embed-text``).

    ``embed_documents`` / ``embed_query`` and their async twins. ``dimensions`` shortens the
    vectors (models that support it), ``truncate=False`` makes an over-long input an error instead
    of silently cutting it, ``keep_alive`` takes ``"5m"`` or seconds.
    """

    model: str
    """Embedding model name."""

    dimensions: int | None = None
    """Length of the returned vectors (for models trained to be truncated); a positive integer."""

    truncate: bool | None = None
    """``False``: fail on inputs longer than the context instead of truncating them."""

    keep_alive: int | str | None = None
    """How long the model stays loaded after a call."""

    batch_size: int | None = Field(default=None, ge=1)
    """Texts per request (core default 256)."""

    max_concurrency: int | None = Field(default=None, ge=1)
    """Concurrent requests of the async methods (core default 4)."""

    validate_model_on_init: bool = False
    """Check at construction that the model is installed (one request; off by default); failing, a
    ``ValueError`` as in ``langchain-ollama``, the core's error as its ``__cause__``."""

    mirostat: int | None = None
    mirostat_eta: float | None = None
    mirostat_tau: float | None = None
    num_ctx: int | None = None
    num_gpu: int | None = None
    num_thread: int | None = None
    repeat_last_n: int | None = None
    repeat_penalty: float | None = None
    temperature: float | None = None
    stop: list[str] | None = None
    tfs_z: float | None = None
    top_k: int | None = None
    top_p: float | None = None

    @field_validator("dimensions")
    @classmethod
    def _positive_dimensions(cls, value: int | None) -> int | None:
        if value is not None and value < 1:
            # langchain-ollama's wording, so code matching its error still works.
            raise ValueError(f"`dimensions` must be a positive integer. Got {value}.")
        return value

    @model_validator(mode="after")
    def _validate(self) -> Self:
        if self.validate_model_on_init:
            self._check_model(self.model)
        return self

    def _config(self, *, asynchronous: bool) -> OllamaConfig:
        config = super()._config(asynchronous=asynchronous)
        sizes: dict[str, Any] = {}
        if self.batch_size is not None:
            sizes["embed_batch_size"] = self.batch_size
        if self.max_concurrency is not None:
            sizes["embed_concurrency"] = self.max_concurrency
        return replace(config, **sizes)

    def _embed_kwargs(self) -> dict[str, Any]:
        options = {name: getattr(self, name) for name in _OPTION_FIELDS}
        return {
            "model": self.model,
            "dimensions": self.dimensions,
            "truncate": self.truncate,
            "keep_alive": self.keep_alive,
            "options": {k: v for k, v in options.items() if v is not None} or None,
        }

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """One vector per text, in order."""
        if not texts:
            return []
        return self.provider.embed(list(texts), **self._embed_kwargs())

    def embed_query(self, text: str) -> list[float]:
        """The vector of one text."""
        return self.embed_documents([text])[0]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        """One vector per text, in order (batches sent concurrently)."""
        if not texts:
            return []
        return await self.async_provider.embed(list(texts), **self._embed_kwargs())

    async def aembed_query(self, text: str) -> list[float]:
        """The vector of one text."""
        return (await self.aembed_documents([text]))[0]
