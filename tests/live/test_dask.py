"""dask.distributed embeds a few hundred texts across three real servers, through the LangChain adapter.

A bag's partitions are mapped on two worker processes (the ``tests/scale_out`` cluster, started once for the
module); the driver scatters a *used* ``OllamaEmbeddings`` over the three servers to each worker (pickled as
its configuration). Every vector is checked against what one server alone gave for its text, and the
servers' logs must show that each of them embedded. Needs the ``batch`` dependency group.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from langchain_ollama_provider import OllamaEmbeddings

from tests.scale_out.test_dask import client, db  # noqa: F401  # the module's cluster (skips without Dask)

from .servers import OllamaServers
from .work import CORPUS, EMBED_MODEL, EMBED_OPTIONS, embed_partition, mismatches

pytestmark = [pytest.mark.live_servers, pytest.mark.dask]


def test_partitions_embed_on_workers_across_the_servers(
    servers: OllamaServers,  # first: without servers, skipped before the cluster starts
    reference_vectors: dict[str, list[float]],
    client: Any,  # noqa: F811
) -> None:
    model = OllamaEmbeddings(model=EMBED_MODEL, base_url=",".join(servers.urls), **EMBED_OPTIONS)
    assert mismatches(CORPUS[:3], model.embed_documents(CORPUS[:3]), reference_vectors) == []  # used
    marks = servers.marks()
    on_every_worker = client.scatter(model, broadcast=True)
    rows = db.from_sequence(CORPUS, npartitions=8).map_partitions(embed_partition, on_every_worker).compute()
    assert mismatches(CORPUS, [row["vector"] for row in rows], reference_vectors) == []  # in order
    workers = {row["pid"] for row in rows}
    assert len(workers) == 2 and os.getpid() not in workers  # the workers embedded, not the driver
    per_server = servers.requests("POST", "/api/embed", since=marks)
    assert all(per_server), f"every server embedded: {per_server}"
