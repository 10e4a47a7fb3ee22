"""What child processes, Ray actors and Dask workers run against real servers, and how it is checked.

Kept light (no pytest, no fixture imported here): spawned children, actors and workers import this module
to unpickle the work they are sent.
"""

from __future__ import annotations

import asyncio
import math
import os
from collections.abc import Sequence
from typing import Any

from ollama_provider import AsyncOllamaProvider, OllamaProvider

EMBED_MODEL = "all-minilm:latest"
#: One thread per model runner: several servers share 2 cores, and llama.cpp's default (a thread per
#: core, spinning while it waits) made every request 10 to 100 times slower there. The same value for
#: every request, or the server reloads the model to apply it.
EMBED_OPTIONS: dict[str, Any] = {"num_thread": 1}
WORDS = ["river", "stone", "lamp", "cloud", "seed", "iron", "salt", "pine", "glass", "wool", "ember"]
#: A few hundred texts of different lengths (batches hold texts of unequal token counts).
CORPUS = [
    f"text {i}: " + " ".join(WORDS[(i + j) % len(WORDS)] for j in range(i % 13 + 1)) for i in range(300)
]
#: Each component of a vector within this of the reference: vectors of one text from two servers, or
#: from batches of other texts, may differ in their last digits (the thread count and the batch decide how
#: the sums are split). Here, one thread per runner, they came out identical.
TOLERANCE = 1e-4


def embed(provider: OllamaProvider, texts: Sequence[str]) -> list[list[float]]:
    return provider.embed(list(texts), model=EMBED_MODEL, options=EMBED_OPTIONS)


def embed_with(model: Any, texts: Sequence[str]) -> list[list[float]]:
    """Embed with whichever object a worker holds: our provider, LangChain's or LlamaIndex's embeddings."""
    if isinstance(model, OllamaProvider):
        return embed(model, texts)
    if hasattr(model, "get_text_embedding_batch"):
        return [list(v) for v in model.get_text_embedding_batch(list(texts))]
    return [list(v) for v in model.embed_documents(list(texts))]


def mismatches(
    texts: Sequence[str], vectors: Sequence[Sequence[float]], reference: dict[str, list[float]]
) -> list[int]:
    """Indexes of the vectors that are not their own text's (within :data:`TOLERANCE`)."""
    assert len(vectors) == len(texts), (len(vectors), len(texts))
    return [
        i
        for i, (text, vector) in enumerate(zip(texts, vectors, strict=True))
        if len(vector) != len(reference[text])
        or not all(
            math.isclose(a, b, abs_tol=TOLERANCE) for a, b in zip(vector, reference[text], strict=True)
        )
    ]


# -- children (multiprocessing) ------------------------------------------------------------------------------
def child_embeds(provider: OllamaProvider, index: int, children: int, barrier: Any, results: Any) -> None:
    """A forked or spawned child: waits for its siblings, then every child embeds its share at once."""
    texts = CORPUS[index::children]
    barrier.wait(60)
    results.put((index, os.getpid(), embed(provider, texts)))


def child_chats_async(
    provider: AsyncOllamaProvider, index: int, barrier: Any, results: Any, ask: Any
) -> None:
    """A forked child of a parent whose event loop holds the async provider's client: asks on a loop of its own."""
    question, model, options = ask

    async def chat() -> list[str]:
        answers = await asyncio.gather(
            *(provider.chat(question, model=model, options=options) for _ in range(3))
        )
        return [answer.message.content for answer in answers]

    barrier.wait(60)
    results.put((index, os.getpid(), asyncio.run(chat())))


def embed_share(provider: OllamaProvider, texts: list[str]) -> tuple[int, list[list[float]]]:
    """A process pool's task."""
    return os.getpid(), embed(provider, texts)


# -- Ray and Dask ---------------------------------------------------------------------------------------------
class EmbedBatches:
    """A Ray Data callable class: one model per actor (unpickled once), then a batch per call."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        import numpy as np

        vectors = embed_with(self.model, [str(text) for text in batch["text"]])
        return {"id": batch["id"], "vector": np.array(vectors), "pid": np.full(len(vectors), os.getpid())}


def embed_partition(texts: Sequence[str], model: Any) -> list[dict[str, Any]]:
    """A Dask partition's work."""
    return [{"vector": vector, "pid": os.getpid()} for vector in embed_with(model, list(texts))]
