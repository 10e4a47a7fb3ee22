"""Generation scenarios (``/api/generate`` and ``/api/chat``) replayed through the public provider API.

Each test sends the recorded request (same model, prompt or messages, format, think and the recorded
options) and checks what a caller relies on: the text, the streamed chunks, thinking, usage and
timings, ``done_reason`` and the normalised ``finish_reason``, logprobs. Expected values are read
from the test's cassette (``recording``), so a re-recording with other wording passes too.
"""

from __future__ import annotations

import json

import pytest

from ollama_provider import AsyncOllamaProvider, OllamaProvider, TokenLogprob

from ..recordings import Cassette
from ..releases import THINK_LEVELS, skip_lacking, unless_refused
from .api_scenarios import GEMMA, GREEDY, PERSON_SCHEMA, SMOLLM, SMOLLM_THINK, think_history
from .expected import (
    assert_chat_answer,
    assert_generate_answer,
    assert_metrics,
    assert_stream,
    chat_text,
    finish_reason,
    generate_text,
)

# --------------------------------------------------------------------------- /api/generate


@pytest.mark.vcr("api/generate.yaml")
def test_generate_returns_the_text_usage_and_timings(provider: OllamaProvider, recording: Cassette) -> None:
    answer = provider.generate(
        "Why is the sky blue? Answer in one sentence.", model=SMOLLM, num_predict=48, **GREEDY
    )

    recorded = recording.exchange("/api/generate").json
    assert_generate_answer(answer, recorded)
    assert answer.model == SMOLLM and answer.response
    assert answer.finish_reason == finish_reason(recorded["done_reason"])
    if answer.done_reason == "length":  # the server cut the answer at num_predict: the caller learns why
        assert answer.usage.completion_tokens == 48
    assert_metrics(answer, recorded)
    assert answer.timings.tokens_per_second is not None and answer.timings.tokens_per_second > 0
    # The context continues the conversation: the prompt's tokens, then the answer's.
    assert answer.context is not None and len(answer.context) >= answer.usage.completion_tokens


@pytest.mark.vcr("api/generate_stream.yaml")
def test_generate_stream_yields_token_chunks_then_a_final_chunk_with_the_metrics(
    provider: OllamaProvider, recording: Cassette
) -> None:
    chunks = list(
        provider.generate(
            "Name three colours of the rainbow.", model=SMOLLM, stream=True, num_predict=40, **GREEDY
        )
    )

    lines = recording.exchange("/api/generate").lines
    assert len(chunks) > 2  # token by token
    assert_stream(chunks, lines, assert_generate_answer)
    assert "".join(chunk.response for chunk in chunks) == generate_text(lines)
    # Only the final chunk carries the reason, the metrics and the context.
    assert all(chunk.context is None for chunk in chunks[:-1])
    final = chunks[-1]
    assert final.response == "" and final.finish_reason == finish_reason(lines[-1]["done_reason"])
    assert final.context is not None


@pytest.mark.vcr("api/generate_json.yaml")
def test_generate_with_format_json_returns_parseable_json(
    provider: OllamaProvider, recording: Cassette
) -> None:
    answer = provider.generate(
        "Give a JSON object with keys city and country for Paris.",
        model=SMOLLM,
        format="json",
        num_predict=60,
        **GREEDY,
    )

    recorded = recording.exchange("/api/generate").json
    assert recording.exchange("/api/generate").request["format"] == "json"
    assert_generate_answer(answer, recorded)
    assert isinstance(json.loads(answer.response), dict)  # format="json" holds the model to a JSON object
    assert answer.finish_reason == finish_reason(recorded["done_reason"])
    assert_metrics(answer, recorded)


@pytest.mark.vcr("api/generate_length.yaml")
def test_generate_stream_cut_by_num_predict_ends_with_finish_reason_length(
    provider: OllamaProvider, recording: Cassette
) -> None:
    chunks = list(
        provider.generate(
            "Count from one to fifty in words.", model=SMOLLM, stream=True, num_predict=8, **GREEDY
        )
    )

    lines = recording.exchange("/api/generate").lines
    assert_stream(chunks, lines, assert_generate_answer)
    assert chunks[-1].finish_reason == finish_reason(lines[-1]["done_reason"])
    if chunks[-1].done_reason == "length":
        assert chunks[-1].usage.completion_tokens == 8  # exactly num_predict
    assert chunks[-1].usage.completion_tokens <= 8


@pytest.mark.vcr("api/generate_base_model.yaml")
def test_generate_on_a_base_model_continues_the_prompt(provider: OllamaProvider, recording: Cassette) -> None:
    answer = provider.generate("The capital of France is", model=GEMMA, num_predict=16, **GREEDY)

    recorded = recording.exchange("/api/generate").json
    assert answer.model == GEMMA
    assert_generate_answer(answer, recorded)
    assert answer.finish_reason == finish_reason(recorded["done_reason"])
    assert_metrics(answer, recorded)


