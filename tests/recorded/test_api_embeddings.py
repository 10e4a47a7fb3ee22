"""Embedding scenarios (``/api/embed`` and the legacy ``/api/embeddings``) through the public API.

What a caller relies on: one vector for a string, one per input (in order) for a list, all-minilm's
384 dimensions (64 when asked), vectors of unit length, and truncation of a too-long input by default.
The failures (too long with ``truncate=False``, unknown model, chat model) are in test_api_errors.py.
"""

from __future__ import annotations

import pytest

from ollama_provider import AsyncOllamaProvider, OllamaProvider

from .api_scenarios import LONG_TEXT, MINILM, l2_norm

SKY = "The sky is blue."
#: The first values of the recorded vector of SKY (all-minilm, 384 dimensions).
SKY_HEAD = [0.017878471, 0.013507476, 0.042695947]


@pytest.mark.vcr("api/embed.yaml")
def test_embed_a_string_returns_one_normalised_vector(provider: OllamaProvider) -> None:
    vector = provider.embed(SKY, model=MINILM)

    assert len(vector) == 384  # one vector, not a list of them
    assert vector[:3] == pytest.approx(SKY_HEAD)
    assert l2_norm(vector) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.vcr("api/embed_batch.yaml")
async def test_async_embed_a_list_returns_one_vector_per_input_in_order(ollama_host: str) -> None:
    texts = [SKY, "Grass is green.", "Ollama runs models locally."]
    async with AsyncOllamaProvider(host=ollama_host) as provider:
        vectors = await provider.embed(texts, model=MINILM)

    assert len(vectors) == 3
    assert all(len(vector) == 384 for vector in vectors)
    assert [vector[0] for vector in vectors] == pytest.approx([0.017878471, -0.00010326465, 0.0066891112])
    assert vectors[0][:3] == pytest.approx(SKY_HEAD)  # the same text embeds the same in a batch
    assert all(l2_norm(vector) == pytest.approx(1.0, abs=1e-6) for vector in vectors)


@pytest.mark.vcr("api/embed_dimensions.yaml")
def test_embed_with_dimensions_returns_shorter_renormalised_vectors(provider: OllamaProvider) -> None:
    (vector,) = provider.embed([SKY], model=MINILM, dimensions=64)

    assert len(vector) == 64
    # Truncated to 64 values, then scaled back to unit length (so not a prefix of the 384 vector).
    assert vector[:3] == pytest.approx([0.04427677, 0.03345182, 0.105738275])
    assert l2_norm(vector) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.vcr("api/embed_truncated.yaml")
def test_embed_truncates_an_input_longer_than_the_context_by_default(provider: OllamaProvider) -> None:
    (vector,) = provider.embed([LONG_TEXT], model=MINILM)

    assert len(vector) == 384
    assert vector[:3] == pytest.approx([-0.041373897, -0.0935209, 0.01014639])
    assert l2_norm(vector) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.vcr("api/embeddings_legacy.yaml")
def test_legacy_embeddings_route_returns_one_float64_vector(provider: OllamaProvider) -> None:
    answer = provider.request("POST", "/api/embeddings", {"model": MINILM, "prompt": SKY})

    vector = answer["embedding"]
    assert len(vector) == 384
    # The same vector as /api/embed gives for this text, in full float64 precision.
    assert vector[:3] == pytest.approx(SKY_HEAD, abs=1e-8)
    assert vector[0] == 0.017878472805023193
    assert l2_norm(vector) == pytest.approx(1.0, abs=1e-6)
