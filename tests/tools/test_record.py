"""``python -m tests.tools.record``: its checks, its plan, its skips, and a small real record run.

The server is the replay server standing in for a live Ollama (loopback): it answers what the
recordings hold, so a record run against it records real (replayed) answers. No registry listens on
the closed port used here, so the pull/push scenarios must be skipped with the reason.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import yaml

from ..recordings import cassette
from .record import REQUIRED_MODELS, Server, main, plan_run

#: A version test, a registry scenario and a replay-only one: what a record run records and skips.
SUBSET = [
    "tests/recorded/test_api_models.py::test_version",
    "tests/recorded/test_api_models.py::test_push_model_reports_upload_progress_per_layer",
    "tests/recorded/test_api_errors.py::test_server_busy_without_retries_raises_server_busy",
]


@pytest.fixture(scope="module")
def no_registry() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"


def ready_server() -> Server:
    return Server("http://127.0.0.1:11434", None, "0.33.0", frozenset(REQUIRED_MODELS))


def test_a_ready_server_gets_a_record_run_then_a_replay_run_on_the_same_folder(tmp_path: Path) -> None:
    plan = plan_run(ready_server(), tmp_path / "new", "127.0.0.1:5000", None, [])

    assert plan.problems == [] and plan.exit_code == 0
    assert plan.record[-7:] == [
        "-m",
        "recorded or replay_only",
        "--record-mode=new_episodes",
        f"--recordings={tmp_path / 'new'}",
        "-p",
        "no:cacheprovider",
        "--no-cov",
    ]
    assert plan.record.index("--timeout=1800") < plan.record.index("tests")  # minutes per test when recording
    tests = plan.verify.index("tests")
    assert plan.verify[tests : tests + 3] == ["tests", "-m", "not docs"]  # the suite, replayed
    assert (
        f"--recordings={tmp_path / 'new'}" in plan.verify and "--record-mode=new_episodes" not in plan.verify
    )
    assert not any("marked registry" in reason for reason in plan.skipped)


def test_no_registry_skips_the_pull_and_push_scenarios_and_says_how_to_run_one(tmp_path: Path) -> None:
    plan = plan_run(ready_server(), tmp_path, "127.0.0.1:5000", "no registry answers at 127.0.0.1:5000", [])

    assert plan.exit_code == 0
    assert any(
        r.startswith("pull and push scenarios (marked registry): no registry answers") for r in plan.skipped
    )
    assert any("replay_only" in reason for reason in plan.skipped)


def test_a_folder_with_files_is_refused(tmp_path: Path) -> None:
    (tmp_path / "api").mkdir()
    plan = plan_run(ready_server(), tmp_path, "127.0.0.1:5000", None, [])

    assert plan.exit_code == 2
    assert "is not an empty folder" in plan.problems[0]


def test_missing_models_are_named_with_the_command_that_creates_them(tmp_path: Path) -> None:
    server = Server("http://h:11434", None, "0.33.0", frozenset(REQUIRED_MODELS) - {"gemma3:270m"})
    plan = plan_run(server, tmp_path, "127.0.0.1:5000", None, [])

    assert plan.exit_code == 2
    assert "lacks the recordings' models gemma3:270m" in plan.problems[0]
    assert "ollama create gemma3:270m -f gemma3.Modelfile" in plan.problems[0]


def test_no_server_stops_before_anything_with_exit_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"

    assert main([str(tmp_path / "out"), "--host", dead, "--dry-run"]) == 3
    assert f"cannot record: no Ollama answers at {dead}" in capsys.readouterr().out
    assert not (tmp_path / "out").exists()


def test_the_dry_run_checks_the_server_and_prints_the_plan_only(
    replay_server: str, no_registry: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    version = cassette("api/version.yaml").exchange("/api/version", "GET").json["version"]

    code = main([str(tmp_path / "out"), "--host", replay_server, "--registry", no_registry, "--dry-run"])

    printed = capsys.readouterr().out
    assert code == 0, printed
    assert f"Ollama {version} at {replay_server}: recording into {tmp_path / 'out'}" in printed
    assert (
        f"skipped: pull and push scenarios (marked registry): no registry answers at {no_registry}" in printed
    )
    assert "docker run -d -p 5000:5000 registry:2" in printed
    assert f".ci/registry start {no_registry} DIR" in printed
    assert f"1. record: OLLAMA_HOST={replay_server}" in printed and "'recorded or replay_only'" in printed
    assert "2. replay the suite on it:" in printed
    assert not (tmp_path / "out").exists()  # nothing recorded


def test_a_record_run_records_what_the_server_answers_skips_the_rest_and_replays_it(
    replay_server: str, no_registry: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"

    code = main([str(out), "--host", replay_server, "--registry", no_registry, "--", *SUBSET])

    printed = capfd.readouterr().out
    assert code == 0, printed
    recorded = yaml.safe_load((out / "api" / "version.yaml").read_text(encoding="utf-8"))
    (interaction,) = recorded["interactions"]
    assert interaction["request"]["uri"] == f"{replay_server}/api/version"  # recorded from this server
    assert (
        interaction["response"]["body"]["string"]
        == cassette("api/version.yaml").exchange("/api/version", "GET").body
    )
    assert (
        not (out / "api" / "push_local.yaml").exists()
        and not (out / "api" / "server_busy_then_ok.yaml").exists()
    )
    assert f"cannot record: no registry answers at {no_registry}" in printed
    assert "replay only, kept as recorded: the 503 needs a server started with OLLAMA_MAX_QUEUE=1" in printed
    assert "record: exit 0; the suite on" in printed and "exit 0" in printed
    assert "Recorded" in (out / "RECORDING.md").read_text(encoding="utf-8")