@pytest.mark.vcr("api/generate_load.yaml")
def test_generate_without_a_prompt_loads_the_model(provider: OllamaProvider, recording: Cassette) -> None:
    # The recording omits "stream" (so the server reads it as true): stream=True sends the same request.
    chunks = list(provider.generate(model=SMOLLM, stream=True))

    assert "prompt" not in recording.exchange("/api/generate").request
    (loaded,) = chunks
    assert_generate_answer(loaded, recording.exchange("/api/generate").final)
    assert loaded.done and loaded.response == ""
    assert (loaded.done_reason, loaded.finish_reason) == ("load", "load")
    assert loaded.usage.total_tokens == 0 and loaded.timings.tokens_per_second is None


@pytest.mark.vcr("api/generate_unload.yaml")
def test_generate_with_keep_alive_zero_unloads_the_model(
    provider: OllamaProvider, recording: Cassette
) -> None:
    chunks = list(provider.generate(model=SMOLLM, keep_alive=0, stream=True))

    assert recording.exchange("/api/generate").request["keep_alive"] == 0
    (unloaded,) = chunks
    assert_generate_answer(unloaded, recording.exchange("/api/generate").final)
    assert unloaded.done and unloaded.response == ""
    assert (unloaded.done_reason, unloaded.finish_reason) == ("unload", "unload")


@pytest.mark.vcr("api/generate_think_stream.yaml")
async def test_async_generate_stream_separates_thinking_from_the_response(
    ollama_host: str, recording: Cassette
) -> None:
    async with AsyncOllamaProvider(host=ollama_host) as provider:
        stream = await provider.generate(
            "What is 4 + 4?", model=SMOLLM_THINK, think=True, stream=True, num_predict=40, **GREEDY
        )
        chunks = [chunk async for chunk in stream]

    lines = recording.exchange("/api/generate").lines
    assert_stream(chunks, lines, assert_generate_answer)
    thinking_chunks = [chunk for chunk in chunks if chunk.thinking]
    assert thinking_chunks and all(chunk.response == "" for chunk in thinking_chunks)
    assert "".join(chunk.thinking or "" for chunk in chunks) == generate_text(lines, "thinking")
    assert "".join(chunk.response for chunk in chunks) == generate_text(lines)
    assert chunks[-1].finish_reason == finish_reason(lines[-1]["done_reason"]) and chunks[-1].thinking is None


# --------------------------------------------------------------------------- /api/chat


@pytest.mark.vcr("api/chat.yaml")
def test_chat_with_a_system_message_returns_the_assistant_message(
    provider: OllamaProvider, recording: Cassette
) -> None:
    answer = provider.chat(
        [
            {"role": "system", "content": "You are a terse assistant."},
            {"role": "user", "content": "What is the capital of France?"},
        ],
        model=SMOLLM,
        num_predict=48,
        **GREEDY,
    )

    recorded = recording.exchange("/api/chat").json
    assert_chat_answer(answer, recorded)
    assert answer.message.role == "assistant" and answer.message.content
    assert answer.message.thinking is None and answer.message.tool_calls is None
    assert answer.done and answer.finish_reason == finish_reason(recorded["done_reason"])
    assert_metrics(answer, recorded)


@pytest.mark.vcr("api/chat_stream.yaml")
def test_chat_stream_yields_the_answer_token_by_token(provider: OllamaProvider, recording: Cassette) -> None:
    with provider.chat(
        "Write a haiku about the sea.", model=SMOLLM, stream=True, num_predict=48, **GREEDY
    ) as stream:
        chunks = list(stream)

    lines = recording.exchange("/api/chat").lines
    assert len(chunks) > 2  # token by token
    assert_stream(chunks, lines, assert_chat_answer)
    assert "".join(chunk.message.content for chunk in chunks) == chat_text(lines)
    assert all(chunk.message.role == "assistant" for chunk in chunks)
    final = chunks[-1]
    assert final.message.content == "" and final.finish_reason == finish_reason(lines[-1]["done_reason"])


@pytest.mark.vcr("api/chat_multiturn.yaml")
def test_chat_sends_the_whole_history(provider: OllamaProvider, recording: Cassette) -> None:
    history = [
        {"role": "user", "content": "My name is Ada."},
        {"role": "assistant", "content": "Nice to meet you, Ada."},
        {"role": "user", "content": "What is my name?"},
    ]
    answer = provider.chat(history, model=SMOLLM, num_predict=32, **GREEDY)

    exchange = recording.exchange("/api/chat")
    assert exchange.request["messages"] == history  # the three turns went out as they are
    assert_chat_answer(answer, exchange.json)
    assert_metrics(answer, exchange.json)


