"""Cassette loading, the semantic request key and the catalog's choice among recordings (pure logic)."""

from __future__ import annotations

import json

import pytest

from ollama_provider.testing import ReplayCatalog
from ollama_provider.testing._cassettes import (
    canonical_json,
    load_cassette,
    load_cassette_dir,
    parse_cassette,
    request_key,
    semantic_body,
)

from ..recordings import REPO_ROOT, cassette, recordings_dir

CASSETTES = REPO_ROOT / "cassettes"
RECORDED = recordings_dir()


@pytest.fixture(scope="module")
def catalog() -> ReplayCatalog:
    return ReplayCatalog.from_directory(RECORDED)


def test_every_recorded_and_synthetic_cassette_loads() -> None:
    recorded = load_cassette_dir(RECORDED)
    assert len(recorded) > 100
    assert {i.path for i in recorded} >= {"/api/chat", "/api/generate", "/api/embed", "/api/tags", "/"}
    assert len(load_cassette_dir(CASSETTES / "synthetic")) >= 5


def test_one_cassette_file_serves_that_session_alone() -> None:
    # The tool round trip's first request is recorded twice (chat_tool_call.yaml too, with another
    # call id): over the whole folder the one-interaction cassette answers it, so the second request
    # of the round trip would match nothing. Replaying the one file keeps the session together.
    cassette("api/chat_tool_roundtrip.yaml").require("/api/chat", nth=1)  # both requests recorded?
    path = RECORDED / "api" / "chat_tool_roundtrip.yaml"
    assert load_cassette_dir(path) == load_cassette(path)
    first, second = load_cassette(path)
    alone = ReplayCatalog.from_directory(path)
    assert alone.answer(first.method, first.path, first.request_body).body == first.body
    assert alone.answer(second.method, second.path, second.request_body).body == second.body
    whole = ReplayCatalog.from_directory(RECORDED)
    assert whole.answer(first.method, first.path, first.request_body).body != first.body


def test_every_recorded_generation_was_asked_for_few_tokens() -> None:
    # What a recording holds is what the tests sent. Matching ignores options, so a test that forgets
    # `num_predict` still replays, but recording or running it live, the 135M model writes until its
    # context is full: a minute and more per request on 2 cores. Loading or unloading a model (no
    # prompt, no messages) generates nothing.
    unbounded = []
    for interaction in load_cassette_dir(RECORDED):
        body = json.loads(interaction.request_body or b"{}")
        generates = interaction.path in ("/api/chat", "/api/generate") and interaction.status == 200
        if (
            generates
            and (body.get("messages") or body.get("prompt"))
            and "num_predict" not in (body.get("options") or {})
        ):
            unbounded.append(f"{interaction.source} #{interaction.index}")
    assert unbounded == []


def test_synthetic_cassettes_are_named_and_say_why() -> None:
    for path in sorted((CASSETTES / "synthetic").glob("*.yaml")):
        assert path.name.startswith("synthetic_"), path
        first_line = path.read_text(encoding="utf-8").splitlines()[0]
        assert first_line.startswith("# SYNTHETIC"), path


def test_streamed_body_keeps_one_ndjson_line_per_chunk() -> None:
    (interaction,) = load_cassette(RECORDED / "api" / "chat_stream.yaml")
    lines = interaction.body.splitlines()
    assert [json.loads(line) for line in lines] == cassette("api/chat_stream.yaml").exchange(
        "/api/chat"
    ).lines
    assert all(json.loads(line)["model"] == "smollm2:135m" for line in lines)
    assert interaction.header("Transfer-Encoding") == "chunked"


def test_not_a_vcrpy_cassette_is_rejected() -> None:
    with pytest.raises(ValueError, match="version: 1"):
        parse_cassette("interactions: []\nversion: 2\n", source="x.yaml")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ({"model": "m", "tools": []}, {"model": "m"}),
        ({"model": "m", "stream": True}, {"model": "m"}),
        ({"model": "m", "stream": None}, {"model": "m"}),
        ({"model": "m", "options": {"seed": 1}, "keep_alive": "5m"}, {"model": "m", "options": {"seed": 2}}),
        ({"model": "M:latest", "format": None}, {"model": "m"}),
        (
            {"messages": [{"role": "user", "content": "x", "images": None}]},
            {"messages": [{"content": "x", "role": "user"}]},
        ),
    ],
)
def test_semantically_equal_chat_bodies_share_a_key(a: dict[str, object], b: dict[str, object]) -> None:
    assert request_key("POST", "/api/chat", json.dumps(a)) == request_key("POST", "/api/chat", json.dumps(b))


