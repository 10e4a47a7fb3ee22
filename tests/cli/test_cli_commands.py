"""The ``ollama-provider`` commands, run in-process with typer's CliRunner against the replay server.

Every request the commands send here is one the recordings hold (the run's api/ cassettes), and the
expected values are read from those cassettes; the error paths use a closed port (no server) and
recorded 404s (missing model).
"""

from __future__ import annotations

import dataclasses
import json
import re
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from ollama_provider import ModelInfo, OllamaProvider, ProgressResponse, RunningModel, ShowResponse
from ollama_provider.cli._app import CliState, app
from ollama_provider.cli._output import ExitCode, human_size
from ollama_provider.streams import Stream

from ..recorded.expected import chat_text
from ..recordings import Exchange, cassette
from ..releases import PLAIN_REGISTRY_PULLS, refusal, skip_lacking

RUNNER = CliRunner()
HAIKU_PROMPT = "Write a haiku about the sea."  # recorded in api/chat_stream
EMBED_TEXTS = ["The sky is blue.", "Grass is green.", "Ollama runs models locally."]  # api/embed_batch


def recorded(name: str, path: str, method: str = "POST") -> Exchange:
    """The exchange on ``path`` of the run's cassette ``name`` (e.g. ``"api/tags.yaml"``)."""
    return cassette(name).exchange(path, method)


def haiku() -> Exchange:
    return recorded("api/chat_stream.yaml", "/api/chat")


def first_line(text: str) -> str:
    return text.strip().splitlines()[0]


def megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def run(host: str, *args: str, stdin: str | None = None) -> Result:
    return RUNNER.invoke(app, ["--host", host, *args], input=stdin)


@pytest.fixture(scope="module")
def dead_host() -> str:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# --------------------------------------------------------------------------------------------- health


def test_health_reports_version_and_models_as_json(replay_server: str) -> None:
    result = run(replay_server, "--json", "health")
    assert result.exit_code == ExitCode.OK, result.output
    report = json.loads(result.stdout)
    assert report["healthy"] is True
    assert report["version"] == recorded("api/version.yaml", "/api/version", "GET").json["version"]
    assert "smollm2:135m" in report["model_names"]
    assert report["latency"] > 0


def test_health_without_a_server_exits_3_and_says_how_to_start_ollama(dead_host: str) -> None:
    result = run(dead_host, "health")
    assert result.exit_code == ExitCode.UNREACHABLE
    assert "unhealthy" in result.stdout
    assert "ollama serve" in result.stderr


def test_a_command_without_a_server_exits_3_with_an_actionable_message(dead_host: str) -> None:
    result = run(dead_host, "--retries", "0", "models")
    assert result.exit_code == ExitCode.UNREACHABLE
    assert dead_host in result.stderr
    assert "ollama serve" in result.stderr
    assert "ollama-provider replay" in result.stderr


def test_errors_in_json_mode_are_one_parseable_object(dead_host: str) -> None:
    result = run(dead_host, "--json", "--retries", "0", "chat", "smollm2:135m", "Hi")
    assert result.exit_code == ExitCode.UNREACHABLE
    error = json.loads(result.stdout)
    assert error["type"] == "OllamaConnectionError"
    assert error["exit_code"] == ExitCode.UNREACHABLE
    assert "ollama serve" in error["hint"]


def test_an_invalid_host_is_a_usage_error() -> None:
    result = RUNNER.invoke(app, ["--host", "ftp://example.com", "models"])
    assert result.exit_code == ExitCode.USAGE
    assert "unsupported scheme" in result.stderr


# --------------------------------------------------------------------------------------------- models


