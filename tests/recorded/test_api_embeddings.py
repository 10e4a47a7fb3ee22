"""Embedding scenarios (``/api/embed`` and the legacy ``/api/embeddings``) through the public API.

What a caller relies on: one vector for a string, one per input (in order) for a list, all-minilm's
384 dimensions (64 when asked), vectors of unit length, and truncation of a too-long input by default.
The failures (too long with ``truncate=False``, unknown model, chat model) are in test_api_errors.py.
"""

from __future__ import annotations

import pytest

from ollama_provider import AsyncOllamaProvider, OllamaProvider

from ..recordings import Cassette
from ..releases import skip_lacking
from .api_scenarios import LONG_TEXT, MINILM, l2_norm

SKY = "The sky is blue."
DIMENSIONS = 384  # all-minilm's vectors (bert.embedding_length in api/show_embedding_model.yaml)


def _unit_length(vector: list[float]) -> bool:
    return l2_norm(vector) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.vcr("api/embed.yaml")
def test_embed_a_string_returns_one_normalised_vector(provider: OllamaProvider, recording: Cassette) -> None:
    vector = provider.embed(SKY, model=MINILM)

    (recorded,) = recording.exchange("/api/embed").json["embeddings"]
    assert vector == recorded  # one vector, not a list of them, value for value
    assert len(vector) == DIMENSIONS
    assert _unit_length(vector)


@pytest.mark.vcr("api/embed_batch.yaml")
async def test_async_embed_a_list_returns_one_vector_per_input_in_order(
    ollama_host: str, recording: Cassette
) -> None:
    texts = [SKY, "Grass is green.", "Ollama runs models locally."]
    async with AsyncOllamaProvider(host=ollama_host) as provider:
        vectors = await provider.embed(texts, model=MINILM)

    exchange = recording.exchange("/api/embed")
    assert exchange.request["input"] == texts
    assert vectors == exchange.json["embeddings"]  # in the order of the inputs
    assert [len(vector) for vector in vectors] == [DIMENSIONS] * 3
    assert all(_unit_length(vector) for vector in vectors)
    assert len({tuple(vector) for vector in vectors}) == 3  # three texts, three different vectors


@pytest.mark.vcr("api/embed_dimensions.yaml")
def test_embed_with_dimensions_returns_shorter_renormalised_vectors(
    provider: OllamaProvider, recording: Cassette
) -> None:
    (vector,) = provider.embed([SKY], model=MINILM, dimensions=64)

    exchange = recording.exchange("/api/embed")
    assert exchange.request["dimensions"] == 64
    assert [vector] == exchange.json["embeddings"]
    assert len(vector) == 64
    # Truncated to 64 values, then scaled back to unit length (so not a prefix of the 384 vector).
    assert _unit_length(vector)


@pytest.mark.vcr("api/embed_truncated.yaml")
def test_embed_truncates_an_input_longer_than_the_context_by_default(
    provider: OllamaProvider, recording: Cassette
) -> None:
    (vector,) = provider.embed([LONG_TEXT], model=MINILM)

    exchange = recording.exchange("/api/embed")
    assert "truncate" not in exchange.request  # the server's default: truncate
    assert [vector] == exchange.json["embeddings"]
    assert len(vector) == DIMENSIONS and _unit_length(vector)


@pytest.mark.vcr("api/embeddings_legacy.yaml")
def test_legacy_embeddings_route_returns_one_float64_vector(
    provider: OllamaProvider, recording: Cassette
) -> None:
    answer = provider.request("POST", "/api/embeddings", {"model": MINILM, "prompt": SKY})

    vector = answer["embedding"]
    assert vector == recording.exchange("/api/embeddings").json["embedding"]  # full float64 precision
    assert len(vector) == DIMENSIONS
    if not _unit_length(vector):  # as recorded: the server's vector, passed on untouched
        skip_lacking("does not normalise the vectors of the legacy /api/embeddings route (/api/embed does)")
    assert _unit_length(vector)
