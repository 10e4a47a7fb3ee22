"""``ollama-provider demo``: picks its server, runs every step against recorded answers, reports each.

The demo is run once per module (it imports LangChain and LlamaIndex, which takes seconds).
"""

from __future__ import annotations

import json
import socket
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from ollama_provider.cli import app
from ollama_provider.cli_demo import DEMO_STEPS, DemoModels, DemoStep, demo_server, run_demo, run_step
from ollama_provider.cli_output import ExitCode, Output

RUNNER = CliRunner()


def _dead_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture(scope="module")
def demo_report() -> dict[str, Any]:
    """``demo --json`` with no OLLAMA_HOST: the replay server answers every step."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("OLLAMA_HOST", raising=False)
        result = RUNNER.invoke(app, ["--json", "demo", "--pace", "0"])
    report: dict[str, Any] = json.loads(result.stdout)
    report["exit_code"] = result.exit_code
    return report


def test_demo_without_ollama_replays_the_recordings(demo_report: dict[str, Any]) -> None:
    assert demo_report["server"]["kind"] == "replay"
    assert demo_report["server"]["version"] == "0.33.0-rc2"


def test_demo_reports_every_step_with_its_duration(demo_report: dict[str, Any]) -> None:
    steps = demo_report["steps"]
    assert [s["title"] for s in steps] == [step.title for step in DEMO_STEPS]
    assert all(s["seconds"] > 0 for s in steps)


def test_demo_core_stream_step_returns_the_recorded_answer(demo_report: dict[str, Any]) -> None:
    core = demo_report["steps"][0]
    assert core["ok"], core
    assert "17 prompt + 40 completion tokens" in core["returned"]


def test_demo_langchain_tool_call_runs_the_tool(demo_report: dict[str, Any]) -> None:
    step = demo_report["steps"][1]
    assert step["ok"], step
    assert "get_weather({'city': 'Madrid'})" in step["returned"]
    assert "Sunny and 24 °C in Madrid" in step["returned"]


def test_demo_langchain_structured_output_is_a_validated_object(demo_report: dict[str, Any]) -> None:
    step = demo_report["steps"][2]
    assert step["ok"], step
    assert step["returned"] == "Person(name='Grace Hopper', age=85)"


def test_demo_human_output_names_the_replay_and_each_step(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_demo(Output(), replay_only=True, pace=None, steps=DEMO_STEPS[:1]) is True
    printed = capsys.readouterr()
    assert "Replaying real recorded Ollama answers" in printed.err
    assert "[1/1] Core: streamed chat" in printed.out
    assert "1. **Sail into the unknown**" in printed.out  # streamed as it arrived
    assert "✓" in printed.out


def test_demo_falls_back_to_the_replay_when_ollama_host_does_not_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dead = _dead_url()
    monkeypatch.setenv("OLLAMA_HOST", dead)
    notes: list[str] = []

    class Notes:
        json_mode = False

        def note(self, text: str) -> None:
            notes.append(text)

    with demo_server(None, notes=Notes()) as server:  # type: ignore[arg-type]
        assert server.replayed
    assert f"No Ollama answers at {dead}" in notes[0]
    assert "Replaying real recorded Ollama answers" in notes[1]


def test_demo_uses_ollama_host_when_a_server_answers(
    monkeypatch: pytest.MonkeyPatch, replay_server: str
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", replay_server)  # stands in for a real Ollama
    with demo_server(None) as server:
        assert server.url == replay_server
        assert not server.replayed


def test_a_step_whose_adapter_is_missing_says_what_to_install() -> None:
    def needs_missing_package(url: str, models: DemoModels, console: object) -> str:
        import langchain_ollama_provider_not_there  # type: ignore[import-not-found]  # noqa: F401

        return "unreachable"

    step = DemoStep("LangChain: missing", needs_missing_package, needs="langchain-ollama-provider")
    result = run_step(step, "http://127.0.0.1:1", DemoModels(), None)
    assert not result.ok
    assert "langchain-ollama-provider is not importable" in (result.error or "")
    assert "pip install langchain-ollama-provider" in (result.hint or "")


def test_a_step_against_no_server_fails_with_the_start_hint() -> None:
    result = run_step(DEMO_STEPS[0], _dead_url(), DemoModels(), None)
    assert not result.ok
    assert (result.error or "").startswith("OllamaConnectionError")
    assert "ollama serve" in (result.hint or "")


def test_demo_exit_code_matches_its_steps(demo_report: dict[str, Any]) -> None:
    expected = ExitCode.OK if all(s["ok"] for s in demo_report["steps"]) else ExitCode.ERROR
    assert demo_report["exit_code"] == expected
    assert demo_report["ok"] is (expected == ExitCode.OK)


def test_demo_llama_index_rag_answers_from_the_retrieved_document(demo_report: dict[str, Any]) -> None:
    step = demo_report["steps"][3]
    assert step["ok"], step
    assert "'1. The Eiffel Tower was finished in 1889.'" in step["returned"]
    assert "retrieved: 'The Eiffel Tower is in Paris and was finished in 1889.'" in step["returned"]


def test_the_replay_server_answers_the_rag_query_embedding_sent_as_a_list(replay_server: str) -> None:
    # Recorded as a bare string by the official integration (frameworks/li_rag); the core sends a list.
    body = {"model": "all-minilm:latest", "input": ["When was the Eiffel Tower finished?"]}
    answer = httpx.post(f"{replay_server}/api/embed", json=body, timeout=10)
    assert answer.status_code == 200
    assert len(answer.json()["embeddings"][0]) == 384
