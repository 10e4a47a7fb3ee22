"""A secret in every place a user can put one is never written anywhere we write.

The places: ``headers=`` and ``client_kwargs`` (headers, ``auth``) of the core, ``user:password@`` in a
host (``host=``, ``hosts=``, ``OLLAMA_HOST``, the adapters' ``base_url``), the adapters' ``headers`` and
client keyword arguments. Where it must not show: log records of every logger at every level (DEBUG
included: ours, httpx's and httpcore's), the reprs of providers, configurations and adapters, the
messages of the errors raised, LangChain's ``dumps``/``dumpd``, LlamaIndex's ``to_dict``/``to_json``,
OpenTelemetry spans (with prompt capture on), and the cassettes our vcrpy configuration records.

Each place gets a successful chat, a retried one (503), a failing one (unknown model) and an
unreachable server, on a fake Ollama on loopback. Pickles are the exception by design: they carry the
configuration so that a copy in another process can connect (DESIGN.md, "Across processes").
"""

from __future__ import annotations

import asyncio
import base64
import logging
import pickle
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import vcr
from langchain_core.load import dumpd, dumps
from langchain_ollama_provider import ChatOllama, OllamaEmbeddings
from llama_index.embeddings.ollama_provider import OllamaEmbedding
from llama_index.llms.ollama_provider import Ollama

from ollama_provider import OllamaConfig, OllamaError, OllamaProvider
from ollama_provider.telemetry._genai import CAPTURE_CONTENT_ENV
from ollama_provider.testing import FakeOllama

from ..core.otel_sdk import Telemetry, installed

SECRET = "s3cr3t-T0KEN-4d9f"
USER = "alice"
#: What a Basic auth header built from ``alice:SECRET`` carries.
BASIC = base64.b64encode(f"{USER}:{SECRET}".encode()).decode()
FAST: dict[str, Any] = {"retries": 1, "backoff_base": 0.001, "backoff_max": 0.002, "connect_timeout": 0.5}


def leaks(text: str) -> bool:
    return SECRET in text or BASIC in text


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOllama]:
    with FakeOllama(models=["llama3.2", "all-minilm"]) as server:
        yield server


