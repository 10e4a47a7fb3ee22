"""deploy/nginx/ollama.conf for real: nginx in front of three fake Ollama processes on loopback.

Clients are given the one nginx URL, as users would (streams also through a TLS listener, where
a buffering proxy would hold them back). Each fake answers "<host name> says: <last message>" and
counts what it was asked (``/_fake/stats``), so a test can tell which box served a request and
which boxes were tried. Our provider runs with ``retries=0`` where a retry is the point
of the test: whatever failover happens is nginx's.

nginx remembers failed boxes (``max_fails``/``fail_timeout``) and keeps connections per worker, so
the tests that make a box fail get an nginx of their own (``fresh_nginx``); the others share one.
"""

from __future__ import annotations

import ssl
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ollama
import pytest

from ollama_provider import IncompleteStreamError, OllamaProvider, ServerBusyError
from ollama_provider.testing import FakeHost, answered_by, vector_of

from ..fakes import started_once
from .nginx_server import NginxServer, find_nginx, free_port, self_signed_certificate

NGINX = find_nginx()
pytestmark = pytest.mark.skipif(
    NGINX is None, reason="nginx is not installed (Debian: apt-get install nginx; .ci/run installs it)"
)

MODELS = [
    "llama3.2", "qwen2.5:7b", "mistral", "gemma3", "phi4", "all-minilm",
    "nomic-embed-text", "deepseek-r1:8b", "codellama", "llava", "smollm2:135m", "granite3.3",
]  # fmt: skip
CHUNKS = 5
CHUNK_INTERVAL = 0.15  # seconds a fake waits after each streamed piece


fakes = started_once(3, prefix="box", models=MODELS, chunks=CHUNKS, chunk_interval=CHUNK_INTERVAL)


@pytest.fixture
def boxes(fakes: list[FakeHost]) -> list[FakeHost]:
    return [host.fresh() for host in fakes]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path] | None:
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def shared_nginx(
    tmp_path_factory: pytest.TempPathFactory, fakes: list[FakeHost], certificate: tuple[Path, Path] | None
) -> Iterator[NginxServer]:
    assert NGINX is not None
    server = NginxServer(NGINX, tmp_path_factory.mktemp("nginx"), [host.url for host in fakes], certificate)
    yield server
    server.stop()


@pytest.fixture
def nginx(shared_nginx: NginxServer, boxes: list[FakeHost]) -> NginxServer:
    return shared_nginx


@pytest.fixture
def fresh_nginx(tmp_path_factory: pytest.TempPathFactory, boxes: list[FakeHost]) -> Iterator[NginxServer]:
    assert NGINX is not None
    server = NginxServer(NGINX, tmp_path_factory.mktemp("nginx"), [host.url for host in boxes])
    yield server
    server.stop()


def by_name(boxes: list[FakeHost], name: str) -> FakeHost:
    return next(host for host in boxes if host.options["name"] == name)


def ask(provider: OllamaProvider, question: str, model: str = "llama3.2") -> str:
    """The name of the box that answered ``question`` (checking it answered that question)."""
    return answered_by(provider.chat(question, model=model).message.content, question)


def through(server: NginxServer, **settings: Any) -> OllamaProvider:
    return OllamaProvider(server.url, **{"retries": 0, **settings})


def endpoint(server: NginxServer, certificate: tuple[Path, Path] | None, scheme: str) -> tuple[str, Any]:
    """nginx's URL for ``scheme`` and the ``verify`` setting of an httpx client for it."""
    if scheme == "http":
        return server.url, True
    if certificate is None:
        pytest.skip("the openssl command is not installed: no certificate for the TLS listener")
    return server.tls_url, ssl.create_default_context(cafile=certificate[0])


# -- streaming -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_stream_arrives_chunk_by_chunk_not_buffered(
    nginx: NginxServer, certificate: tuple[Path, Path] | None, scheme: str
) -> None:
    url, verify = endpoint(nginx, certificate, scheme)
    with OllamaProvider(url, retries=0, client_kwargs={"verify": verify}) as provider:
        sent = time.monotonic()
        arrivals, pieces = [], []
        for chunk in provider.chat("stream me", model="llama3.2", stream=True):
            arrivals.append(time.monotonic())
            pieces.append(chunk.message.content)
    assert chunk.done and chunk.usage is not None
    answered_by("".join(pieces), "stream me")
    written = len(pieces) - 1  # content pieces; the fake sleeps CHUNK_INTERVAL after each
    assert written >= 3
    # The box writes its last piece no earlier than `written` intervals after the request was sent:
    # a first chunk received before then was passed on while the box was still generating.
    assert arrivals[0] - sent < written * CHUNK_INTERVAL, "the first chunk waited for the whole answer"


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_the_official_ollama_client_streams_through_nginx_too(
    nginx: NginxServer, boxes: list[FakeHost], certificate: tuple[Path, Path] | None, scheme: str
) -> None:
    url, verify = endpoint(nginx, certificate, scheme)
    arrivals, pieces = [], []
    with ollama.Client(host=url, headers={"X-Ollama-Model": "mistral"}, verify=verify) as client:
        sent = time.monotonic()
        for part in client.chat(model="mistral", messages=[{"role": "user", "content": "hi"}], stream=True):
            arrivals.append(time.monotonic())
            pieces.append(part.message.content or "")
    assert part.done
    name = answered_by("".join(pieces), "hi")
    assert arrivals[0] - sent < (len(pieces) - 1) * CHUNK_INTERVAL
    # The header set on the client gives it the same model affinity as ours.
    assert by_name(boxes, name).stats()["model_headers"] == {"mistral": 1}


