"""``live_answers`` (tests/live_answers.py): a live test sees the answers its code read, streams intact.

Checked against the fake Ollama (it makes answers up for any request), sync and async.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ollama_provider import AsyncOllamaProvider, ModelNotFoundError, OllamaProvider
from ollama_provider.testing import FakeOllama

from ..live_answers import LiveAnswers
from ..recorded.expected import chat_text


@pytest.fixture(scope="module")
def fake() -> Iterator[str]:
    with FakeOllama(models=["llama3.2"], chunks=4, chunk_interval=0.01) as server:
        yield server.url


def test_a_stream_reaches_its_reader_whole_and_is_kept(fake: str, live_answers: LiveAnswers) -> None:
    with OllamaProvider(fake) as provider:
        chunks = list(provider.chat("Hello there", model="llama3.2", stream=True))
        answer = provider.chat("Plain, please", model="llama3.2")

    streamed, plain = live_answers.cassette().all("/api/chat")
    assert len(streamed.lines) == len(chunks) > 1
    assert chat_text(streamed.lines) == "".join(c.message.content for c in chunks)
    assert streamed.request["messages"][-1]["content"] == "Hello there"
    assert plain.json["message"]["content"] == answer.message.content
    assert (plain.status, plain.request["stream"]) == (200, False)


async def test_async_answers_are_kept_too(fake: str, live_answers: LiveAnswers) -> None:
    provider = AsyncOllamaProvider(fake)
    try:
        chunks = [chunk async for chunk in await provider.chat("Hi", model="llama3.2", stream=True)]
        vectors = await provider.embed(["one", "two"], model="llama3.2")
    finally:
        await provider.close()

    answers = live_answers.cassette()
    assert chat_text(answers.exchange("/api/chat").lines) == "".join(c.message.content for c in chunks)
    assert answers.exchange("/api/embed").json["embeddings"] == vectors


def test_an_error_answer_is_kept_with_its_status(fake: str, live_answers: LiveAnswers) -> None:
    with OllamaProvider(fake, retries=0) as provider, pytest.raises(ModelNotFoundError):
        provider.chat("Hi", model="no-such-model")

    assert live_answers.cassette().exchange("/api/chat").status == 404