@pytest.fixture(scope="module")
def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def everything_logged(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every record of every logger, DEBUG included, as an application with ``logging.basicConfig(
    level=logging.DEBUG)`` would see it."""
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "ollama_provider"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def userinfo_url(url: str) -> str:
    return url.replace("http://", f"http://{USER}:{SECRET}@")


# -- the places a secret goes: each builds a core provider, or an adapter, pointed at ``url`` -------
def core_headers(url: str) -> OllamaProvider:
    return OllamaProvider(url, headers={"Authorization": f"Bearer {SECRET}"}, **FAST)


def core_client_headers(url: str) -> OllamaProvider:
    return OllamaProvider(url, client_kwargs={"headers": {"X-Api-Key": SECRET}}, **FAST)


def core_client_auth(url: str) -> OllamaProvider:
    return OllamaProvider(url, client_kwargs={"auth": (USER, SECRET)}, **FAST)


def core_host_userinfo(url: str) -> OllamaProvider:
    return OllamaProvider(userinfo_url(url), **FAST)


def core_hosts_userinfo(url: str) -> OllamaProvider:
    return OllamaProvider(hosts=[userinfo_url(url), url.replace("127.0.0.1", "localhost")], **FAST)


CORE: list[Callable[[str], OllamaProvider]] = [
    core_headers,
    core_client_headers,
    core_client_auth,
    core_host_userinfo,
    core_hosts_userinfo,
]


def langchain_chat(url: str) -> Any:
    return ChatOllama(
        model="llama3.2",
        base_url=userinfo_url(url),
        headers={"X-Proxy-Token": SECRET},
        client_kwargs={"headers": {"Authorization": f"Bearer {SECRET}"}},
        sync_client_kwargs={"headers": {"X-Other": SECRET}},
        max_retries=1,
    )


def langchain_embeddings(url: str) -> Any:
    return OllamaEmbeddings(model="all-minilm", base_url=userinfo_url(url), headers={"X-Proxy-Token": SECRET})


def llama_index_llm(url: str) -> Any:
    return Ollama(
        model="llama3.2",
        base_url=userinfo_url(url),
        headers={"Authorization": f"Bearer {SECRET}"},
        client_kwargs={"headers": {"X-Api-Key": SECRET}},
        retries=1,
    )


def llama_index_embeddings(url: str) -> Any:
    return OllamaEmbedding(model_name="all-minilm", base_url=userinfo_url(url), headers={"X-Api-Key": SECRET})


ADAPTERS: list[Callable[[str], Any]] = [
    langchain_chat,
    langchain_embeddings,
    llama_index_llm,
    llama_index_embeddings,
]


def exercise_core(provider: OllamaProvider, fake: FakeOllama) -> list[BaseException]:
    """A chat, a stream, a retried chat, an unknown model, a health check: the errors raised."""
    errors: list[BaseException] = []
    provider.chat("hi", model="llama3.2")
    list(provider.chat("hi", model="llama3.2", stream=True))
    fake.arm(path="/api/chat", status=503, count=1)
    provider.chat("again", model="llama3.2")
    try:
        provider.chat("hi", model="no-such-model")
    except OllamaError as error:
        errors.append(error)
    assert repr(provider.check_health())
    return errors


def exercise_adapter(model: Any) -> None:
    if isinstance(model, ChatOllama):
        model.invoke("hi")
        list(model.stream("hi"))
    elif isinstance(model, Ollama):
        model.complete("hi")
    else:
        embed = getattr(model, "embed_query", None) or model.get_text_embedding
        embed("hi")


def written(*texts: str) -> None:
    for text in texts:
        assert not leaks(text), text


def assert_logs_clean(caplog: pytest.LogCaptureFixture) -> None:
    assert caplog.records, "nothing was logged: the test would prove nothing"
    for record in caplog.records:
        written(record.getMessage(), repr(record.args), record.name)


@pytest.mark.parametrize("place", CORE, ids=lambda place: place.__name__)
def test_core_places(
    place: Callable[[str], OllamaProvider], fake: FakeOllama, everything_logged: pytest.LogCaptureFixture
) -> None:
    with place(fake.url) as provider:
        errors = exercise_core(provider, fake)
        written(repr(provider), str(provider), repr(provider.config), str(provider.config))
        written(*(f"{error!s} {error!r}" for error in errors))
    assert [r for r in everything_logged.records if r.name == "ollama_provider"], "no retry logged"
    assert_logs_clean(everything_logged)
    assert pickle.loads(pickle.dumps(provider)).config == provider.config  # carried, by design


@pytest.mark.parametrize("place", CORE, ids=lambda place: place.__name__)
def test_core_places_unreachable(
    place: Callable[[str], OllamaProvider], closed_port: int, everything_logged: pytest.LogCaptureFixture
) -> None:
    with place(f"http://127.0.0.1:{closed_port}") as provider, pytest.raises(OllamaError) as raised:
        provider.chat("hi", model="llama3.2")
    written(str(raised.value), repr(raised.value), repr(provider.health.last_error))
    assert_logs_clean(everything_logged)


def test_ollama_host_with_userinfo(
    fake: FakeOllama, monkeypatch: pytest.MonkeyPatch, everything_logged: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", userinfo_url(fake.url))
    with OllamaProvider(**FAST) as provider:
        errors = exercise_core(provider, fake)
        written(repr(provider), repr(provider.config), *(repr(e) for e in errors))
    model = ChatOllama(model="llama3.2")
    model.invoke("hi")
    written(repr(model), dumps(model))
    assert_logs_clean(everything_logged)


def test_invalid_hosts_name_no_secret() -> None:
    for bad in (f"ftp://{USER}:{SECRET}@box", [userinfo_url("http://a:1"), f"{USER}:{SECRET}@b,"]):
        with pytest.raises(OllamaError) as raised:
            OllamaConfig(hosts=bad) if isinstance(bad, list) else OllamaConfig(host=bad)
        written(str(raised.value), repr(raised.value))
    with pytest.raises(TypeError) as wrong:
        OllamaConfig(headers=[("Authorization", SECRET)])  # type: ignore[arg-type]
    written(str(wrong.value))


@pytest.mark.parametrize("place", ADAPTERS, ids=lambda place: place.__name__)
def test_adapter_places(
    place: Callable[[str], Any], fake: FakeOllama, everything_logged: pytest.LogCaptureFixture
) -> None:
    model = place(fake.url)
    written(repr(model), str(model))
    exercise_adapter(model)
    written(repr(model), str(model), repr(model.provider), repr(model.provider.config))
    if isinstance(model, (ChatOllama, OllamaEmbeddings)):
        written(dumps(model), repr(dumpd(model)), dumps(model, pretty=True))
    else:  # LlamaIndex
        written(model.to_json(), repr(model.to_dict()), model.model_dump_json())
    assert_logs_clean(everything_logged)


def test_adapter_errors_name_no_secret(closed_port: int) -> None:
    url = f"http://127.0.0.1:{closed_port}"
    for model in (langchain_chat(url), llama_index_llm(url)):
        with pytest.raises(OllamaError) as raised:
            exercise_adapter(model)
        written(str(raised.value), repr(raised.value))


def test_spans_carry_no_secret_even_with_prompts_recorded(
    fake: FakeOllama, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CAPTURE_CONTENT_ENV, "true")
    telemetry_session = installed()
    telemetry: Telemetry = next(telemetry_session)
    try:
        for place in CORE:
            with place(fake.url) as provider:
                exercise_core(provider, fake)
        exercise_adapter(langchain_chat(fake.url))
        exercise_adapter(llama_index_llm(fake.url))
        spans = telemetry.spans()
        assert len(spans) > 10
        written(*(span.to_json() for span in spans))
        written(telemetry.reader.get_metrics_data().to_json())  # type: ignore[union-attr]
    finally:
        telemetry_session.close()


def test_recorded_cassettes_carry_no_secret(
    fake: FakeOllama, vcr_config: dict[str, Any], tmp_path: Path
) -> None:
    """What ``--record-mode=rewrite`` would write, with the suite's vcrpy configuration."""
    recorder = vcr.VCR(**{k: v for k, v in vcr_config.items() if k != "match_on"})
    cassette = tmp_path / "recorded.yaml"
    with recorder.use_cassette(str(cassette), record_mode="all"):
        for place in CORE:
            with place(fake.url) as provider:
                provider.chat("hi", model="llama3.2")
                list(provider.chat("hi", model="llama3.2", stream=True))
        for adapter in ADAPTERS:
            exercise_adapter(adapter(fake.url))
        asyncio.run(langchain_chat(fake.url).ainvoke("hi"))
    text = cassette.read_text()
    assert text.count("/api/chat") >= len(CORE) * 2  # it did record
    written(text)
