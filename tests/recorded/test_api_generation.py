"""Generation scenarios (``/api/generate`` and ``/api/chat``) replayed through the public provider API.

Each test sends the recorded request (same model, prompt or messages, format, think and the recorded
options) and checks what a caller relies on: the text, the streamed chunks, thinking, usage and
timings, ``done_reason`` and the normalised ``finish_reason``, logprobs. Expected values are read
from the cassettes named in the marks.
"""

from __future__ import annotations

import json

import pytest

from ollama_provider import AsyncOllamaProvider, ChatResponse, GenerateResponse, OllamaProvider

from .api_scenarios import GEMMA, GREEDY, PERSON_SCHEMA, SMOLLM, SMOLLM_THINK, think_history


def _chat_text(chunks: list[ChatResponse]) -> str:
    return "".join(chunk.message.content for chunk in chunks)


def _only_last_is_done(chunks: list[ChatResponse] | list[GenerateResponse]) -> bool:
    return [chunk.done for chunk in chunks] == [False] * (len(chunks) - 1) + [True]


# --------------------------------------------------------------------------- /api/generate


@pytest.mark.vcr("api/generate.yaml")
def test_generate_returns_the_text_usage_and_timings(provider: OllamaProvider) -> None:
    answer = provider.generate(
        "Why is the sky blue? Answer in one sentence.", model=SMOLLM, num_predict=48, **GREEDY
    )

    assert answer.response == (
        "1. The sky blue is a result of the Earth's atmosphere scattering sunlight.\n"
        "2. The Earth's atmosphere is composed of a mix of gases, including water vapor, nitrogen, "
        "and oxygen.\n3. The sky is a result"
    )
    assert answer.done and answer.model == SMOLLM
    # 48 tokens asked, 48 generated: the server cut the answer, the caller learns why.
    assert (answer.done_reason, answer.finish_reason) == ("length", "length")
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens, answer.usage.total_tokens) == (
        20,
        48,
        68,
    )
    assert answer.timings.total == pytest.approx(1.095972674)
    assert answer.timings.load == pytest.approx(0.542348169)
    assert answer.timings.prompt_eval == pytest.approx(0.082393)
    assert answer.timings.tokens_per_second == pytest.approx(48 / 0.468885)
    assert answer.context is not None and len(answer.context) == 68  # to continue the conversation


@pytest.mark.vcr("api/generate_stream.yaml")
def test_generate_stream_yields_token_chunks_then_a_final_chunk_with_the_metrics(
    provider: OllamaProvider,
) -> None:
    chunks = list(
        provider.generate(
            "Name three colours of the rainbow.", model=SMOLLM, stream=True, num_predict=40, **GREEDY
        )
    )

    assert len(chunks) == 32
    assert _only_last_is_done(chunks)
    assert [chunk.response for chunk in chunks[:4]] == ["1", ".", " Red", "\n"]
    assert "".join(chunk.response for chunk in chunks) == (
        "1. Red\n2. Orange\n3. Yellow\n4. Green\n5. Blue\n6. White\n7. Pink\n8. Purple"
    )
    # Only the final chunk carries the reason, the metrics and the context.
    assert all(chunk.finish_reason is None and chunk.eval_count == 0 for chunk in chunks[:-1])
    final = chunks[-1]
    assert (final.response, final.done_reason, final.finish_reason) == ("", "stop", "stop")
    assert (final.usage.prompt_tokens, final.usage.completion_tokens) == (16, 32)
    assert final.timings.tokens_per_second == pytest.approx(32 / 0.316381)
    assert final.context is not None and len(final.context) == 47


@pytest.mark.vcr("api/generate_json.yaml")
def test_generate_with_format_json_returns_parseable_json(provider: OllamaProvider) -> None:
    answer = provider.generate(
        "Give a JSON object with keys city and country for Paris.",
        model=SMOLLM,
        format="json",
        num_predict=60,
        **GREEDY,
    )

    assert json.loads(answer.response) == {"city": "Paris"}
    assert answer.finish_reason == "stop"
    assert answer.usage.completion_tokens == 11


