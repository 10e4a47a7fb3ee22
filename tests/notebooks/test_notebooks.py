"""Every notebook in notebooks/ runs top to bottom, and its saved outputs are what it really prints.

The notebooks talk to ``OLLAMA_HOST``: here a replay server over the run's recordings (every cell only
sends requests the bundled recordings hold), or the real Ollama at ``OLLAMA_HOST`` when one answers
there; scale_out starts fake Ollama processes of its own instead of the replay server. The notebooks
execute concurrently, each in its own kernel, once per module.

Notebooks are documentation built from the bundled recordings, saved outputs included: every test here
is marked ``docs`` (``uv run python -m tests.tools.docs_outputs`` rebuilds them after a re-recording).
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import re
from collections.abc import Iterator
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from ollama_provider.cli._demo import probe
from ollama_provider.config import resolve_host
from ollama_provider.testing import ReplayServer

from ..live_server import registry, registry_problem
from ..recordings import REPO_ROOT, cassette, recordings_dir

NOTEBOOK_DIR = REPO_ROOT / "notebooks"
NOTEBOOKS = (
    "quickstart.ipynb",
    "langchain.ipynb",
    "llama_index.ipynb",
    "operations.ipynb",
    "scale_out.ipynb",
)
# These start servers of their own (fake Ollamas) unless OLLAMA_HOST names a live one: never the replay server.
OWN_SERVERS = {"scale_out.ipynb"}
# Notebooks on an optional dependency group: a module it brings, and the group.
NEEDS = {"scale_out.ipynb": ("ray", "batch")}
CELL_TIMEOUT_SECONDS = 120

# What legitimately differs between two runs: ports of local servers, wall-clock durations.
_VARYING = (
    (re.compile(r"(127\.0\.0\.1|localhost):\d+"), r"\1:PORT"),
    (re.compile(r"\d+\.\d+s\b"), "N.NNs"),
)
# ... and, in one notebook only, the throughput it measures and the time, process and actor in the one
# line Ray logs when its first actor starts.
_VARYING_IN = {
    "scale_out.ipynb": (
        (re.compile(r"\b\d+ texts/s\b"), "N texts/s"),
        (re.compile(r"^\[[\d-]+ [\d:,]+ ([A-Z]) \d+ \d+\]", re.MULTILINE), r"[TIME \1 PID PID]"),
        (re.compile(r"ID: '[0-9a-f]+'"), "ID: 'ACTOR'"),
        (re.compile(r"core_worker\.cc:\d+"), "core_worker.cc:LINE"),
    )
}
# Text a carriage return sends the cursor back over (a progress bar redrawing itself): a reader sees
# only what was written last, and how many redraws there were depends on timing.
_OVERWRITTEN = re.compile(r"[^\n]*\r(?=[^\n])")


def _missing(name: str) -> str | None:
    """Why ``name`` cannot run here (its optional dependency group is not installed), or None."""
    module, group = NEEDS.get(name, ("os", ""))
    if importlib.util.find_spec(module) is None:
        return f"{name} needs the `{group}` dependency group (uv sync --group {group})"
    return None


def _live_host() -> str | None:
    raw = os.environ.get("OLLAMA_HOST")
    if not raw:
        return None
    url = resolve_host(raw)
    return url if probe(url) is not None else None


# With an Ollama answering at OLLAMA_HOST the notebooks run against it: `pytest -m live` selects them.
pytestmark = [pytest.mark.docs, *([pytest.mark.live] if _live_host() else [])]


@pytest.fixture(scope="module")
def ollama_url() -> Iterator[tuple[str, bool]]:
    """(URL, live?): the real Ollama at OLLAMA_HOST if it answers, else a replay server."""
    live = _live_host()
    if live is not None:
        yield live, True
        return
    with ReplayServer(recordings_dir()) as server:
        yield server.url, False


async def _execute_all(url: str, live: bool) -> dict[str, nbformat.NotebookNode | BaseException | str]:
    """Every runnable notebook, executed: the notebook, the error it raised, or why it was not run."""
    # Without PYTEST_CURRENT_TEST the kernel also shows what libraries write to its file descriptors
    # (Ray's C++ logging), as it does for a user and when the saved outputs were made.
    common = {
        key: value for key, value in os.environ.items() if key not in ("OLLAMA_HOST", "PYTEST_CURRENT_TEST")
    }
    # The pull example pulls a library model by default. Replayed: the recorded pull. Live: the same
    # model from the test registry, never from the public internet (no registry: not run live).
    pulled = cassette("api/pull_local.yaml").exchange("/api/pull").request["model"]
    skipped: dict[str, str] = {}
    if not live:
        common["PULL_MODEL"] = pulled
    elif (problem := registry_problem(registry())) is None:
        common["PULL_MODEL"] = f"{registry()}/library/{pulled.rsplit('/', 1)[-1]}"
        common["PULL_INSECURE"] = "1"
    else:
        skipped["operations.ipynb"] = (
            f"operations.ipynb pulls a model: live, only from a local registry; {problem}"
        )

    async def execute(name: str) -> nbformat.NotebookNode | BaseException | str:
        if name in skipped:
            return skipped[name]
        env = dict(common)
        if live or name not in OWN_SERVERS:
            env["OLLAMA_HOST"] = url
        notebook = nbformat.read(NOTEBOOK_DIR / name, as_version=4)
        client = NotebookClient(
            notebook,
            timeout=CELL_TIMEOUT_SECONDS,
            kernel_name="python3",
            resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
        )
        try:
            await client.async_execute(env=env)
        except Exception as error:  # reported by the test of that notebook
            return error
        return notebook

    runnable = [name for name in NOTEBOOKS if _missing(name) is None]
    results = await asyncio.gather(*(execute(name) for name in runnable))
    return dict(zip(runnable, results, strict=True))


@pytest.fixture(scope="module")
def executed(ollama_url: tuple[str, bool]) -> dict[str, nbformat.NotebookNode | BaseException | str]:
    return asyncio.run(_execute_all(*ollama_url))


def _text_outputs(cell: Any, name: str) -> str:
    parts: list[str] = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            parts.append(output.get("text", ""))
        elif "data" in output:
            parts.append(output["data"].get("text/plain", ""))
        elif output.get("output_type") == "error":
            parts.append(f"{output.get('ename')}: {output.get('evalue')}")
    text = _OVERWRITTEN.sub("", "".join(parts))
    for pattern, replacement in (*_VARYING, *_VARYING_IN.get(name, ())):
        text = pattern.sub(replacement, text)
    return text


def _ran(
    executed: dict[str, nbformat.NotebookNode | BaseException | str], name: str
) -> nbformat.NotebookNode:
    missing = _missing(name)
    if missing is not None:
        pytest.skip(missing)
    result = executed[name]
    if isinstance(result, str):
        pytest.skip(result)
    if isinstance(result, BaseException):
        pytest.fail(f"{name} failed to execute: {result}")
    return result


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_top_to_bottom(
    executed: dict[str, nbformat.NotebookNode | BaseException | str], name: str
) -> None:
    notebook = _ran(executed, name)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code_cells
    assert all(cell.get("execution_count") for cell in code_cells)
    assert not [o for cell in code_cells for o in cell.outputs if o.get("output_type") == "error"]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_saved_outputs_are_what_the_notebook_prints(
    executed: dict[str, nbformat.NotebookNode | BaseException | str], ollama_url: tuple[str, bool], name: str
) -> None:
    if ollama_url[1]:
        pytest.skip("a live Ollama answers differently from the recordings the outputs were saved from")
    fresh = _ran(executed, name)
    saved = nbformat.read(NOTEBOOK_DIR / name, as_version=4)
    assert [c.source for c in saved.cells] == [c.source for c in fresh.cells]
    for saved_cell, fresh_cell in zip(saved.cells, fresh.cells, strict=True):
        if saved_cell.cell_type == "code":
            assert _text_outputs(saved_cell, name) == _text_outputs(fresh_cell, name), saved_cell.source


def test_the_recorded_answers_reach_each_framework(
    executed: dict[str, nbformat.NotebookNode | BaseException | str], ollama_url: tuple[str, bool]
) -> None:
    if ollama_url[1]:
        pytest.skip("these are the recorded answers; a live Ollama gives its own")
    replayed = [name for name in NOTEBOOKS if name not in OWN_SERVERS]
    printed = {name: "".join(_text_outputs(c, name) for c in _ran(executed, name).cells) for name in replayed}
    assert "healthy" in printed["quickstart.ipynb"]
    assert "get_weather {'city': 'Madrid'}" in printed["langchain.ipynb"]
    assert "The Eiffel Tower is in Paris" in printed["llama_index.ipynb"]
    assert "HTTP 503 /api/generate" in printed["operations.ipynb"]
    assert "restarted:  healthy" in printed["operations.ipynb"]
    assert "ContextLengthError 400" in printed["operations.ipynb"]


def test_scale_out_embeds_every_text_right_on_every_host(
    executed: dict[str, nbformat.NotebookNode | BaseException | str], ollama_url: tuple[str, bool]
) -> None:
    if ollama_url[1]:
        pytest.skip("checked against the fake servers' known vectors; a live Ollama gives its own")
    printed = "".join(_text_outputs(c, "scale_out.ipynb") for c in _ran(executed, "scale_out.ipynb").cells)
    assert "3 fake Ollama servers started (OLLAMA_HOST is not set)" in printed
    assert "embedding: 100%" in printed and "3000/3000 texts" in printed
    assert "vectors checked: 3000 right, 0 wrong" in printed
    assert "hosts that embedded: ['host-1', 'host-2', 'host-3']" in printed
