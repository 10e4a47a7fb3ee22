"""The official ``ollama`` Python client works against the replay server as against a real Ollama."""

from __future__ import annotations

from collections.abc import Iterator

import ollama
import pytest

from ..recordings import cassette

OPTIONS = {"temperature": 0, "seed": 42, "num_predict": 48}


@pytest.fixture(scope="module")
def client(replay_server: str) -> Iterator[ollama.Client]:
    with ollama.Client(host=replay_server) as client:
        yield client


def test_chat(client: ollama.Client) -> None:
    response = client.chat(
        model="smollm2:135m",
        messages=[
            {"role": "system", "content": "You are a terse assistant."},
            {"role": "user", "content": "What is the capital of France?"},
        ],
        options=OPTIONS,
    )
    assert response.done and response.message.role == "assistant"
    assert response.message.content


def test_chat_stream(client: ollama.Client) -> None:
    chunks = list(
        client.chat(
            model="smollm2:135m",
            messages=[{"role": "user", "content": "Write a haiku about the sea."}],
            options=OPTIONS,
            stream=True,
        )
    )
    lines = cassette("api/chat_stream.yaml").exchange("/api/chat").lines
    assert [chunk.message.content for chunk in chunks] == [line["message"]["content"] for line in lines]
    assert chunks[-1].done and chunks[-1].done_reason == lines[-1]["done_reason"]


def test_chat_tool_call(client: ollama.Client) -> None:
    recorded = cassette("api/chat_tool_call.yaml").exchange("/api/chat").request
    response = client.chat(**{key: value for key, value in recorded.items() if key != "stream"})
    assert response.message.tool_calls
    call = response.message.tool_calls[0]
    assert call.function.name == "get_weather"
    assert isinstance(call.function.arguments, dict)


def test_generate(client: ollama.Client) -> None:
    response = client.generate(
        model="smollm2:135m", prompt="Why is the sky blue? Answer in one sentence.", options=OPTIONS
    )
    assert response.done and response.response


def test_generate_stream(client: ollama.Client) -> None:
    chunks = list(
        client.generate(model="smollm2:135m", prompt="Name three colours of the rainbow.", stream=True)
    )
    lines = cassette("api/generate_stream.yaml").exchange("/api/generate").lines
    assert [chunk.response for chunk in chunks] == [line["response"] for line in lines] and chunks[-1].done


def test_embed(client: ollama.Client) -> None:
    response = client.embed(
        model="all-minilm", input=["The sky is blue.", "Grass is green.", "Ollama runs models locally."]
    )
    assert len(response.embeddings) == 3
    assert all(len(vector) == 384 for vector in response.embeddings)


def test_list(client: ollama.Client) -> None:
    names = {model.model for model in client.list().models}
    assert {"smollm2:135m", "all-minilm:latest", "gemma3:270m"} <= names


def test_show(client: ollama.Client) -> None:
    info = client.show("smollm2:135m")
    assert info.modelinfo and "tools" in (info.capabilities or [])


def test_ps(client: ollama.Client) -> None:
    assert client.ps().models is not None


def test_unknown_model_raises_response_error_404(client: ollama.Client) -> None:
    with pytest.raises(ollama.ResponseError) as raised:
        client.chat(model="not-recorded:7b", messages=[{"role": "user", "content": "Hi"}])
    assert raised.value.status_code == 404
    assert raised.value.error == "model 'not-recorded:7b' not found"


def test_unknown_model_while_streaming_raises_before_the_first_chunk(client: ollama.Client) -> None:
    with pytest.raises(ollama.ResponseError) as raised:
        list(client.generate(model="not-recorded:7b", prompt="Hi", stream=True))
    assert raised.value.status_code == 404


def test_unrecorded_prompt_raises_with_a_helpful_message(client: ollama.Client) -> None:
    with pytest.raises(ollama.ResponseError) as raised:
        client.generate(model="smollm2:135m", prompt="never recorded")
    assert raised.value.status_code == 404
    assert "no recording matches" in raised.value.error


def test_recorded_capability_error_raises_400(client: ollama.Client) -> None:
    with pytest.raises(ollama.ResponseError) as raised:
        client.chat(model="gemma3:270m", messages=[{"role": "user", "content": "Hi"}], think=True)
    assert raised.value.status_code == 400
    assert raised.value.error == cassette("api/chat_think_unsupported.yaml").exchange("/api/chat").error