@pytest.mark.vcr("api/generate_length.yaml")
def test_generate_stream_cut_by_num_predict_ends_with_finish_reason_length(provider: OllamaProvider) -> None:
    chunks = list(
        provider.generate(
            "Count from one to fifty in words.", model=SMOLLM, stream=True, num_predict=8, **GREEDY
        )
    )

    assert len(chunks) == 9
    assert "".join(chunk.response for chunk in chunks) == "1. 1\n2. "
    assert (chunks[-1].done_reason, chunks[-1].finish_reason) == ("length", "length")
    assert chunks[-1].usage.completion_tokens == 8  # exactly num_predict


@pytest.mark.vcr("api/generate_base_model.yaml")
def test_generate_on_a_base_model_continues_the_prompt(provider: OllamaProvider) -> None:
    answer = provider.generate("The capital of France is", model=GEMMA, num_predict=16, **GREEDY)

    assert answer.model == GEMMA
    assert answer.response == "The capital of France is devenue\npaying\nThe capital of France is paying\n"
    assert answer.finish_reason == "length"
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (14, 16)
    assert answer.timings.load == pytest.approx(1.41951308)  # the first request loaded gemma3


@pytest.mark.vcr("api/generate_load.yaml")
def test_generate_without_a_prompt_loads_the_model(provider: OllamaProvider) -> None:
    # The recording omits "stream" (so the server reads it as true): stream=True sends the same request.
    chunks = list(provider.generate(model=SMOLLM, stream=True))

    assert len(chunks) == 1
    (loaded,) = chunks
    assert loaded.done and loaded.response == ""
    assert (loaded.done_reason, loaded.finish_reason) == ("load", "load")
    assert loaded.usage.total_tokens == 0 and loaded.timings.tokens_per_second is None


@pytest.mark.vcr("api/generate_unload.yaml")
def test_generate_with_keep_alive_zero_unloads_the_model(provider: OllamaProvider) -> None:
    chunks = list(provider.generate(model=SMOLLM, keep_alive=0, stream=True))

    assert len(chunks) == 1
    assert chunks[0].done and chunks[0].response == ""
    assert (chunks[0].done_reason, chunks[0].finish_reason) == ("unload", "unload")


@pytest.mark.vcr("api/generate_think_stream.yaml")
async def test_async_generate_stream_separates_thinking_from_the_response(ollama_host: str) -> None:
    async with AsyncOllamaProvider(host=ollama_host) as provider:
        stream = await provider.generate(
            "What is 4 + 4?", model=SMOLLM_THINK, think=True, stream=True, num_predict=40, **GREEDY
        )
        chunks = [chunk async for chunk in stream]

    assert len(chunks) == 9
    assert (chunks[0].response, chunks[0].thinking, chunks[0].done) == ("", None, False)
    thinking_chunks = chunks[1:8]
    assert all(chunk.thinking and chunk.response == "" for chunk in thinking_chunks)
    assert "".join(chunk.thinking or "" for chunk in chunks) == "The answer is 10."
    assert "".join(chunk.response for chunk in chunks) == ""
    final = chunks[-1]
    assert final.finish_reason == "stop" and final.thinking is None
    assert (final.usage.prompt_tokens, final.usage.completion_tokens) == (21, 9)


# --------------------------------------------------------------------------- /api/chat


@pytest.mark.vcr("api/chat.yaml")
def test_chat_with_a_system_message_returns_the_assistant_message(provider: OllamaProvider) -> None:
    answer = provider.chat(
        [
            {"role": "system", "content": "You are a terse assistant."},
            {"role": "user", "content": "What is the capital of France?"},
        ],
        model=SMOLLM,
        num_predict=48,
        **GREEDY,
    )

    assert answer.message.role == "assistant"
    assert answer.message.content == "1. The capital of France is Paris."
    assert answer.message.thinking is None and answer.message.tool_calls is None
    assert (answer.done, answer.done_reason, answer.finish_reason) == (True, "stop", "stop")
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens, answer.usage.total_tokens) == (
        28,
        10,
        38,
    )
    assert answer.timings.total == pytest.approx(0.726007148)
    assert answer.timings.eval == pytest.approx(0.08481)
    assert answer.timings.tokens_per_second == pytest.approx(10 / 0.08481)
    assert answer.created_at == "2026-11-26T17:28:27.699069998Z"


