"""``ollama-provider demo``: picks its server, runs every step against recorded answers, reports each.

The demo replays the run's recordings (``OLLAMA_PROVIDER_CASSETTES`` points it at the overlay of
``--recordings``); what each step returned is compared with the recorded answers of its requests. The
demo is run once per module (it imports LangChain and LlamaIndex, which takes seconds).
"""

from __future__ import annotations

import json
import socket
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from ollama_provider.cli import app
from ollama_provider.cli._demo import DEMO_STEPS, DemoModels, DemoStep, demo_server, run_demo, run_step
from ollama_provider.cli._output import ExitCode, Output

from ..live_answers import LiveAnswers
from ..recorded.expected import chat_text
from ..recordings import cassette

RUNNER = CliRunner()


def recorded_haiku() -> list[dict[str, Any]]:
    """The recorded answer of the core step (its request is api/chat_stream's)."""
    return cassette("api/chat_stream.yaml").exchange("/api/chat").lines


def recorded_answer(name: str) -> str:
    """The text of the (only) chat answer of a framework flow."""
    return chat_text(cassette(name).exchange("/api/chat").lines)


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
    version = cassette("api/version.yaml").exchange("/api/version", "GET").json["version"]
    assert demo_report["server"]["version"] == version


def test_demo_reports_every_step_with_its_duration(demo_report: dict[str, Any]) -> None:
    steps = demo_report["steps"]
    assert [s["title"] for s in steps] == [step.title for step in DEMO_STEPS]
    assert all(s["seconds"] > 0 for s in steps)


def test_demo_core_stream_step_returns_the_recorded_answer(demo_report: dict[str, Any]) -> None:
    core = demo_report["steps"][0]
    assert core["ok"], core
    lines = recorded_haiku()
    assert core["returned"].startswith(f"{len(chat_text(lines))} characters streamed")
    final = lines[-1]
    assert (
        f"{final['prompt_eval_count']} prompt + {final['eval_count']} completion tokens" in core["returned"]
    )


def test_demo_langchain_tool_call_runs_the_tool(demo_report: dict[str, Any]) -> None:
    step = demo_report["steps"][1]
    assert step["ok"], step
    lines = cassette("frameworks/lc_tool_call.yaml").exchange("/api/chat").lines
    (call,) = [c for line in lines for c in line["message"].get("tool_calls") or []]
    arguments = call["function"]["arguments"]
    assert f"get_weather({arguments})" in step["returned"]
    assert f"Sunny and 24 °C in {arguments['city']}" in step["returned"]  # the tool ran on them


def test_demo_langchain_structured_output_is_a_validated_object(demo_report: dict[str, Any]) -> None:
    step = demo_report["steps"][2]
    assert step["ok"], step
    person = json.loads(recorded_answer("frameworks/lc_structured_output.yaml"))
    assert step["returned"] == f"Person(name={person['name']!r}, age={person['age']!r})"


def test_demo_human_output_names_the_replay_and_each_step(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_demo(Output(), replay_only=True, pace=None, steps=DEMO_STEPS[:1]) is True
    printed = capsys.readouterr()
    assert "Replaying real recorded Ollama answers" in printed.err
    assert "[1/1] Core: streamed chat" in printed.out
    assert chat_text(recorded_haiku()).strip().splitlines()[0] in printed.out  # streamed as it arrived
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
    first_line = recorded_answer("frameworks/li_rag.yaml").strip().splitlines()[0]
    assert f"-> {first_line!r}" in step["returned"]
    assert "retrieved: 'The Eiffel Tower is in Paris and was finished in 1889.'" in step["returned"]


def test_the_replay_server_answers_the_rag_query_embedding_sent_as_a_list(replay_server: str) -> None:
    # Recorded as a bare string by the official integration (frameworks/li_rag); the core sends a list.
    body = {"model": "all-minilm:latest", "input": ["When was the Eiffel Tower finished?"]}
    answer = httpx.post(f"{replay_server}/api/embed", json=body, timeout=10)
    assert answer.status_code == 200
    assert len(answer.json()["embeddings"][0]) == 384


@pytest.mark.live
def test_demo_against_a_live_ollama_reports_what_it_answered(
    monkeypatch: pytest.MonkeyPatch, ollama_host: str, live_answers: LiveAnswers
) -> None:
    """``ollama-provider demo`` with OLLAMA_HOST set: every step runs on that server, and what each
    step reports is what the server answered (kept as the demo read it: ``live_answers``)."""
    monkeypatch.setenv("OLLAMA_HOST", ollama_host)
    result = RUNNER.invoke(app, ["--json", "demo", "--pace", "0"])
    report = json.loads(result.stdout)

    assert report["server"]["kind"] == "Ollama" and report["server"]["url"] == ollama_host
    assert report["server"]["version"] == httpx.get(f"{ollama_host}/api/version").json()["version"]
    steps = report["steps"]
    assert [s["title"] for s in steps] == [step.title for step in DEMO_STEPS]
    assert [s["error"] for s in steps] == [None] * len(DEMO_STEPS), steps
    assert result.exit_code == 0
    chats = [exchange.lines for exchange in live_answers.cassette().all("/api/chat")]
    haiku, tool_call, structured, rag = chats[0], chats[1], chats[2], chats[-1]
    final = haiku[-1]
    assert steps[0]["returned"].startswith(
        f"{len(chat_text(haiku))} characters streamed; {final['prompt_eval_count']} prompt + "
        f"{final['eval_count']} completion tokens"
    )
    (call,) = [c for line in tool_call for c in line["message"].get("tool_calls") or []]
    assert f"get_weather({call['function']['arguments']})" in steps[1]["returned"]
    person = json.loads(chat_text(structured))
    assert steps[2]["returned"] == f"Person(name={person['name']!r}, age={person['age']!r})"
    answer = chat_text(rag).strip()
    assert f"-> {answer.splitlines()[0] if answer else ''!r}" in steps[3]["returned"]