def test_models_lists_size_family_quantisation_context_and_capabilities(replay_server: str) -> None:
    result = run(replay_server, "--json", "models")
    assert result.exit_code == ExitCode.OK, result.output
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    listed = {raw["name"]: raw for raw in recorded("api/tags.yaml", "/api/tags", "GET").json["models"]}
    assert set(rows) == set(listed) >= {"smollm2:135m", "all-minilm:latest", "gemma3:270m"}
    tools, raw = rows["smollm2-tools:135m"], listed["smollm2-tools:135m"]
    assert (tools["family"], tools["quantization"]) == (
        raw["details"]["family"],
        raw["details"]["quantization_level"],
    )
    # Capabilities come from /api/show (recorded for these models), and so does the context length
    # where /api/tags lists none (Ollama 0.12).
    shown = recorded("api/show_tools_model.yaml", "/api/show").json
    listed_context = raw["details"].get("context_length")
    shown_context = shown["model_info"][f"{shown['model_info']['general.architecture']}.context_length"]
    assert tools["context_length"] == (listed_context or shown_context)
    assert tools["capabilities"] == shown["capabilities"] and "tools" in tools["capabilities"]
    assert "thinking" in rows["smollm2-think:135m"]["capabilities"]
    assert rows["all-minilm:latest"]["capabilities"] == ["embedding"]
    assert rows["all-minilm:latest"]["size"] == listed["all-minilm:latest"]["size"]


def table_rows(printed: str) -> list[dict[str, list[str]]]:
    """The rows of a printed table, each column's text as its lines (a cell may wrap or fold).

    Columns are two spaces apart and start where their titles do in the header line; a row starts on
    a line whose second column is not blank (the first may fold over several lines, the second
    never wraps here).
    """
    lines = [line.rstrip() for line in printed.splitlines() if line.strip()]
    header, body = lines[0], lines[2:]  # lines[1]: the rule under the header
    titles = re.split(r" {2,}", header.strip())
    starts: list[int] = []
    for title in titles:
        starts.append(header.index(title, starts[-1] + 1 if starts else 0))
    rows: list[dict[str, list[str]]] = []
    for line in body:
        cells = [line[start:end].strip() for start, end in zip(starts, [*starts[1:], None], strict=True)]
        if cells[1] or not rows:
            rows.append({title: [] for title in titles})
        for title, cell in zip(titles, cells, strict=True):
            if cell:
                rows[-1][title].append(cell)
    return rows


def assert_models_table(printed: str, listed: list[dict[str, Any]]) -> None:
    """Each listed model is one row: its name in full (folded: pieces of it), size and family whole."""
    rows = {"".join(row["NAME"]): row for row in table_rows(printed)}
    assert set(rows) == {model["name"] for model in listed}
    for model in listed:
        row = rows[model["name"]]
        assert row["SIZE"] == [megabytes(model["size"])], row
        assert row["FAMILY"] == [model["details"]["family"]], row
        assert row["QUANT"] == [model["details"]["quantization_level"]], row


def test_models_table_shows_every_name_in_full(replay_server: str) -> None:
    result = run(replay_server, "models")
    assert result.exit_code == ExitCode.OK, result.output
    assert_models_table(result.stdout, recorded("api/tags.yaml", "/api/tags", "GET").json["models"])


class _WithRegistryCopy(OllamaProvider):
    """The recorded models, plus smollm2 copied under a registry's name (as `ollama cp` and a push
    leave it): the longest kind of name a real server lists."""

    LONG = "127.0.0.1:5000/library/smollm2:135m"

    def list_models(self) -> list[ModelInfo]:
        models = super().list_models()
        if any(model.name == self.LONG for model in models):  # a recording made beside that registry
            return models
        source = next(model for model in models if model.name == "smollm2:135m")
        return [*models, dataclasses.replace(source, name=self.LONG, model=self.LONG)]

    def show_model(self, name: str, **kwargs: Any) -> ShowResponse:
        return super().show_model("smollm2:135m" if name == self.LONG else name, **kwargs)


