"""The suite-wide pytest-recording setup (tests/conftest.py) replays real cassettes with httpx 0.28."""

from __future__ import annotations

import json

import httpx
import pytest

from ..recordings import Cassette, recordings_dir

# These tests check the replay machinery, so they pin record_mode "none": a re-record run must not
# rewrite the real cassettes with their deliberately odd requests. They use another host and port
# than the recording's 127.0.0.1:11434 and other options: replay matches method, path, semantic body.
ELSEWHERE = "http://replay.invalid:9"
HAIKU = {
    "model": "smollm2:135m",
    "messages": [{"role": "user", "content": "Write a haiku about the sea."}],
    "options": {"temperature": 0.7},
    "tools": [],
}


@pytest.mark.vcr("api/chat_stream.yaml", record_mode="none")
def test_streamed_chat_replays_every_ndjson_line_through_httpx_stream(recording: Cassette) -> None:
    with httpx.Client() as client, client.stream("POST", f"{ELSEWHERE}/api/chat", json=HAIKU) as response:
        assert response.headers["content-type"] == "application/x-ndjson"
        lines = [json.loads(line) for line in response.iter_lines() if line]
    assert lines == recording.exchange("/api/chat").lines
    assert [chunk["done"] for chunk in lines] == [False] * (len(lines) - 1) + [True]


@pytest.mark.vcr("api/chat_stream.yaml", record_mode="none")
def test_streamed_chat_bytes_reassemble_to_the_recorded_body(recording: Cassette) -> None:
    with httpx.Client() as client, client.stream("POST", f"{ELSEWHERE}/api/chat", json=HAIKU) as response:
        body = b"".join(response.iter_bytes())
    assert body.decode("utf-8") == recording.exchange("/api/chat").body


@pytest.mark.vcr("api/chat_stream.yaml", record_mode="none")
async def test_async_stream_replays_too(recording: Cassette) -> None:
    async with (
        httpx.AsyncClient() as client,
        client.stream("POST", f"{ELSEWHERE}/api/chat", json=HAIKU) as response,
    ):
        lines = [line async for line in response.aiter_lines() if line]
    assert len(lines) == len(recording.exchange("/api/chat").lines)


@pytest.mark.vcr("api/server_busy_then_ok.yaml", record_mode="none")
def test_repeated_request_gets_the_recorded_answers_in_order() -> None:
    body = {"model": "gemma3:270m", "prompt": "hi", "stream": False}
    with httpx.Client(base_url=ELSEWHERE) as client:
        statuses = [client.post("/api/generate", json=body).status_code for _ in range(2)]
    assert statuses == [503, 200]


@pytest.mark.vcr("api/chat_stream.yaml", record_mode="none")
def test_a_different_prompt_is_not_replayed() -> None:
    from vcr.errors import CannotOverwriteExistingCassetteException

    other = {**HAIKU, "messages": [{"role": "user", "content": "Something else"}]}
    with httpx.Client() as client, pytest.raises(CannotOverwriteExistingCassetteException):
        client.post(f"{ELSEWHERE}/api/chat", json=other)


# A cassette that does not exist: a rewrite run has nothing real to delete here.
@pytest.mark.vcr("selftest/never_recorded.yaml")
def test_a_vcr_test_is_marked_recorded_and_records_into_its_cassette(
    request: pytest.FixtureRequest, default_cassette_name: str, vcr_cassette_dir: str
) -> None:
    assert request.node.get_closest_marker("recorded") is not None
    assert default_cassette_name == "selftest/never_recorded"
    assert vcr_cassette_dir == str(recordings_dir())  # cassettes/recorded, or the --recordings overlay


@pytest.mark.vcr("api/chat_stream.yaml", record_mode="none")
def test_replay_only_tests_are_not_marked_recorded(request: pytest.FixtureRequest) -> None:
    assert request.node.get_closest_marker("recorded") is None


@pytest.mark.synthetic("synthetic_stream_error.yaml")
def test_synthetic_mark_replays_fault_fixtures() -> None:
    body = {"model": "smollm2:135m", "messages": [{"role": "user", "content": "synthetic: fail mid-stream"}]}
    with httpx.Client() as client, client.stream("POST", f"{ELSEWHERE}/api/chat", json=body) as response:
        lines = [json.loads(line) for line in response.iter_lines() if line]
    assert response.status_code == 200
    assert "error" in lines[-1]


@pytest.mark.synthetic("synthetic_stream_error.yaml")
def test_synthetic_tests_are_not_marked_recorded(request: pytest.FixtureRequest) -> None:
    assert request.node.get_closest_marker("recorded") is None


@pytest.mark.live
def test_live_server_answers_version(ollama_host: str) -> None:
    """Runs only when OLLAMA_HOST answers (the conftest probe skips it otherwise)."""
    assert "version" in httpx.get(f"{ollama_host}/api/version", timeout=5).json()
