"""Repository-wide pytest setup: which recordings a run uses, and the ``docs`` mark on doctests.

``--recordings DIR`` (see tests/recordings.py):

* replaying (``--record-mode=none``, the default): the run replays ``cassettes/recorded`` with every file
  of DIR laid over it, in a temporary copy. ``uv run pytest -m "not docs" tests --recordings
  ../shared/recordings/rerecorded-2026-12-01`` checks the suite against a faithful re-recording;
* recording (any other ``--record-mode``): cassettes are recorded into DIR (``tests/tools/record.py``
  drives this), never into ``cassettes/recorded``.

Doctests show the bundled recordings' answers on purpose (they are documentation): every doctest is
marked ``docs``, so ``-m "not docs"`` leaves them out of a run on other recordings.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from _pytest.doctest import DoctestItem

from tests.recordings import BUNDLED_DIR, is_recording, overlay, use_recordings

CASSETTES_ENV = "OLLAMA_PROVIDER_CASSETTES"  # where the demo and the notebooks find the recordings
_cleanup: list[tuple[Path, str | None]] = []


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--recordings",
        metavar="DIR",
        default=None,
        help="replay DIR laid over cassettes/recorded (its files replace the bundled ones of the same "
        "name); with a --record-mode other than none, record into DIR instead",
    )


def pytest_configure(config: pytest.Config) -> None:
    option = config.getoption("--recordings", default=None)
    if option is None:
        return
    directory = Path(option).resolve()
    if is_recording(config):
        directory.mkdir(parents=True, exist_ok=True)
        use_recordings(directory)
        return
    if not directory.is_dir():
        raise pytest.UsageError(f"--recordings {option}: no such directory")
    merged = overlay(BUNDLED_DIR, directory, Path(tempfile.mkdtemp(prefix="recordings-")))
    _cleanup.append((merged, os.environ.get(CASSETTES_ENV)))
    os.environ[CASSETTES_ENV] = str(merged)
    use_recordings(merged)


def pytest_unconfigure(config: pytest.Config) -> None:
    while _cleanup:
        merged, previous = _cleanup.pop()
        if previous is None:
            os.environ.pop(CASSETTES_ENV, None)
        else:
            os.environ[CASSETTES_ENV] = previous
        shutil.rmtree(merged, ignore_errors=True)


@pytest.hookimpl(tryfirst=True)  # before `-m` deselection
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if isinstance(item, DoctestItem):
            item.add_marker(pytest.mark.docs)
