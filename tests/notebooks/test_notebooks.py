"""Every notebook in notebooks/ runs top to bottom, and its saved outputs are what it really prints.

The notebooks talk to ``OLLAMA_HOST``: here a replay server over the run's recordings (every cell only
sends requests the bundled recordings hold), or the real Ollama at ``OLLAMA_HOST`` when one answers
there. The four notebooks execute concurrently, each in its own kernel, once per module.

Notebooks are documentation built from the bundled recordings, saved outputs included: every test here
is marked ``docs`` (``uv run python -m tests.tools.docs_outputs`` rebuilds them after a re-recording).
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Iterator
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from ollama_provider.cli_demo import probe
from ollama_provider.config import resolve_host
from ollama_provider.replay import ReplayServer

from ..recordings import REPO_ROOT, cassette, recordings_dir

pytestmark = pytest.mark.docs

NOTEBOOK_DIR = REPO_ROOT / "notebooks"
NOTEBOOKS = ("quickstart.ipynb", "langchain.ipynb", "llama_index.ipynb", "operations.ipynb")
CELL_TIMEOUT_SECONDS = 120

# What legitimately differs between two runs: ports of local servers, wall-clock durations.
_VARYING = (
    (re.compile(r"(127\.0\.0\.1|localhost):\d+"), r"\1:PORT"),
    (re.compile(r"\d+\.\d+s\b"), "N.NNs"),
)


def _live_host() -> str | None:
    raw = os.environ.get("OLLAMA_HOST")
    if not raw:
        return None
    url = resolve_host(raw)
    return url if probe(url) is not None else None


@pytest.fixture(scope="module")
def ollama_url() -> Iterator[tuple[str, bool]]:
    """(URL, live?): the real Ollama at OLLAMA_HOST if it answers, else a replay server."""
    live = _live_host()
    if live is not None:
        yield live, True
        return
    with ReplayServer(recordings_dir()) as server:
        yield server.url, False


async def _execute_all(url: str, live: bool) -> dict[str, nbformat.NotebookNode | BaseException]:
    env = {**os.environ, "OLLAMA_HOST": url}
    if not live:  # the pull example pulls a library model by default; replayed, the recorded pull
        env["PULL_MODEL"] = cassette("api/pull_local.yaml").exchange("/api/pull").request["model"]

    async def execute(name: str) -> nbformat.NotebookNode | BaseException:
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

    results = await asyncio.gather(*(execute(name) for name in NOTEBOOKS))
    return dict(zip(NOTEBOOKS, results, strict=True))


@pytest.fixture(scope="module")
def executed(ollama_url: tuple[str, bool]) -> dict[str, nbformat.NotebookNode | BaseException]:
    return asyncio.run(_execute_all(*ollama_url))


def _text_outputs(cell: Any) -> str:
    parts: list[str] = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            parts.append(output.get("text", ""))
        elif "data" in output:
            parts.append(output["data"].get("text/plain", ""))
        elif output.get("output_type") == "error":
            parts.append(f"{output.get('ename')}: {output.get('evalue')}")
    text = "".join(parts)
    for pattern, replacement in _VARYING:
        text = pattern.sub(replacement, text)
    return text


def _ran(executed: dict[str, nbformat.NotebookNode | BaseException], name: str) -> nbformat.NotebookNode:
    result = executed[name]
    if isinstance(result, BaseException):
        pytest.fail(f"{name} failed to execute: {result}")
    return result


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_top_to_bottom(
    executed: dict[str, nbformat.NotebookNode | BaseException], name: str
) -> None:
    notebook = _ran(executed, name)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code_cells
    assert all(cell.get("execution_count") for cell in code_cells)
    assert not [o for cell in code_cells for o in cell.outputs if o.get("output_type") == "error"]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_saved_outputs_are_what_the_notebook_prints(
    executed: dict[str, nbformat.NotebookNode | BaseException], ollama_url: tuple[str, bool], name: str
) -> None:
    if ollama_url[1]:
        pytest.skip("a live Ollama answers differently from the recordings the outputs were saved from")
    fresh = _ran(executed, name)
    saved = nbformat.read(NOTEBOOK_DIR / name, as_version=4)
    assert [c.source for c in saved.cells] == [c.source for c in fresh.cells]
    for saved_cell, fresh_cell in zip(saved.cells, fresh.cells, strict=True):
        if saved_cell.cell_type == "code":
            assert _text_outputs(saved_cell) == _text_outputs(fresh_cell), saved_cell.source


def test_the_recorded_answers_reach_each_framework(
    executed: dict[str, nbformat.NotebookNode | BaseException], ollama_url: tuple[str, bool]
) -> None:
    if ollama_url[1]:
        pytest.skip("these are the recorded answers; a live Ollama gives its own")
    printed = {name: "".join(_text_outputs(c) for c in _ran(executed, name).cells) for name in NOTEBOOKS}
    assert "healthy" in printed["quickstart.ipynb"]
    assert "get_weather {'city': 'Madrid'}" in printed["langchain.ipynb"]
    assert "The Eiffel Tower is in Paris" in printed["llama_index.ipynb"]
    assert "HTTP 503 /api/generate" in printed["operations.ipynb"]
    assert "restarted:  healthy" in printed["operations.ipynb"]
    assert "ContextLengthError 400" in printed["operations.ipynb"]