def test_models_table_stays_readable_in_80_columns_with_a_registry_name(
    monkeypatch: pytest.MonkeyPatch, replay_server: str
) -> None:
    monkeypatch.setattr(CliState, "provider", lambda self: _WithRegistryCopy(self.host))
    result = RUNNER.invoke(app, ["--host", replay_server, "models"], env={"COLUMNS": "80"})
    assert result.exit_code == ExitCode.OK, result.output

    assert max(len(line) for line in result.stdout.splitlines()) <= 80
    listed = recorded("api/tags.yaml", "/api/tags", "GET").json["models"]
    source = next(model for model in listed if model["name"] == "smollm2:135m")
    copy = next((model for model in listed if model["name"] == _WithRegistryCopy.LONG), None)
    assert_models_table(
        result.stdout, [*listed] if copy else [*listed, {**source, "name": _WithRegistryCopy.LONG}]
    )
    (long,) = [row for row in table_rows(result.stdout) if "".join(row["NAME"]) == _WithRegistryCopy.LONG]
    assert len(long["NAME"]) > 1  # folded over lines, not cut
    # Capabilities may wrap between words, never inside one.
    shown = recorded("api/show.yaml", "/api/show").json["capabilities"]
    assert " ".join(long["CAPABILITIES"]) == ", ".join(shown)


def test_models_running_lists_the_loaded_models(replay_server: str) -> None:
    result = run(replay_server, "--json", "models", "--running")
    assert result.exit_code == ExitCode.OK, result.output
    loaded = json.loads(result.stdout)
    running = recorded("api/ps.yaml", "/api/ps", "GET").json["models"]
    assert [m["name"] for m in loaded] == [m["name"] for m in running]
    assert loaded[0]["expires_at"].startswith(
        running[0]["expires_at"][:10]
    )  # the day, from the server's time


class _RunningRegistryCopy(OllamaProvider):
    """The recorded running models, plus the first one again under a registry's name."""

    def list_running(self) -> list[RunningModel]:
        loaded = super().list_running()
        return [
            *loaded,
            dataclasses.replace(loaded[0], name=_WithRegistryCopy.LONG, model=_WithRegistryCopy.LONG),
        ]


def test_models_running_table_stays_readable_in_80_columns_with_a_registry_name(
    monkeypatch: pytest.MonkeyPatch, replay_server: str
) -> None:
    monkeypatch.setattr(CliState, "provider", lambda self: _RunningRegistryCopy(self.host))
    result = RUNNER.invoke(app, ["--host", replay_server, "models", "--running"], env={"COLUMNS": "80"})
    assert result.exit_code == ExitCode.OK, result.output

    assert max(len(line) for line in result.stdout.splitlines()) <= 80
    running = recorded("api/ps.yaml", "/api/ps", "GET").json["models"]
    rows = table_rows(result.stdout)
    assert ["".join(row["NAME"]) for row in rows] == [m["name"] for m in running] + [_WithRegistryCopy.LONG]
    first = running[0]
    for row in (rows[0], rows[-1]):  # the copy is the first model again
        assert (row["SIZE"], row["IN VRAM"]) == (
            [human_size(first["size"])],
            [human_size(first["size_vram"])],
        )
        assert row["CONTEXT"] == [str(first["context_length"])]
        (until,) = row["UNTIL"]  # one piece, whole: the recorded time to the second
        assert until.startswith(first["expires_at"][:19])


def test_models_recommended_needs_no_server(dead_host: str) -> None:
    result = run(dead_host, "models", "--recommended")
    assert result.exit_code == ExitCode.OK, result.output
    assert "qwen2.5:7b" in result.stdout
    assert "131,072" in result.stdout


# --------------------------------------------------------------------------------------------- show


def test_show_prints_details_and_capabilities(replay_server: str) -> None:
    result = run(replay_server, "show", "smollm2:135m")
    assert result.exit_code == ExitCode.OK, result.output
    shown = recorded("api/show.yaml", "/api/show").json
    assert shown["details"]["parameter_size"] in result.stdout
    assert str(shown["model_info"]["llama.context_length"]) in result.stdout
    assert ", ".join(shown["capabilities"]) in result.stdout


def test_show_json_has_the_context_length(replay_server: str) -> None:
    result = run(replay_server, "--json", "show", "all-minilm:latest")
    assert result.exit_code == ExitCode.OK, result.output
    shown = json.loads(result.stdout)
    raw = recorded("api/show_embedding_model.yaml", "/api/show").json
    assert shown["capabilities"] == raw["capabilities"] == ["embedding"]
    assert shown["context_length"] == raw["model_info"]["bert.context_length"]