@pytest.mark.parametrize(
    "changed",
    [
        {"model": "other"},
        {"stream": False},
        {"messages": [{"role": "user", "content": "y"}]},
        {"tools": [{"type": "function", "function": {"name": "f"}}]},
        {"format": "json"},
        {"think": True},
    ],
)
def test_each_matched_key_changes_the_key(changed: dict[str, object]) -> None:
    base = {"model": "m", "messages": [{"role": "user", "content": "x"}]}
    assert request_key("POST", "/api/chat", json.dumps(base)) != request_key(
        "POST", "/api/chat", json.dumps({**base, **changed})
    )


def test_method_and_path_are_part_of_the_key_but_not_the_host() -> None:
    body = b'{"model": "m"}'
    assert request_key("POST", "http://a:1/api/show", body) == request_key("POST", "https://b/api/show", body)
    assert request_key("POST", "/api/show", body) != request_key("POST", "/api/generate", body)
    assert request_key("POST", "/api/show", body) != request_key("DELETE", "/api/show", body)


def test_stream_only_counts_where_ollama_streams() -> None:
    assert "stream" in semantic_body("/api/generate", {"model": "m"})
    assert "stream" not in semantic_body("/api/embed", {"model": "m", "stream": False})


def test_canonical_json_is_independent_of_key_order() -> None:
    assert canonical_json({"b": 1, "a": {"d": 2, "c": 3}}) == canonical_json({"a": {"c": 3, "d": 2}, "b": 1})


def test_a_plain_request_prefers_a_successful_recording_to_an_error_sharing_its_key(
    catalog: ReplayCatalog,
) -> None:
    # chat_bad_option_type.yaml (500, a bad option) and chat_logprobs.yaml (200) share this key.
    body = {"model": "smollm2:135m", "messages": [{"role": "user", "content": "Hi"}], "stream": False}
    assert catalog.answer("POST", "/api/chat", json.dumps(body)).status == 200


def test_the_exact_recorded_body_wins(catalog: ReplayCatalog) -> None:
    body = {
        "model": "smollm2:135m",
        "options": {"stop": "\n"},
        "messages": [{"role": "user", "content": "Hi"}],
        "stream": False,
    }
    assert catalog.answer("POST", "/api/chat", json.dumps(body)).status == 500


def test_the_closest_ignored_keys_pick_between_successes(catalog: ReplayCatalog) -> None:
    load = catalog.answer("POST", "/api/generate", b'{"model": "smollm2:135m"}')
    unload = catalog.answer("POST", "/api/generate", b'{"model": "smollm2:135m", "keep_alive": 0}')
    assert b'"done_reason":"load"' in load.body
    assert b'"done_reason":"unload"' in unload.body


def test_known_models_come_from_successful_recordings_and_tags(catalog: ReplayCatalog) -> None:
    assert {"smollm2:135m", "all-minilm:latest", "gemma3:270m"} <= catalog.known_models
    assert "no-such-model:1b" not in catalog.known_models


def test_recorded_not_found_answers_are_replayed_verbatim(catalog: ReplayCatalog) -> None:
    answer = catalog.answer("POST", "/api/embed", b'{"model": "no-such-model:1b", "input": "x"}')
    assert answer.status == 404
    assert answer.interaction is not None  # recorded, not synthesised


def test_reset_restarts_recorded_sequences() -> None:
    catalog = ReplayCatalog(load_cassette(RECORDED / "api" / "server_busy_then_ok.yaml"))
    body = b'{"model": "gemma3:270m", "prompt": "hi", "stream": false}'
    assert [catalog.answer("POST", "/api/generate", body).status for _ in range(3)] == [503, 200, 200]
    catalog.reset()
    assert catalog.answer("POST", "/api/generate", body).status == 503


def test_synthetic_faults_replay_through_the_catalog() -> None:
    catalog = ReplayCatalog.from_directory(CASSETTES / "synthetic")
    body = {"model": "smollm2:135m", "prompt": "synthetic: retry me", "stream": False}
    answers = [catalog.answer("POST", "/api/generate", json.dumps(body)) for _ in range(3)]
    assert [a.status for a in answers] == [502, 503, 200]
    assert ("retry-after", "1") in answers[1].headers
