"""The recorded LangChain flows (cassettes/recorded/frameworks/lc_*.yaml) replayed through our adapter.

The official integration recorded the bundled sessions; our adapter builds the same requests for the
same inputs (replay matches on path + model + messages / input, never on options), and a record run
re-records them through our adapter. Each flow must return what its recorded answer holds.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_ollama_provider import ChatOllama, OllamaEmbeddings
from pydantic import BaseModel

from ..recorded.expected import NANOSECONDS, chat_text
from ..recordings import Cassette

SETTINGS: dict[str, Any] = {"temperature": 0, "seed": 42}
DOCUMENTS = [
    "Ollama runs large language models on your own machine.",
    "The Eiffel Tower is in Paris and was finished in 1889.",
    "Photosynthesis turns light, water and carbon dioxide into sugar and oxygen.",
]


class Person(BaseModel):
    name: str
    age: int


def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    return f"sunny in {city}"


def translation_chain(url: str) -> Any:
    prompt = ChatPromptTemplate.from_messages(
        [("system", "You are a terse assistant."), ("human", "Translate to French: {text}")]
    )
    model = ChatOllama(model="smollm2:135m", base_url=url, num_predict=32, **SETTINGS)
    return prompt | model | StrOutputParser()


class TokenRecorder(BaseCallbackHandler):
    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.chunks: list[Any] = []

    def on_llm_new_token(self, token: str, *, chunk: Any = None, **kwargs: Any) -> None:
        self.tokens.append(token)
        self.chunks.append(chunk)


def contents(lines: list[dict[str, Any]]) -> list[str]:
    """The content of each recorded line: one LangChain token per line, the final (empty) one included."""
    return [line["message"]["content"] for line in lines]


@pytest.mark.vcr("frameworks/lc_chain_invoke.yaml")
def test_chain_invoke_returns_the_recorded_text(ollama_host: str, recording: Cassette) -> None:
    result = translation_chain(ollama_host).invoke({"text": "Good morning"})
    assert result == chat_text(recording.exchange("/api/chat").lines)


@pytest.mark.vcr("frameworks/lc_chain_invoke.yaml")
def test_chain_invoke_feeds_every_token_with_its_chunk_to_callbacks(
    ollama_host: str, recording: Cassette
) -> None:
    recorder = TokenRecorder()
    result = translation_chain(ollama_host).invoke({"text": "Good morning"}, config={"callbacks": [recorder]})
    assert "".join(recorder.tokens) == result
    # One token per recorded line: the content lines and the final done line.
    assert recorder.tokens == contents(recording.exchange("/api/chat").lines)
    assert all(
        chunk is not None and chunk.text == token
        for token, chunk in zip(recorder.tokens, recorder.chunks, strict=True)
    )


# The official flow ended with one more "" than ours: its chunks never say which is last, so LangChain
# appends an empty closing chunk. Ours marks the server's final chunk as last (with usage on it).
@pytest.mark.vcr("frameworks/lc_chain_stream.yaml")
def test_chain_stream_yields_the_recorded_tokens(ollama_host: str, recording: Cassette) -> None:
    tokens = list(translation_chain(ollama_host).stream({"text": "Thank you very much"}))
    assert tokens == contents(recording.exchange("/api/chat").lines)


@pytest.mark.vcr("frameworks/lc_chain_stream.yaml")
async def test_chain_astream_yields_the_recorded_tokens(ollama_host: str, recording: Cassette) -> None:
    chain = translation_chain(ollama_host)
    tokens = [token async for token in chain.astream({"text": "Thank you very much"})]
    assert tokens == contents(recording.exchange("/api/chat").lines)


MESSAGES = [("system", "You are a terse assistant."), ("human", "Translate to French: Good morning")]


@pytest.mark.vcr("frameworks/lc_chain_invoke.yaml")
def test_stream_puts_usage_and_metadata_on_the_last_chunk(ollama_host: str, recording: Cassette) -> None:
    model = ChatOllama(model="smollm2:135m", base_url=ollama_host, num_predict=32, **SETTINGS)
    chunks = list(model.stream(MESSAGES))

    final = recording.exchange("/api/chat").final
    last = chunks[-1]
    assert isinstance(last, AIMessageChunk) and last.chunk_position == "last"
    prompt, completion = final["prompt_eval_count"], final["eval_count"]
    assert last.usage_metadata == {
        "input_tokens": prompt,
        "output_tokens": completion,
        "total_tokens": prompt + completion,
    }
    assert last.response_metadata["model_name"] == final["model"]
    assert last.response_metadata["done_reason"] == final["done_reason"]
    assert last.response_metadata["finish_reason"] == final["done_reason"]
    assert last.response_metadata["timings"]["total"] == pytest.approx(final["total_duration"] / NANOSECONDS)
    assert all(chunk.usage_metadata is None for chunk in chunks[:-1])
    assert all("done_reason" not in chunk.response_metadata for chunk in chunks[:-1])


@pytest.mark.vcr("frameworks/lc_chain_invoke.yaml")
def test_invoke_result_carries_usage_and_finish_reason(ollama_host: str, recording: Cassette) -> None:
    model = ChatOllama(model="smollm2:135m", base_url=ollama_host, num_predict=32, **SETTINGS)
    message = model.invoke(MESSAGES)

    lines = recording.exchange("/api/chat").lines
    final = lines[-1]
    assert isinstance(message, AIMessage)
    assert message.content == chat_text(lines)
    assert message.usage_metadata is not None
    assert message.usage_metadata["total_tokens"] == final["prompt_eval_count"] + final["eval_count"]
    assert message.response_metadata["done_reason"] == final["done_reason"]
    assert message.response_metadata["eval_count"] == final["eval_count"]


def recorded_person(recording: Cassette) -> Person:
    return Person.model_validate_json(chat_text(recording.exchange("/api/chat").lines))


@pytest.mark.vcr("frameworks/lc_structured_output.yaml")
def test_structured_output_returns_the_recorded_person(ollama_host: str, recording: Cassette) -> None:
    model = ChatOllama(model="smollm2:135m", base_url=ollama_host, num_predict=60, **SETTINGS)
    person = model.with_structured_output(Person).invoke("Grace Hopper was 85. Extract her name and age.")
    assert person == recorded_person(recording)


@pytest.mark.vcr("frameworks/lc_structured_output.yaml")
def test_structured_output_include_raw_keeps_the_message(ollama_host: str, recording: Cassette) -> None:
    model = ChatOllama(model="smollm2:135m", base_url=ollama_host, num_predict=60, **SETTINGS)
    out = model.with_structured_output(Person, include_raw=True).invoke(
        "Grace Hopper was 85. Extract her name and age."
    )
    assert out["parsing_error"] is None
    assert out["parsed"] == recorded_person(recording)
    assert out["raw"].content == chat_text(recording.exchange("/api/chat").lines)


def recorded_call(recording: Cassette) -> dict[str, Any]:
    (call,) = [
        c for line in recording.exchange("/api/chat").lines for c in line["message"].get("tool_calls") or []
    ]
    return call


@pytest.mark.vcr("frameworks/lc_tool_call.yaml")
def test_forced_tool_returns_the_recorded_call_with_the_server_id(
    ollama_host: str, recording: Cassette
) -> None:
    model = ChatOllama(model="smollm2-tools:135m", base_url=ollama_host, num_predict=60, **SETTINGS)
    message = model.bind_tools([get_weather], tool_choice="get_weather").invoke(
        "What is the weather in Madrid?"
    )

    call = recorded_call(recording)
    assert message.tool_calls == [
        {"name": "get_weather", "args": call["function"]["arguments"], "id": call["id"], "type": "tool_call"}
    ]
    assert call["function"]["name"] == "get_weather"
    assert message.response_metadata["finish_reason"] == "tool_calls"


@pytest.mark.vcr("frameworks/lc_tool_call.yaml")
def test_forced_tool_streams_a_tool_call_chunk_with_index_and_id(
    ollama_host: str, recording: Cassette
) -> None:
    model = ChatOllama(model="smollm2-tools:135m", base_url=ollama_host, num_predict=60, **SETTINGS)
    bound = model.bind_tools([get_weather], tool_choice="get_weather")
    chunks = list(bound.stream("What is the weather in Madrid?"))

    call = recorded_call(recording)
    calls = [c for chunk in chunks for c in chunk.tool_call_chunks]
    assert len(calls) == 1
    assert {k: v for k, v in calls[0].items() if k != "args"} == {
        "name": "get_weather",
        "id": call["id"],
        "index": 0,
        "type": "tool_call_chunk",
    }
    assert json.loads(str(calls[0]["args"])) == call["function"]["arguments"]  # a JSON string in a chunk
    total = chunks[0]
    for chunk in chunks[1:]:
        total += chunk
    assert total.tool_calls == [
        {"name": "get_weather", "args": call["function"]["arguments"], "id": call["id"], "type": "tool_call"}
    ]


@pytest.mark.vcr("frameworks/lc_embeddings.yaml")
def test_embeddings_return_the_recorded_vectors(ollama_host: str, recording: Cassette) -> None:
    embeddings = OllamaEmbeddings(model="all-minilm:latest", base_url=ollama_host)
    vectors = embeddings.embed_documents(DOCUMENTS)
    query = embeddings.embed_query("Where is the Eiffel Tower?")

    documents, question = recording.all("/api/embed")
    assert vectors == documents.json["embeddings"]
    assert [query] == question.json["embeddings"]
    # The recorded vectors are normalised: the Eiffel Tower document is the closest to the query.
    scores = [sum(a * b for a, b in zip(vector, query, strict=True)) for vector in vectors]
    assert max(range(3), key=scores.__getitem__) == 1


# Sync, then async on two event loops: the same requests again, answered by the one recording.
@pytest.mark.vcr("frameworks/lc_embeddings.yaml", allow_playback_repeats=True)
def test_async_embeddings_match_sync_across_event_loops(ollama_host: str) -> None:
    embeddings = OllamaEmbeddings(model="all-minilm:latest", base_url=ollama_host)
    first = asyncio.run(embeddings.aembed_documents(DOCUMENTS))
    second = asyncio.run(embeddings.aembed_query("Where is the Eiffel Tower?"))  # a new loop, same provider
    assert first == embeddings.embed_documents(DOCUMENTS)
    assert second == embeddings.embed_query("Where is the Eiffel Tower?")
