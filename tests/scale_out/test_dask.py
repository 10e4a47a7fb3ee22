"""dask.distributed embeds a corpus across several Ollama hosts: a bag's partitions mapped on worker processes.

A ``LocalCluster`` of two worker *processes* (one thread each), started once for the module. The driver
hands a *used* embedding model to ``map_partitions``: Dask pickles it to each worker (configuration
only), where it opens its own connections and embeds over three fake Ollama processes through the pool.
``compute()`` gives the partitions back in order: every vector is checked against its own text, every
host must have embedded, and neither the driver nor the workers may see a warning. Needs the ``batch``
dependency group (``uv sync --group batch``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import Any

import pytest

db = pytest.importorskip("dask.bag", reason="Dask is in the optional `batch` dependency group")
distributed = pytest.importorskip("dask.distributed", reason="dask.distributed is in the `batch` group")

from langchain_ollama_provider import OllamaEmbeddings  # noqa: E402

from ollama_provider import OllamaProvider  # noqa: E402
from ollama_provider.testing import FakeHost  # noqa: E402

from .readme import run_example  # noqa: E402
from .workload import (  # noqa: E402
    CORPUS,
    MODEL,
    assert_every_host_embedded,
    assert_right_vectors,
    embed_partition,
    embed_with,
    our_log_warnings,
    warnings_raised,
)

pytestmark = pytest.mark.dask
WORKERS = 2


# First: it starts a cluster of its own, as a reader's script would, before the module's (both would
# want the scheduler's HTTP port).
def test_the_readme_example_runs() -> None:
    assert run_example("Dask").failed == 0


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    with (
        distributed.LocalCluster(
            n_workers=WORKERS, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as connected,
    ):
        yield connected


def used(kind: str, urls: list[str]) -> Any:
    """An embedding model of ``kind`` over every host, used once by the driver (it holds connections)."""
    model: Any = (
        OllamaProvider(hosts=urls)
        if kind == "core provider"
        else OllamaEmbeddings(model=MODEL, base_url=",".join(urls))
    )
    assert len(embed_with(model, ["warm up"])[0]) == 8
    return model


@pytest.mark.parametrize("kind", ["core provider", "langchain OllamaEmbeddings"])
def test_partitions_embed_on_worker_processes_across_the_hosts(
    client: Any, fakes: list[FakeHost], urls: list[str], kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    model = used(kind, urls)
    for host in fakes:  # count only what the workers send
        host.reset()
    caplog.set_level(logging.WARNING)
    with warnings_raised() as caught:
        on_every_worker = client.scatter(model, broadcast=True)  # one copy per worker, not one per task
        rows = (
            db.from_sequence(CORPUS, npartitions=8).map_partitions(embed_partition, on_every_worker).compute()
        )
    assert_right_vectors(CORPUS, [row["vector"] for row in rows])  # in order: compute() keeps it
    assert_every_host_embedded(fakes)
    workers = {row["worker"] for row in rows}  # (process, model object)
    assert len(workers) == WORKERS  # each worker process used one model (one connection pool) throughout
    assert os.getpid() not in {pid for pid, _ in workers}  # the workers embedded, not the driver
    assert {row["warnings"] for row in rows} == {""}  # in the workers
    assert [str(w.message) for w in caught] == []  # in the driver (pickling the used model included)
    assert our_log_warnings(caplog.records) == []