@pytest.mark.vcr("api/chat_stream.yaml")
def test_chat_stream_yields_the_answer_token_by_token(provider: OllamaProvider) -> None:
    with provider.chat(
        "Write a haiku about the sea.", model=SMOLLM, stream=True, num_predict=48, **GREEDY
    ) as stream:
        chunks = list(stream)

    assert len(chunks) == 40
    assert _only_last_is_done(chunks)
    assert [chunk.message.content for chunk in chunks[:5]] == ["1", ".", " **", "S", "ail"]
    assert _chat_text(chunks) == (
        "1. **Sail into the unknown**\n2. **The sea is a mirror**\n"
        "3. **A reflection of the soul**\n4. **A reflection of the soul**"
    )
    assert all(chunk.message.role == "assistant" for chunk in chunks)
    final = chunks[-1]
    assert (final.message.content, final.done_reason, final.finish_reason) == ("", "stop", "stop")
    assert (final.usage.prompt_tokens, final.usage.completion_tokens) == (17, 40)
    assert final.timings.tokens_per_second == pytest.approx(40 / 0.360458)


@pytest.mark.vcr("api/chat_multiturn.yaml")
def test_chat_sends_the_whole_history(provider: OllamaProvider) -> None:
    answer = provider.chat(
        [
            {"role": "user", "content": "My name is Ada."},
            {"role": "assistant", "content": "Nice to meet you, Ada."},
            {"role": "user", "content": "What is my name?"},
        ],
        model=SMOLLM,
        num_predict=32,
        **GREEDY,
    )

    assert answer.message.content == "1999."  # a 135M model: the history was sent, wisdom not included
    assert answer.usage.prompt_tokens == 38  # the three turns were all evaluated
    assert answer.finish_reason == "stop"


@pytest.mark.vcr("api/chat_keep_alive.yaml")
def test_chat_accepts_keep_alive_as_a_duration_string(provider: OllamaProvider) -> None:
    answer = provider.chat("Say hello.", model=SMOLLM, keep_alive="10m", num_predict=16, **GREEDY)

    assert answer.message.content == "1. Hello\n2. Hello\n3. Hello\n4. Hello\n"
    assert (answer.done_reason, answer.finish_reason) == ("length", "length")
    assert answer.usage.completion_tokens == 16


@pytest.mark.vcr("api/chat_schema.yaml")
def test_chat_with_a_json_schema_returns_an_object_of_that_shape(provider: OllamaProvider) -> None:
    answer = provider.chat(
        "Ada Lovelace was 36. Return her name and age as JSON.",
        model=SMOLLM,
        format=PERSON_SCHEMA,
        num_predict=60,
        **GREEDY,
    )

    person = json.loads(answer.message.content)
    assert person == {"name": "Ada Lovelace", "age": 35}  # the shape is enforced, the facts are not
    assert set(person) == set(PERSON_SCHEMA["required"])
    assert answer.finish_reason == "stop"


@pytest.mark.vcr("api/chat_schema_stream.yaml")
def test_chat_stream_with_a_json_schema_concatenates_to_valid_json(provider: OllamaProvider) -> None:
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

    assert len(chunks) == 20
    assert chunks[0].message.content == "{"
    assert json.loads(_chat_text(chunks)) == {"name": "Alan Turing", "age": 41}
    assert chunks[-1].finish_reason == "stop"
    assert chunks[-1].usage.completion_tokens == 20


@pytest.mark.vcr("api/chat_unicode_stream.yaml")
def test_chat_stream_with_multibyte_text_in_the_prompt(provider: OllamaProvider) -> None:
    # The prompt (accents, CJK, an emoji outside the BMP) must go out byte-exact to match the recording.
    chunks = list(
        provider.chat(
            "Repeat exactly: café, naïve, 東京, 🚀", model=SMOLLM, stream=True, num_predict=40, **GREEDY
        )
    )

    assert len(chunks) == 41
    assert _chat_text(chunks) == "1. " * 13 + "1"
    assert (chunks[-1].done_reason, chunks[-1].finish_reason) == ("length", "length")
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (26, 40)


# --------------------------------------------------------------------------- thinking


@pytest.mark.vcr("api/chat_think.yaml")
def test_chat_think_returns_the_thinking_apart_from_the_content(provider: OllamaProvider) -> None:
    answer = provider.chat(
        think_history("What is 10 + 7?"), model=SMOLLM_THINK, think=True, num_predict=60, **GREEDY
    )

    assert answer.message.thinking == "The user asks for 10 plus 7. One more."
    assert answer.message.content == ""
    assert answer.finish_reason == "stop"
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (108, 15)