# -- model affinity ------------------------------------------------------------------------------------
def test_every_request_for_one_model_reaches_the_same_box(nginx: NginxServer, boxes: list[FakeHost]) -> None:
    with through(nginx) as provider:
        homes = {model: {ask(provider, f"{model} {i}", model) for i in range(2)} for model in MODELS}
        for model in MODELS:
            assert provider.embed("text", model=model) == vector_of("text")
    assert all(len(names) == 1 for names in homes.values()), homes
    for host in boxes:
        served = {model for model, names in homes.items() if names == {host.options["name"]}}
        # 2 chats and 1 embedding per model it is home for, none for the others
        assert host.stats()["model_headers"] == dict.fromkeys(served, 3)
    assert len({name for names in homes.values() for name in names}) >= 2, "12 models on one box"


def test_requests_naming_no_model_are_spread_over_the_boxes(
    nginx: NginxServer, boxes: list[FakeHost]
) -> None:
    with through(nginx) as provider:
        for _ in range(15):
            provider.version()
    served = [host.requests("/api/version") for host in boxes]
    assert sum(served) == 15
    assert sum(1 for count in served if count) >= 2, served  # an empty hash key: round-robin


def test_connections_to_a_box_are_kept_alive(nginx: NginxServer, boxes: list[FakeHost]) -> None:
    with through(nginx) as provider:
        home = by_name(boxes, ask(provider, "first"))
        before = home.stats()["connections"]
        for i in range(9):
            ask(provider, f"again {i}")
    after = home.stats()
    assert after["requests"]["/api/chat"] == 10
    # TCP connections the box accepted: the only one since `before` is this stats request's own.
    assert after["connections"] == before + 1


def test_request_bodies_up_to_a_megabyte_stay_in_memory_and_larger_ones_pass_too(nginx: NginxServer) -> None:
    def spooled() -> int:  # nginx's notice for each body it had to write to a temporary file
        return nginx.errors().count("a client request body is buffered to a temporary file")

    medium, large = "many words " * 80_000, "many words " * 200_000  # 0.9 MB and 2.2 MB
    before = spooled()
    with through(nginx) as provider:
        assert provider.embed(medium, model="all-minilm") == vector_of(medium)
        assert spooled() == before
        assert provider.embed(large, model="all-minilm") == vector_of(large)  # not 413 Too Large
        assert spooled() == before + 1


# -- failover (each with an nginx of its own) ------------------------------------------------------------
@pytest.mark.parametrize("status", [503, 502, 504])
def test_a_busy_box_passes_the_request_to_another(
    fresh_nginx: NginxServer, boxes: list[FakeHost], status: int
) -> None:
    with through(fresh_nginx) as provider:
        home = by_name(boxes, ask(provider, "where?"))
        home.arm(path="/api/chat", status=status)
        other = ask(provider, "busy?")
        assert ask(provider, "and now?") == home.options["name"]  # one busy answer does not eject it
    assert other != home.options["name"]
    assert home.requests("/api/chat") == 3  # it was asked, answered `status`, and nginx tried the next box
    assert f"upstream_status={status}, 200 " in "\n".join(fresh_nginx.log_lines())


def test_a_box_without_the_model_passes_the_request_to_one_with_it(
    fresh_nginx: NginxServer, boxes: list[FakeHost]
) -> None:
    with through(fresh_nginx) as provider:
        home = by_name(boxes, ask(provider, "where?", "gemma3"))
        home.reset(models=["llama3.2"])
        assert ask(provider, "still there?", "gemma3") != home.options["name"]
    assert home.stats()["requests"]["/api/chat"] == 1  # asked once, answered 404


def test_a_stream_cut_after_its_first_chunk_is_not_sent_elsewhere(
    fresh_nginx: NginxServer, boxes: list[FakeHost]
) -> None:
    for host in boxes:
        host.arm(path="/api/chat", drop_after=1)
    with through(fresh_nginx, retries=3) as provider:
        stream = provider.chat("cut", model="llama3.2", stream=True)
        first = next(stream)
        with pytest.raises(IncompleteStreamError):
            list(stream)
    assert first.message.content
    assert Counter(host.requests("/api/chat") for host in boxes) == {1: 1, 0: 2}


def test_every_box_down_is_a_busy_error_from_nginx(tmp_path: Path) -> None:
    assert NGINX is not None
    nobody = [f"http://127.0.0.1:{free_port()}" for _ in range(3)]  # ports nothing listens on
    server = NginxServer(NGINX, tmp_path, nobody)
    try:
        with through(server) as provider, pytest.raises(ServerBusyError) as caught:
            provider.chat("anyone?", model="llama3.2")
    finally:
        server.stop()
    assert caught.value.status_code == 502


# Last in the module, so that the box it stops need not be started again.
def test_a_stopped_box_is_skipped_and_its_models_move_to_one_other_box(
    fresh_nginx: NginxServer, boxes: list[FakeHost]
) -> None:
    with through(fresh_nginx) as provider:
        home = by_name(boxes, ask(provider, "where?"))
        home.stop()
        stand_ins = {ask(provider, f"q{i}") for i in range(5)}
        stream = provider.chat("streamed", model="llama3.2", stream=True)
        streamed = answered_by("".join(chunk.message.content for chunk in stream), "streamed")
    assert len(stand_ins) == 1 and home.options["name"] not in stand_ins  # the next box on the ring
    assert streamed in stand_ins
