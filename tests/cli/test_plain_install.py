"""``pip install ollama-provider`` installs the ``ollama-provider`` command: it must run from that
install alone, with no extra (issue 14: it crashed with ``No module named 'typer'``).

The distribution is built from this checkout into a wheel and installed into a fresh virtual
environment (no project packages, no system site-packages) with uv, which takes the dependencies
from its cache or PyPI. The command then runs against the replay server.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
INSTALL_TIMEOUT_SECONDS = 300


def _uv() -> str:
    uv = os.environ.get("UV") or shutil.which("uv")  # `uv run` tells its children where it is
    assert uv, "this test builds and installs the distribution with uv; put uv on PATH"
    return uv


def _run(
    *command: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_SECONDS,
        env=env,
        cwd=cwd,
        check=False,
    )


@pytest.fixture(scope="module")
def plain_install(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The ``bin`` folder of a fresh venv holding only the built wheel and its dependencies."""
    work = tmp_path_factory.mktemp("plain-install")
    uv = _uv()
    built = _run(uv, "build", "--wheel", "--out-dir", work / "dist", REPO_ROOT)
    assert built.returncode == 0, built.stderr
    (wheel,) = (work / "dist").glob("ollama_provider-*.whl")
    venv = work / "venv"
    created = _run(uv, "venv", "--quiet", "--python", sys.executable, venv)
    assert created.returncode == 0, created.stderr
    python = venv / ("Scripts" if os.name == "nt" else "bin") / "python"
    installed = _run(uv, "pip", "install", "--quiet", "--python", python, wheel)
    assert installed.returncode == 0, installed.stderr
    yield python.parent


def _installed(bin_dir: Path, program: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    """Run a program of the fresh venv, from its folder (from the checkout, ``python -c`` would
    import the checkout's sources) and without this environment's variables."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "OLLAMA_HOST")}
    env["NO_COLOR"] = "1"
    return _run(bin_dir / program, *arguments, cwd=bin_dir, env=env)


def test_the_installed_command_runs(plain_install: Path, replay_server: str) -> None:
    help_text = _installed(plain_install, "ollama-provider", "--help")
    assert help_text.returncode == 0, help_text.stderr
    assert "health" in help_text.stdout and "replay" in help_text.stdout
    models = _installed(plain_install, "ollama-provider", "--host", replay_server, "--json", "models")
    assert models.returncode == 0, models.stderr
    assert "smollm2:135m" in models.stdout


def test_an_unreachable_server_gets_the_documented_exit_code(plain_install: Path) -> None:
    result = _installed(plain_install, "ollama-provider", "--host", "127.0.0.1:1", "--retries", "0", "health")
    assert result.returncode == 3, result.stderr
    assert "ollama serve" in result.stderr


def test_the_fresh_environment_has_only_the_distribution(plain_install: Path) -> None:
    # The test proves something only if the venv cannot see this checkout's packages.
    probe = _installed(
        plain_install,
        "python",
        "-c",
        "import importlib.util as u, ollama_provider as o; "
        "print(o.__file__); print(u.find_spec('langchain_core') is None, u.find_spec('pytest') is None)",
    )
    assert probe.returncode == 0, probe.stderr
    location, absent = probe.stdout.splitlines()
    assert str(REPO_ROOT / "ollama_provider") not in location
    assert absent == "True True"