def test_show_of_a_missing_model_exits_4_and_says_how_to_pull_it(replay_server: str) -> None:
    result = run(replay_server, "show", "no-such-model:1b")
    assert result.exit_code == ExitCode.MODEL_NOT_FOUND
    assert "no-such-model:1b" in result.stderr
    assert "ollama-provider pull no-such-model:1b" in result.stderr


# --------------------------------------------------------------------------------------------- chat


def test_chat_streams_the_answer_then_usage_and_speed(replay_server: str) -> None:
    result = run(replay_server, "chat", "smollm2:135m", HAIKU_PROMPT)
    assert result.exit_code == ExitCode.OK, result.output
    lines = haiku().lines
    assert result.stdout.startswith(first_line(chat_text(lines)))
    final = lines[-1]
    assert f"{final['prompt_eval_count']} prompt + {final['eval_count']} completion tokens" in result.stderr
    assert "tokens/s" in result.stderr


def test_chat_json_gives_content_usage_and_done_reason(replay_server: str) -> None:
    result = run(replay_server, "--json", "chat", "smollm2:135m", HAIKU_PROMPT, "--temperature", "0")
    assert result.exit_code == ExitCode.OK, result.output
    reply = json.loads(result.stdout)
    lines = haiku().lines
    assert reply["content"] == chat_text(lines)
    final = lines[-1]
    assert reply["usage"] == {
        "prompt_tokens": final["prompt_eval_count"],
        "completion_tokens": final["eval_count"],
    }
    assert reply["done_reason"] == final["done_reason"]
    assert reply["tokens_per_second"] > 0


def test_chat_with_a_missing_model_exits_4_with_the_pull_command(replay_server: str) -> None:
    result = run(replay_server, "chat", "no-such-model:1b", "Hi")  # recorded: api/chat_missing_model
    assert result.exit_code == ExitCode.MODEL_NOT_FOUND
    assert "ollama-provider pull no-such-model:1b" in result.stderr


def test_chat_without_a_prompt_is_an_interactive_conversation(replay_server: str) -> None:
    result = run(replay_server, "chat", "smollm2:135m", stdin=f"{HAIKU_PROMPT}\n/bye\n")
    assert result.exit_code == ExitCode.OK, result.output
    assert first_line(chat_text(haiku().lines)) in result.stdout
    assert "/bye to leave" in result.stderr
    assert "tokens/s" in result.stderr


def test_interactive_chat_ends_cleanly_at_end_of_input(replay_server: str) -> None:
    result = run(replay_server, "chat", "smollm2:135m", stdin="")
    assert result.exit_code == ExitCode.OK, result.output


@pytest.mark.parametrize(
    ("option", "value", "complaint"),
    [("--think", "maybe", "--think takes"), ("--format", "{not json", "--format must be")],
)
def test_chat_rejects_bad_options_before_any_request(
    dead_host: str, option: str, value: str, complaint: str
) -> None:
    result = run(dead_host, "chat", "smollm2:135m", "Hi", option, value)
    assert result.exit_code == ExitCode.USAGE
    assert complaint in result.stderr


# --------------------------------------------------------------------------------------------- embed


def test_embed_json_returns_one_vector_per_text(replay_server: str) -> None:
    result = run(replay_server, "--json", "embed", "all-minilm", *EMBED_TEXTS)
    assert result.exit_code == ExitCode.OK, result.output
    vectors = json.loads(result.stdout)["embeddings"]
    assert [len(v) for v in vectors] == [384, 384, 384]


def test_embed_table_shows_dimensions_and_norm(replay_server: str) -> None:
    result = run(replay_server, "embed", "all-minilm", *EMBED_TEXTS)
    assert result.exit_code == ExitCode.OK, result.output
    assert "384" in result.stdout
    assert "1.000" in result.stdout  # all-minilm vectors are normalised


