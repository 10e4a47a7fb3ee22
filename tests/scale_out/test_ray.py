"""Ray Data embeds a corpus across several Ollama hosts: ``map_batches`` with a callable class holding one model.

A local Ray (two CPUs, one session for the module: Ray takes seconds to start) runs a pool of two actors;
each actor is built from a *used* embedding model pickled by the driver (configuration only: the actor
opens its own connections) and embeds its batches over three fake Ollama processes through the pool.
Every vector is checked against its own text, every host must have embedded, and neither the driver
nor the actors may see a warning. Needs the ``batch`` dependency group (``uv sync --group batch``).
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import warnings
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

if importlib.util.find_spec("ray") is None:
    pytest.skip("Ray is in the optional `batch` dependency group", allow_module_level=True)

from llama_index.embeddings.ollama_provider import OllamaEmbedding

from ollama_provider import OllamaProvider
from ollama_provider.testing import FakeHost

from .readme import run_example
from .workload import (
    CORPUS,
    MODEL,
    EmbedBatches,
    assert_every_host_embedded,
    assert_right_vectors,
    embed_with,
    our_log_warnings,
    warnings_raised,
)

pytestmark = pytest.mark.ray
ACTORS = 2


@pytest.fixture(scope="module")
def ray() -> Iterator[ModuleType]:
    """Ray, started once for the module, stopped at its end."""
    with pytest.MonkeyPatch.context() as env:
        # Under `uv run` (how this suite runs), Ray would ship the working directory to its workers
        # and start each one with `uv run` there: a fresh environment without this one's packages,
        # where the actors never start. Read when Ray is imported, hence the import here.
        env.setenv("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
        ray = importlib.import_module("ray")
        importlib.import_module("ray.data")
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
        with warnings.catch_warnings():  # Ray's own: its DataContext warns about its deprecated defaults
            warnings.simplefilter("ignore", DeprecationWarning)
            context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        context.print_on_execution_start = False
        context.wait_for_min_actors_s = 60  # both actors up before the first batch: both get work
        try:
            yield ray
        finally:
            ray.shutdown()


def used(kind: str, urls: list[str]) -> Any:
    """An embedding model of ``kind`` over every host, used once by the driver (it holds connections)."""
    model: Any
    if kind == "core provider":
        model = OllamaProvider(hosts=urls)
    else:
        model = OllamaEmbedding(model_name=MODEL, base_url=urls)
    assert len(embed_with(model, ["warm up"])[0]) == 8
    return model


@pytest.mark.parametrize("kind", ["core provider", "llama-index OllamaEmbedding"])
def test_map_batches_embeds_the_corpus_across_the_hosts(
    ray: ModuleType, fakes: list[FakeHost], urls: list[str], kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    model = used(kind, urls)
    for host in fakes:  # count only what the workers send
        host.reset()
    caplog.set_level(logging.WARNING)
    with warnings_raised() as caught:
        rows = (
            ray.data.from_items(
                [{"id": i, "text": text} for i, text in enumerate(CORPUS)], override_num_blocks=6
            )
            .map_batches(
                EmbedBatches,
                fn_constructor_args=(model,),
                compute=ray.data.ActorPoolStrategy(size=ACTORS),
                batch_size=50,
            )
            .take_all()
        )
    rows.sort(key=lambda row: row["id"])  # Ray Data does not keep the order of the blocks
    assert [row["id"] for row in rows] == list(range(len(CORPUS)))
    assert_right_vectors(CORPUS, [row["vector"] for row in rows])
    assert_every_host_embedded(fakes)
    workers = {int(row["pid"]) for row in rows}
    assert len(workers) == ACTORS and os.getpid() not in workers  # the actors embedded, not the driver
    assert {str(row["warnings"]) for row in rows} == {""}  # in the actors
    assert [str(w.message) for w in caught] == []  # in the driver (pickling the used model included)
    assert our_log_warnings(caplog.records) == []


def test_the_readme_example_runs(ray: ModuleType) -> None:
    assert run_example("Ray Data").failed == 0
