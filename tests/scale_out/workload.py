"""What the Ray and Dask tests share: the corpus, the work a worker process does, the checks afterwards.

Kept light (no pytest, no framework imported here): every Ray actor and Dask worker imports this module
to unpickle the work it is sent.
"""

from __future__ import annotations

import gc
import logging
import os
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ollama_provider import OllamaProvider
from ollama_provider.testing import FakeHost, vector_of

MODEL = "all-minilm"
HOSTS = 3
CORPUS = [f"document {i}: {'lorem ipsum ' * (i % 7)}".strip() for i in range(600)]


@contextmanager
def warnings_raised() -> Iterator[list[warnings.WarningMessage]]:
    """Every warning raised inside the block, each one kept (none filtered, none shown once only).

    Garbage left by earlier work is collected first: a socket someone else dropped unclosed would
    otherwise warn here whenever the collector happens to run inside the block (it did, once, in CI).
    """
    gc.collect()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught


def embed_with(model: Any, texts: list[str]) -> list[list[float]]:
    """Embed ``texts`` with whichever embedding object a worker holds (ours, LangChain's or LlamaIndex's)."""
    if isinstance(model, OllamaProvider):
        return model.embed(texts, model=MODEL)
    if hasattr(model, "get_text_embedding_batch"):  # LlamaIndex BaseEmbedding
        return list(model.get_text_embedding_batch(texts))
    return list(model.embed_documents(texts))  # LangChain Embeddings


class EmbedBatches:
    """A Ray Data callable class: one embedding model per actor (unpickled once), then a batch per call.

    Each row also says which process embedded it and what warnings were raised there.
    """

    def __init__(self, model: Any) -> None:
        self.model = model

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        import numpy as np  # Ray Data's batches are numpy arrays

        with warnings_raised() as caught:
            vectors = embed_with(self.model, [str(text) for text in batch["text"]])
        size = len(vectors)
        return {
            "id": batch["id"],
            "vector": np.array(vectors),
            "pid": np.full(size, os.getpid()),
            "warnings": np.array(["; ".join(str(w.message) for w in caught)] * size),
        }


def embed_partition(texts: Sequence[str], model: Any) -> list[dict[str, Any]]:
    """A Dask partition's work: its texts' vectors, with the process and the warnings raised there."""
    with warnings_raised() as caught:
        vectors = embed_with(model, list(texts))
    noted = "; ".join(str(w.message) for w in caught)
    return [{"vector": vector, "worker": (os.getpid(), id(model)), "warnings": noted} for vector in vectors]


def assert_right_vectors(texts: Sequence[str], vectors: Sequence[Sequence[float]]) -> None:
    """Every vector is the one of its own text (a swapped or shifted batch fails here)."""
    assert len(vectors) == len(texts)
    wrong = [
        i
        for i, (text, vector) in enumerate(zip(texts, vectors, strict=True))
        if list(vector) != vector_of(text)
    ]
    assert wrong == [], f"{len(wrong)} vectors belong to another text, first at {wrong[:5]}"


def assert_every_host_embedded(hosts: Sequence[FakeHost]) -> None:
    counts = {host.url: host.requests("/api/embed") for host in hosts}
    assert all(counts.values()), f"some host got no work: {counts}"


def our_log_warnings(records: Sequence[logging.LogRecord]) -> list[str]:
    """Warnings logged by our code or the frameworks around it (LlamaIndex logs one for every private
    attribute it cannot pickle); the engines' own chatter about their scheduling is theirs."""
    ours = ("ollama_provider", "langchain", "llama_index", "httpx")
    return [
        f"{r.name}: {r.getMessage()}"
        for r in records
        if r.levelno >= logging.WARNING and r.name.startswith(ours)
    ]