# --------------------------------------------------------------------------------------------- pull


def local_pull() -> Exchange:
    """The recorded pull from a registry (a real download of all-minilm)."""
    return recorded("api/pull_local.yaml", "/api/pull")


def _unless_the_pull_failed(pull: Exchange, result: Result) -> None:
    """Ollama 0.12 cannot pull from the plain registry of the recordings: its words, then a skip."""
    words = refusal(pull)
    if words is not None:
        assert result.exit_code == ExitCode.ERROR and words in result.output
        skip_lacking(f"{PLAIN_REGISTRY_PULLS}: it answered {words!r}")


def test_pull_draws_progress_and_ends_with_success(replay_server: str) -> None:
    pull = local_pull()
    name = pull.request["model"]
    result = run(replay_server, "pull", "--insecure", name)
    _unless_the_pull_failed(pull, result)
    assert result.exit_code == ExitCode.OK, result.output
    assert "pulling manifest" in result.stdout
    layer = next(line for line in pull.lines if line.get("digest"))
    assert layer["status"] in result.stdout  # the layer's bar
    total = megabytes(layer["total"]).removesuffix(" MB")
    assert f"{total}/{total} MB" in result.stdout
    assert result.stdout.rstrip().endswith(f"{name}: success")


def test_pull_json_prints_one_object_per_progress_update(replay_server: str) -> None:
    pull = local_pull()
    result = run(replay_server, "--json", "pull", "--insecure", pull.request["model"])
    _unless_the_pull_failed(pull, result)
    assert result.exit_code == ExitCode.OK, result.output
    updates = [json.loads(line) for line in result.stdout.splitlines()]
    assert [u["status"] for u in updates] == [line["status"] for line in pull.lines]
    assert updates[-1]["status"] == "success"
    assert [(u["digest"], u["total"], u["completed"]) for u in updates] == [
        (line.get("digest"), line.get("total"), line.get("completed")) for line in pull.lines
    ]
    # Progress moves forward within each layer (a pull reports its layers one after another, each
    # from its own start: a small layer after a big one reads less, and is no step back).
    per_layer: dict[str, list[int]] = {}
    for update in updates:
        if update["digest"]:
            per_layer.setdefault(update["digest"], []).append(update["completed"] or 0)
    assert per_layer
    assert all(completed == sorted(completed) for completed in per_layer.values())


class _InterruptedPull(OllamaProvider):
    """A provider whose pull is stopped by Ctrl-C after the first layer update."""

    closed = False

    def pull_model(self, name: str, **kwargs: Any) -> Any:  # type: ignore[override]
        def updates() -> Iterator[ProgressResponse]:
            try:
                yield ProgressResponse("pulling manifest")
                yield ProgressResponse("pulling abc", digest="sha256:" + "ab" * 32, total=1000, completed=10)
                raise KeyboardInterrupt
            finally:
                _InterruptedPull.closed = True

        return Stream(updates())


def test_ctrl_c_during_a_pull_exits_130_and_says_how_to_resume(
    monkeypatch: pytest.MonkeyPatch, replay_server: str
) -> None:
    monkeypatch.setattr(CliState, "provider", lambda self: _InterruptedPull(self.host))
    result = run(replay_server, "pull", "qwen2.5:0.5b")
    assert result.exit_code == ExitCode.INTERRUPTED
    assert "run `ollama-provider pull qwen2.5:0.5b` again to resume" in result.stderr
    assert _InterruptedPull.closed  # the stream (and its connection) was closed


def test_a_pull_that_fails_inside_the_stream_reports_the_servers_error(replay_server: str) -> None:
    # api/pull_unreachable: the server answers 200, then an error line (registry unreachable).
    result = run(replay_server, "--retries", "0", "pull", "qwen2.5:0.5b")
    assert result.exit_code == ExitCode.ERROR
    assert "Error:" in result.stderr


def test_help_lists_every_command() -> None:
    result = RUNNER.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("health", "models", "show", "pull", "chat", "embed", "replay", "demo"):
        assert command in result.stdout
