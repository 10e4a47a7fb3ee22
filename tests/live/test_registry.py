"""Pull and push against a real registry (``OLLAMA_PROVIDER_TEST_REGISTRY``, default ``127.0.0.1:5000``).

The registry holds ``library/smollm2:135m`` and ``library/all-minilm:latest`` (the live tier puts them
there). Pulls go into a server with a model store of its own, empty at first, so that every pull really
downloads and the shared store is never touched. They go through :class:`RegistryFront`, which serves
blobs the way Ollama's own registry does (by a redirect to another host: Ollama cannot download a blob any
other way), from a "CDN" that is the real registry behind a :class:`TcpProxy`: it counts the bytes, and
slows them down where a download must still be running when the connection to Ollama is cut.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ollama_provider import OllamaProvider, ProgressResponse

from ..live_server import registry, registry_problem
from .conftest import CHAT_MODEL, OPTIONS, Serve
from .proxy import RegistryFront, TcpProxy
from .servers import OllamaServer, OllamaServers
from .work import CORPUS, EMBED_OPTIONS, mismatches

pytestmark = pytest.mark.live_servers

MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
#: Where the cut falls: well into the download, well before its end.
CUT_AT = 0.4
#: Bytes per second of the slowed "CDN": the 46 MB all-minilm layer then takes about two seconds.
SLOW = 20e6


@pytest.fixture(scope="module")
def registry_address() -> str:
    address = registry()
    problem = registry_problem(address)
    if problem is not None:
        pytest.skip(f"registry: {problem}")
    for repository, tag in (("library/smollm2", "135m"), ("library/all-minilm", "latest")):
        if (
            httpx.head(
                f"http://{address}/v2/{repository}/manifests/{tag}", headers={"Accept": MANIFEST}
            ).status_code
            != 200
        ):
            pytest.skip(
                f"registry: {address} has no {repository}:{tag} (push it there: see tests/live_server.py)"
            )
    return address


@pytest.fixture(scope="module")
def server(serve: Serve, live_workdir: Path, registry_address: str) -> OllamaServer:
    """A server with a model store of its own (its pulls and deletes leave the shared one alone)."""
    store = live_workdir / f"models-{os.getpid()}-private"
    store.mkdir(exist_ok=True)
    return serve(1, store=store)[0]


@pytest.fixture
def cdn(registry_address: str) -> Iterator[TcpProxy]:
    with TcpProxy(tuple_of(registry_address)) as proxy:
        yield proxy


@pytest.fixture
def front(registry_address: str, cdn: TcpProxy) -> Iterator[RegistryFront]:
    with RegistryFront(registry_address, cdn) as registry_front:
        yield registry_front


def tuple_of(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host, int(port)


def manifest(address: str, repository: str, tag: str) -> dict[str, object]:
    answer = httpx.get(f"http://{address}/v2/{repository}/manifests/{tag}", headers={"Accept": MANIFEST})
    answer.raise_for_status()
    return dict(answer.json())


def blobs_of(document: dict[str, object]) -> dict[str, int]:
    """Digest -> size of every blob of a manifest (its layers and its config)."""
    layers = [*document["layers"], document["config"]]  # type: ignore[misc]
    return {layer["digest"]: layer["size"] for layer in layers}


def per_digest(updates: list[ProgressResponse]) -> dict[str, list[tuple[int, int]]]:
    """``(completed, total)`` of every update that names a digest, per digest, in order."""
    seen: dict[str, list[tuple[int, int]]] = {}
    for update in updates:
        if update.digest:
            seen.setdefault(update.digest, []).append((update.completed or 0, update.total or 0))
    return seen


def empty(provider: OllamaProvider) -> None:
    """Delete every model of the private store, so that the next pull downloads every blob."""
    for model in provider.list_models():
        provider.delete_model(model.name)


def assert_forward_per_digest(updates: list[ProgressResponse], expected: dict[str, int]) -> None:
    """Each layer's progress moves forward, towards the layer's size in the manifest (across layers it
    starts again: the previous layer's bytes are not this one's). Ollama reports a layer's progress on a
    timer: its last count for a layer may fall short of the size (seen: 78.9 of 98.4 MB), so only the
    final ``success`` says that everything arrived."""
    layers = per_digest(updates)
    assert set(layers) <= set(expected) and layers, (sorted(layers), sorted(expected))
    for digest, steps in layers.items():
        done = [completed for completed, _ in steps]
        assert done == sorted(done), f"{digest}: completed went back: {done}"
        assert {total for _, total in steps} == {expected[digest]} and done[-1] <= expected[digest]
    assert updates[-1].status == "success"


def test_a_pull_reports_progress_per_layer(
    server: OllamaServer, servers: OllamaServers, front: RegistryFront, cdn: TcpProxy, registry_address: str
) -> None:
    name = f"{front.address}/library/smollm2:135m"
    expected = blobs_of(manifest(registry_address, "library/smollm2", "135m"))
    with OllamaProvider(server.url) as provider:
        empty(provider)
        updates = list(provider.pull_model(name, insecure=True, stream=True))
        assert_forward_per_digest(updates, expected)
        largest = max(expected, key=lambda digest: expected[digest])
        # Downloaded: a blob already at hand is reported complete at once.
        assert per_digest(updates)[largest][0][0] < expected[largest]
        assert front.redirected >= 1 and cdn.relayed >= expected[largest]  # through the CDN
        answer = provider.chat("Name a colour.", model=name, options=OPTIONS).message.content
    with OllamaProvider(servers[0].url) as shared:  # the same model, from the store it was pushed from
        assert answer == shared.chat("Name a colour.", model=CHAT_MODEL, options=OPTIONS).message.content


def test_a_pull_cut_mid_download_is_resumed(
    server: OllamaServer, registry_address: str, reference_vectors: dict[str, list[float]]
) -> None:
    def far_enough(seen: bytes) -> bool:
        done = [int(n) for n in re.findall(rb'"completed":(\d+)', seen)]
        totals = [int(n) for n in re.findall(rb'"total":(\d+)', seen)]
        return bool(done) and max(done) >= CUT_AT * max(totals)

    expected = blobs_of(manifest(registry_address, "library/all-minilm", "latest"))
    size = sum(expected.values())
    with OllamaProvider(server.url) as direct:
        empty(direct)
    with (
        TcpProxy(tuple_of(registry_address), rate=SLOW) as slow_cdn,
        RegistryFront(registry_address, slow_cdn) as slow_front,
        TcpProxy(("127.0.0.1", server.port), cut=far_enough) as cutter,
        OllamaProvider(cutter.url, retries=2) as provider,
    ):
        name = f"{slow_front.address}/library/all-minilm:latest"
        mark = server.mark()
        updates: list[ProgressResponse] = []
        final = provider.pull_model(name, insecure=True, progress=updates.append)
        assert final.status == "success"
        assert (
            cutter.cuts == 1 and server.requests("POST", "/api/pull", since=mark) == 2
        )  # cut, then asked again
        # The pull was cut well into its download, and went on from there:
        restart = [i for i, update in enumerate(updates) if update.status == "pulling manifest"][1]
        before, after = per_digest(updates[:restart]), per_digest(updates[restart:])
        largest = max(expected, key=lambda digest: expected[digest])
        cut_at = before[largest][-1][0]
        assert CUT_AT * expected[largest] <= cut_at < expected[largest]
        assert after[largest][0][0] >= cut_at  # not from zero
        assert_forward_per_digest(updates, expected)
        assert slow_cdn.relayed < size + (1 - CUT_AT) * size / 2  # the bytes before the cut were kept
    with OllamaProvider(server.url) as direct:
        vector = direct.embed(CORPUS[0], model=name, options=EMBED_OPTIONS)
    assert mismatches(CORPUS[:1], [vector], reference_vectors) == []  # the very model


def test_ensure_model_pulls_a_missing_model(server: OllamaServer, front: RegistryFront) -> None:
    name = f"{front.address}/library/all-minilm:latest"
    with OllamaProvider(server.url) as provider:
        if any(model.name == name for model in provider.list_models()):
            provider.delete_model(name)
        mark = server.mark()
        steps: list[ProgressResponse] = []
        assert provider.ensure_model(name, pull=True, insecure=True, progress=steps.append) == name
        assert steps[-1].status == "success" and server.requests("POST", "/api/pull", since=mark) == 1
        assert provider.ensure_model(name, pull=True, insecure=True) == name  # there now: no second pull
    assert server.requests("POST", "/api/pull", since=mark) == 1


def test_a_push_uploads_every_layer(
    server: OllamaServer, front: RegistryFront, registry_address: str
) -> None:
    source = f"{front.address}/library/smollm2:135m"
    repository, tag = "live-tests/smollm2", f"push-{os.getpid()}"
    name = f"{registry_address}/{repository}:{tag}"
    with OllamaProvider(server.url) as provider:
        provider.ensure_model(source, pull=True, insecure=True)
        provider.copy_model(source, name)
        try:
            updates: list[ProgressResponse] = []
            final = provider.push_model(name, insecure=True, progress=updates.append)
            assert final.status == "success"
            pushed = manifest(registry_address, repository, tag)
            assert blobs_of(pushed) == blobs_of(manifest(registry_address, "library/smollm2", "135m"))
            assert_forward_per_digest(updates, blobs_of(pushed))
        finally:
            provider.delete_model(name)
            digest = httpx.head(
                f"http://{registry_address}/v2/{repository}/manifests/{tag}", headers={"Accept": MANIFEST}
            ).headers.get("Docker-Content-Digest")
            if digest:  # leave the registry as it was
                httpx.delete(f"http://{registry_address}/v2/{repository}/manifests/{digest}")
