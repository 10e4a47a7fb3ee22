"""pull_model resumes after a dropped connection (Ollama keeps the partial download)."""

from __future__ import annotations

from typing import Any

import pytest

from ollama_provider import (
    AsyncOllamaProvider,
    IncompleteStreamError,
    OllamaProvider,
    OllamaResponseError,
    ProgressResponse,
)

from .fault_server import Exchange, FaultServer, progress_line


def dropping_pulls(drops: int) -> Any:
    """The first ``drops`` pulls break off at 30 %; the next one resumes from 60 % to success."""

    def script(exchange: Exchange) -> None:
        pulls = sum(r.path == "/api/pull" for r in exchange.server.stats.requests)
        exchange.start_stream()
        exchange.line(progress_line("pulling manifest"))
        if pulls <= drops:
            exchange.line(progress_line("pulling ab", 30, 100))
            exchange.drop()
            return
        for line in (progress_line("pulling ab", 60, 100), progress_line("pulling ab", 100, 100)):
            exchange.line(line)
        exchange.line(progress_line("verifying sha256 digest"))
        exchange.line(progress_line("success"))
        exchange.end_stream()

    return script


def summary(updates: list[ProgressResponse]) -> list[tuple[str, float | None]]:
    return [(u.status, u.percent) for u in updates]


EXPECTED = [
    ("pulling manifest", None),
    ("pulling ab", 30.0),  # the first, dropped pull
    ("pulling manifest", None),
    ("pulling ab", 60.0),  # the resumed pull
    ("pulling ab", 100.0),
    ("verifying sha256 digest", None),
    ("success", None),
]


def test_pull_resumes_after_a_drop(server: FaultServer, fast: dict[str, Any]) -> None:
    server.script = dropping_pulls(1)
    seen: list[ProgressResponse] = []
    with OllamaProvider(server.url, **fast) as provider:
        final = provider.pull_model("llama3.2", progress=seen.append)
    assert final.status == "success"
    assert summary(seen) == EXPECTED  # the callback saw both attempts
    assert server.paths() == ["/api/pull", "/api/pull"]


def test_pull_stream_resumes_after_a_drop(server: FaultServer, fast: dict[str, Any]) -> None:
    server.script = dropping_pulls(1)
    with OllamaProvider(server.url, **fast) as provider:
        updates = list(provider.pull_model("llama3.2", stream=True))
    assert summary(updates) == EXPECTED


async def test_pull_resumes_after_a_drop_async(server: FaultServer, fast: dict[str, Any]) -> None:
    server.script = dropping_pulls(2)
    seen: list[ProgressResponse] = []
    async with AsyncOllamaProvider(server.url, **fast) as provider:
        final = await provider.pull_model("llama3.2", progress=seen.append)
    assert final.status == "success"
    assert [u.status for u in seen].count("pulling manifest") == 3
    assert server.paths() == ["/api/pull"] * 3


def test_pull_gives_up_after_the_configured_retries(server: FaultServer, fast: dict[str, Any]) -> None:
    server.script = dropping_pulls(99)
    with (
        OllamaProvider(server.url, **{**fast, "retries": 1}) as provider,
        pytest.raises(IncompleteStreamError),
    ):
        provider.pull_model("llama3.2")
    assert server.paths() == ["/api/pull"] * 2


def test_pull_refused_by_the_server_is_not_resumed(server: FaultServer, fast: dict[str, Any]) -> None:
    server.script = lambda exchange: exchange.respond(
        500, {"error": "pull model manifest: file does not exist"}
    )
    with (
        OllamaProvider(server.url, **fast) as provider,
        pytest.raises(OllamaResponseError, match="does not exist"),
    ):
        provider.pull_model("llama3.2")
    assert server.paths() == ["/api/pull"]
