"""The replay server over the run's recordings, driven with plain httpx (one server per module)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from ollama_provider.testing import ReplayServer

from ..recordings import cassette, recordings_dir

HAIKU = {
    "model": "smollm2:135m",
    "options": {"temperature": 0, "seed": 42, "num_predict": 48},
    "messages": [{"role": "user", "content": "Write a haiku about the sea."}],
}
CAPITAL = {
    "model": "smollm2:135m",
    "stream": False,
    "messages": [
        {"role": "system", "content": "You are a terse assistant."},
        {"role": "user", "content": "What is the capital of France?"},
    ],
}


@pytest.fixture(scope="module")
def client(replay_server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=replay_server, timeout=10) as http:
        yield http


def recorded_haiku_lines() -> int:
    return len(cassette("api/chat_stream.yaml").exchange("/api/chat").lines)


def test_streamed_chat_is_chunked_ndjson_one_line_per_recorded_chunk(client: httpx.Client) -> None:
    with client.stream("POST", "/api/chat", json=HAIKU) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/x-ndjson"
        assert response.headers["transfer-encoding"] == "chunked"
        lines = [json.loads(line) for line in response.iter_lines() if line]
    assert lines == cassette("api/chat_stream.yaml").exchange("/api/chat").lines
    assert lines[-1]["done"] is True


def test_non_streamed_chat_has_content_length_and_recorded_content_type(client: httpx.Client) -> None:
    response = client.post("/api/chat", json=CAPITAL)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert int(response.headers["content-length"]) == len(response.content)
    assert response.json()["done"] is True


def test_matching_ignores_options_and_empty_tools(client: httpx.Client) -> None:
    body = {**CAPITAL, "options": {"temperature": 0.9}, "tools": [], "keep_alive": "1m"}
    assert client.post("/api/chat", json=body).status_code == 200


@pytest.mark.parametrize(
    ("path", "key"),
    [("/api/tags", "models"), ("/api/ps", "models"), ("/api/version", "version")],
)
def test_info_routes_answer_from_recordings(client: httpx.Client, path: str, key: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert key in response.json()


def test_tags_come_from_the_dedicated_recording_not_from_a_scenario_in_progress(client: httpx.Client) -> None:
    names = [model["name"] for model in client.get("/api/tags").json()["models"]]
    assert "smollm2:135m" in names
    assert "smollm2-copy:test" not in names  # only listed mid-way through copy_delete.yaml


def test_root_says_ollama_is_running(client: httpx.Client) -> None:
    response = client.get("/")
    assert (response.status_code, response.text) == (200, "Ollama is running")
    assert response.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize("path", ["/", "/api/version", "/api/tags"])
def test_head_answers_headers_without_a_body(client: httpx.Client, path: str) -> None:
    head = client.head(path)
    get = client.get(path)
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]
    assert int(head.headers["content-length"]) == len(get.content)


def test_show_answers_for_a_recorded_model(client: httpx.Client) -> None:
    response = client.post("/api/show", json={"model": "smollm2:135m"})
    assert response.status_code == 200
    assert "model_info" in response.json()


def test_show_verbose_is_preferred_only_when_asked(client: httpx.Client) -> None:
    plain = client.post("/api/show", json={"model": "all-minilm"}).json()
    verbose = client.post("/api/show", json={"model": "all-minilm", "verbose": True}).json()
    assert len(json.dumps(verbose)) > len(json.dumps(plain))


def test_unknown_model_gets_ollamas_404(client: httpx.Client) -> None:
    response = client.post("/api/chat", json={**CAPITAL, "model": "not-recorded:7b"})
    assert response.status_code == 404
    assert response.json() == {"error": "model 'not-recorded:7b' not found"}


def test_known_model_with_unrecorded_prompt_says_no_recording_matches(client: httpx.Client) -> None:
    body = {**CAPITAL, "messages": [{"role": "user", "content": "never recorded"}]}
    response = client.post("/api/chat", json=body)
    assert response.status_code == 404
    message = response.json()["error"]
    assert "no recording matches POST /api/chat for model 'smollm2:135m'" in message
    assert "differs in messages" in message


def test_recorded_errors_replay_with_their_status(client: httpx.Client) -> None:
    # Tools asked of a model without them: an error on every supported release.
    recorded = cassette("api/chat_tools_unsupported.yaml").exchange("/api/chat")
    response = client.post("/api/chat", json=recorded.request)
    assert response.status_code == recorded.status >= 400
    assert response.json() == {"error": recorded.error}


def test_unknown_route_is_gins_plain_text_404(client: httpx.Client) -> None:
    response = client.get("/api/definitely-not-a-route")
    assert (response.status_code, response.text) == (404, "404 page not found")
    assert response.headers["content-type"].startswith("text/plain")


def test_wrong_method_on_a_known_route_is_405(client: httpx.Client) -> None:
    response = client.get("/api/generate")
    assert (response.status_code, response.text) == (405, "405 method not allowed")


def test_empty_body_on_a_post_route_is_400(client: httpx.Client) -> None:
    response = client.post("/api/chat", content=b"")
    assert response.status_code == 400
    assert response.json() == {"error": "missing request body"}


def test_blob_head_replays_present_and_absent(client: httpx.Client) -> None:
    # The blob the recording server held (each release makes its own blob of the same weights).
    present = next(e.path for e in cassette("api/blob_head.yaml").exchanges if e.status == 200)
    assert client.head(present).status_code == 200
    assert client.head("/api/blobs/sha256:" + "1" * 64).status_code == 404


def test_keep_alive_connection_is_reused(replay_server: str) -> None:
    with httpx.Client(base_url=replay_server) as http:
        first = http.get("/api/version")
        port = first.extensions["network_stream"].get_extra_info("client_addr")[1]
        for _ in range(5):
            response = http.post("/api/chat", json=CAPITAL)
            assert response.extensions["network_stream"].get_extra_info("client_addr")[1] == port
    assert first.http_version == "HTTP/1.1"


def test_leaving_a_stream_early_keeps_the_server_serving(replay_server: str) -> None:
    with httpx.Client(base_url=replay_server) as http:
        with http.stream("POST", "/api/chat", json=HAIKU) as response:
            next(response.iter_lines())
        assert http.get("/api/version").status_code == 200


def test_concurrent_clients_each_get_a_complete_stream(replay_server: str) -> None:
    # One thread-safe client with a pool of 8 connections: 8 streams in flight at once.
    limits = httpx.Limits(max_connections=8)
    with httpx.Client(base_url=replay_server, limits=limits) as http:

        def stream_once(_: int) -> int:
            with http.stream("POST", "/api/chat", json=HAIKU) as response:
                return sum(1 for line in response.iter_lines() if line)

        with ThreadPoolExecutor(max_workers=8) as pool:
            assert list(pool.map(stream_once, range(16))) == [recorded_haiku_lines()] * 16


def test_sequences_are_served_in_recorded_order_then_stick_to_the_last(tmp_path: Path) -> None:
    shutil.copy(recordings_dir() / "api" / "server_busy_then_ok.yaml", tmp_path)
    body = {"model": "gemma3:270m", "prompt": "hi", "stream": False, "options": {"num_predict": 5}}
    with ReplayServer(tmp_path) as server, httpx.Client(base_url=server.url) as http:
        statuses = [http.post("/api/generate", json=body).status_code for _ in range(4)]
    assert statuses == [503, 200, 200, 200]