@pytest.mark.vcr("api/chat_think_stream.yaml")
async def test_async_chat_think_stream_has_thinking_only_chunks_then_content(ollama_host: str) -> None:
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

    assert len(chunks) == 19
    thinking_only = chunks[:17]
    assert all(chunk.message.thinking and chunk.message.content == "" for chunk in thinking_only)
    assert "".join(chunk.message.thinking or "" for chunk in chunks) == (
        "The user asks for 6 plus 1. Six plus one is 7."
    )
    assert (chunks[17].message.content, chunks[17].message.thinking) == ("7", None)
    assert _chat_text(chunks) == "7"
    final = chunks[-1]
    assert final.done and final.finish_reason == "stop"
    assert (final.usage.prompt_tokens, final.usage.completion_tokens) == (107, 23)


@pytest.mark.vcr("api/chat_think_false.yaml")
def test_chat_think_false_on_a_thinking_model_answers_without_thinking(provider: OllamaProvider) -> None:
    answer = provider.chat(
        think_history("What is 10 + 7?"), model=SMOLLM_THINK, think=False, num_predict=30, **GREEDY
    )

    assert answer.message.thinking is None
    assert answer.message.content == "10 + 7 = 8\n"
    assert answer.finish_reason == "stop"


@pytest.mark.vcr("api/chat_think_level.yaml")
def test_chat_think_accepts_a_level(provider: OllamaProvider) -> None:
    answer = provider.chat(
        think_history("What is 1 + 1?"), model=SMOLLM_THINK, think="high", num_predict=30, **GREEDY
    )

    assert answer.message.thinking == "1 + 1 is 2."
    assert answer.message.content == ""
    assert answer.finish_reason == "stop"


# --------------------------------------------------------------------------- logprobs


@pytest.mark.vcr("api/chat_logprobs.yaml")
def test_chat_logprobs_give_each_token_with_its_top_alternatives(provider: OllamaProvider) -> None:
    answer = provider.chat("Hi", model=SMOLLM, logprobs=True, top_logprobs=2, num_predict=4, **GREEDY)

    assert answer.message.content == "1. The first"
    assert answer.logprobs is not None
    assert [entry.token for entry in answer.logprobs] == ["1", ".", " The", " first"]
    assert "".join(entry.token for entry in answer.logprobs) == answer.message.content
    assert [entry.logprob for entry in answer.logprobs] == pytest.approx(
        [-0.4520326256752014, -0.25386345386505127, -2.300076961517334, -3.9674060344696045]
    )
    assert answer.logprobs[2].bytes == list(b" The")
    first = answer.logprobs[0]
    assert first.top_logprobs is not None
    assert [(alt.token, alt.logprob) for alt in first.top_logprobs] == [
        ("1", pytest.approx(-0.4520326256752014)),
        ("\n", pytest.approx(-1.914436936378479)),
    ]
    # Greedy decoding: each chosen token is its own best alternative, and there are 2 of them.
    for entry in answer.logprobs:
        assert entry.top_logprobs is not None and len(entry.top_logprobs) == 2
        assert entry.top_logprobs[0].token == entry.token
    assert answer.finish_reason == "length"


@pytest.mark.vcr("api/chat_logprobs_stream.yaml")
def test_chat_logprobs_stream_carries_one_entry_per_token_chunk(provider: OllamaProvider) -> None:
    chunks = list(
        provider.chat(
            "Hello", model=SMOLLM, stream=True, logprobs=True, top_logprobs=2, num_predict=4, **GREEDY
        )
    )

    assert len(chunks) == 5
    token_chunks, final = chunks[:-1], chunks[-1]
    for chunk in token_chunks:
        assert chunk.logprobs is not None and len(chunk.logprobs) == 1
        assert chunk.logprobs[0].token == chunk.message.content
        assert chunk.logprobs[0].top_logprobs is not None and len(chunk.logprobs[0].top_logprobs) == 2
    assert _chat_text(chunks) == "1. The first"
    assert chunks[3].logprobs is not None
    assert chunks[3].logprobs[0].logprob == pytest.approx(-3.827289581298828)
    assert chunks[3].logprobs[0].top_logprobs is not None
    assert chunks[3].logprobs[0].top_logprobs[1].token == " original"
    assert final.logprobs is None and final.finish_reason == "length"