@pytest.mark.vcr("api/chat_keep_alive.yaml")
def test_chat_accepts_keep_alive_as_a_duration_string(provider: OllamaProvider, recording: Cassette) -> None:
    answer = provider.chat("Say hello.", model=SMOLLM, keep_alive="10m", num_predict=16, **GREEDY)

    exchange = recording.exchange("/api/chat")
    assert exchange.request["keep_alive"] == "10m"
    assert_chat_answer(answer, exchange.json)
    assert answer.finish_reason == finish_reason(exchange.json["done_reason"])
    assert answer.usage.completion_tokens <= 16


@pytest.mark.vcr("api/chat_schema.yaml")
def test_chat_with_a_json_schema_returns_an_object_of_that_shape(
    provider: OllamaProvider, recording: Cassette
) -> None:
    answer = provider.chat(
        "Ada Lovelace was 36. Return her name and age as JSON.",
        model=SMOLLM,
        format=PERSON_SCHEMA,
        num_predict=60,
        **GREEDY,
    )

    recorded = recording.exchange("/api/chat").json
    assert_chat_answer(answer, recorded)
    person = json.loads(answer.message.content)
    # The shape is enforced (the facts are not: a 135M model may get the age wrong).
    assert set(person) == set(PERSON_SCHEMA["required"])
    assert isinstance(person["name"], str) and isinstance(person["age"], int)
    assert answer.finish_reason == finish_reason(recorded["done_reason"])


@pytest.mark.vcr("api/chat_schema_stream.yaml")
def test_chat_stream_with_a_json_schema_concatenates_to_valid_json(
    provider: OllamaProvider, recording: Cassette
) -> None:
    chunks = list(
        provider.chat(
            "Alan Turing was 41. Return his name and age as JSON.",
            model=SMOLLM,
            format=PERSON_SCHEMA,
            stream=True,
            num_predict=60,
            **GREEDY,
        )
    )

    lines = recording.exchange("/api/chat").lines
    assert_stream(chunks, lines, assert_chat_answer)
    text = "".join(chunk.message.content for chunk in chunks)
    assert text == chat_text(lines)
    assert set(json.loads(text)) == set(PERSON_SCHEMA["required"])
    assert chunks[-1].finish_reason == finish_reason(lines[-1]["done_reason"])


@pytest.mark.vcr("api/chat_unicode_stream.yaml")
def test_chat_stream_with_multibyte_text_in_the_prompt(provider: OllamaProvider, recording: Cassette) -> None:
    # The prompt (accents, CJK, an emoji outside the BMP) must go out byte-exact to match the recording.
    prompt = "Repeat exactly: café, naïve, 東京, 🚀"
    chunks = list(provider.chat(prompt, model=SMOLLM, stream=True, num_predict=40, **GREEDY))

    exchange = recording.exchange("/api/chat")
    assert exchange.request["messages"] == [{"role": "user", "content": prompt}]
    assert_stream(chunks, exchange.lines, assert_chat_answer)
    assert "".join(chunk.message.content for chunk in chunks) == chat_text(exchange.lines)


# --------------------------------------------------------------------------- thinking


@pytest.mark.vcr("api/chat_think.yaml")
def test_chat_think_returns_the_thinking_apart_from_the_content(
    provider: OllamaProvider, recording: Cassette
) -> None:
    answer = provider.chat(
        think_history("What is 10 + 7?"), model=SMOLLM_THINK, think=True, num_predict=60, **GREEDY
    )

    recorded = recording.exchange("/api/chat").json
    assert recorded["message"].get("thinking")  # the scenario: an answer with thinking
    assert_chat_answer(answer, recorded)
    assert "<think>" not in answer.message.content  # the server split it off, we keep it apart
    assert answer.finish_reason == finish_reason(recorded["done_reason"])
    assert_metrics(answer, recorded)


@pytest.mark.vcr("api/chat_think_stream.yaml")
async def test_async_chat_think_stream_has_thinking_only_chunks_then_content(
    ollama_host: str, recording: Cassette
) -> None:
    async with AsyncOllamaProvider(host=ollama_host) as provider:
        stream = await provider.chat(
            think_history("What is 6 + 1?"),
            model=SMOLLM_THINK,
            think=True,
            stream=True,
            num_predict=60,
            **GREEDY,
        )
        chunks = [chunk async for chunk in stream]

    lines = recording.exchange("/api/chat").lines
    assert_stream(chunks, lines, assert_chat_answer)
    thinking_only = [chunk for chunk in chunks if chunk.message.thinking]
    assert thinking_only and all(chunk.message.content == "" for chunk in thinking_only)
    assert "".join(chunk.message.thinking or "" for chunk in chunks) == chat_text(lines, "thinking")
    assert "".join(chunk.message.content for chunk in chunks) == chat_text(lines)
    assert chunks[-1].finish_reason == finish_reason(lines[-1]["done_reason"])


