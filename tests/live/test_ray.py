"""Ray Data embeds a few hundred texts across three real servers: ``map_batches`` on a pool of two actors.

The driver hands a *used* provider over the three servers to the actors (pickled as its configuration:
each actor opens its own connections); every vector is checked against what one server alone gave for its
text, and the servers' logs must show that each of them embedded. The local Ray session is the one of
``tests/scale_out`` (two CPUs, started once for the module). Needs the ``batch`` dependency group.
"""

from __future__ import annotations

import os
from types import ModuleType

import pytest

from ollama_provider import OllamaProvider
from tests.scale_out.test_ray import ray  # noqa: F401  # the module's Ray session (skips without Ray)

from .servers import OllamaServers
from .work import CORPUS, EmbedBatches, embed, mismatches

pytestmark = [pytest.mark.live_servers, pytest.mark.ray]
ACTORS = 2


def test_map_batches_embeds_the_corpus_across_the_servers(
    servers: OllamaServers,  # first: without servers, skipped before Ray starts
    reference_vectors: dict[str, list[float]],
    ray: ModuleType,  # noqa: F811
) -> None:
    with OllamaProvider(hosts=servers.urls) as provider:
        embed(provider, CORPUS[:3])  # used by the driver: it holds connections
        marks = servers.marks()
        rows = (
            ray.data.from_items(
                [{"id": i, "text": text} for i, text in enumerate(CORPUS)], override_num_blocks=6
            )
            .map_batches(
                EmbedBatches,
                fn_constructor_args=(provider,),
                compute=ray.data.ActorPoolStrategy(size=ACTORS),
                batch_size=50,
            )
            .take_all()
        )
    rows.sort(key=lambda row: row["id"])  # Ray Data does not keep the order of the blocks
    assert [row["id"] for row in rows] == list(range(len(CORPUS)))
    assert mismatches(CORPUS, [list(row["vector"]) for row in rows], reference_vectors) == []
    workers = {int(row["pid"]) for row in rows}
    assert len(workers) == ACTORS and os.getpid() not in workers  # the actors embedded, not the driver
    per_server = servers.requests("POST", "/api/embed", since=marks)
    assert all(per_server), f"every server embedded: {per_server}"