@pytest.mark.vcr("api/chat_think_false.yaml")
def test_chat_think_false_on_a_thinking_model_answers_without_thinking(
    provider: OllamaProvider, recording: Cassette
) -> None:
    answer = provider.chat(
        think_history("What is 10 + 7?"), model=SMOLLM_THINK, think=False, num_predict=30, **GREEDY
    )

    exchange = recording.exchange("/api/chat")
    assert exchange.request["think"] is False
    assert_chat_answer(answer, exchange.json)
    assert answer.message.thinking is None  # nothing was split off: any <think> text stays in content
    assert answer.finish_reason == finish_reason(exchange.json["done_reason"])


@pytest.mark.vcr("api/chat_think_level.yaml")
def test_chat_think_accepts_a_level(provider: OllamaProvider, recording: Cassette) -> None:
    with unless_refused(recording, "/api/chat", THINK_LEVELS):
        answer = provider.chat(
            think_history("What is 1 + 1?"), model=SMOLLM_THINK, think="high", num_predict=30, **GREEDY
        )

    exchange = recording.exchange("/api/chat")
    assert exchange.request["think"] == "high"
    assert_chat_answer(answer, exchange.json)
    assert answer.message.thinking  # a level turns thinking on
    assert answer.finish_reason == finish_reason(exchange.json["done_reason"])


# --------------------------------------------------------------------------- logprobs


def _logprobs(entries: list[dict[str, object]] | None) -> list[tuple[object, ...]]:
    return [(e["token"], e["logprob"], e.get("bytes")) for e in entries or []]


def _ours(entries: list[TokenLogprob] | None) -> list[tuple[object, ...]]:
    return [(e.token, e.logprob, e.bytes) for e in entries or []]


@pytest.mark.vcr("api/chat_logprobs.yaml")
def test_chat_logprobs_give_each_token_with_its_top_alternatives(
    provider: OllamaProvider, recording: Cassette
) -> None:
    answer = provider.chat("Hi", model=SMOLLM, logprobs=True, top_logprobs=2, num_predict=4, **GREEDY)

    recorded = recording.exchange("/api/chat").json
    assert_chat_answer(answer, recorded)
    assert answer.logprobs is not None
    assert _ours(answer.logprobs) == _logprobs(recorded["logprobs"])
    assert "".join(entry.token for entry in answer.logprobs) == answer.message.content
    assert len(answer.logprobs) == answer.usage.completion_tokens  # one entry per generated token
    for ours, raw in zip(answer.logprobs, recorded["logprobs"], strict=True):
        assert _ours(ours.top_logprobs) == _logprobs(raw["top_logprobs"])
        assert ours.top_logprobs is not None and len(ours.top_logprobs) == 2
    assert answer.finish_reason == finish_reason(recorded["done_reason"])
    # Greedy decoding: each chosen token is its own best alternative (read from the recording: Ollama
    # 0.12 lists the alternatives before its repeat penalty, which may pick the second one).
    if any(raw["top_logprobs"][0]["token"] != raw["token"] for raw in recorded["logprobs"]):
        skip_lacking("lists top_logprobs before its repeat penalty: a greedy choice is not always the first")
    assert all(ours.top_logprobs and ours.top_logprobs[0].token == ours.token for ours in answer.logprobs)


@pytest.mark.vcr("api/chat_logprobs_stream.yaml")
def test_chat_logprobs_stream_carries_one_entry_per_token_chunk(
    provider: OllamaProvider, recording: Cassette
) -> None:
    chunks = list(
        provider.chat(
            "Hello", model=SMOLLM, stream=True, logprobs=True, top_logprobs=2, num_predict=4, **GREEDY
        )
    )

    lines = recording.exchange("/api/chat").lines
    assert_stream(chunks, lines, assert_chat_answer)
    token_chunks, final = chunks[:-1], chunks[-1]
    assert token_chunks
    for chunk, line in zip(token_chunks, lines, strict=False):
        assert chunk.logprobs is not None and len(chunk.logprobs) == 1
        assert chunk.logprobs[0].token == chunk.message.content
        assert _ours(chunk.logprobs) == _logprobs(line["logprobs"])
        assert _ours(chunk.logprobs[0].top_logprobs) == _logprobs(line["logprobs"][0]["top_logprobs"])
        assert len(chunk.logprobs[0].top_logprobs or []) == 2
    assert final.logprobs is None and final.finish_reason == finish_reason(lines[-1]["done_reason"])
