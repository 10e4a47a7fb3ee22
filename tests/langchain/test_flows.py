"""The recorded LangChain flows (cassettes/recorded/frameworks/lc_*.yaml) replayed through our adapter.

The official integration recorded these sessions; our adapter builds the same requests for the same
inputs, so the replay server answers them, and each flow must return what flows.json says it did.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_ollama_provider import ChatOllama, OllamaEmbeddings
from pydantic import BaseModel

FLOWS = json.loads(
    (Path(__file__).resolve().parents[2] / "cassettes/recorded/frameworks/flows.json").read_text()
)
# The official flow ended with one more "" than ours: its chunks never say which is last, so LangChain
# appends an empty closing chunk. Ours marks the server's final chunk as last (with usage on it).
assert FLOWS["lc_chain_stream"]["result"][-2:] == ["", ""]
RECORDED_STREAM = FLOWS["lc_chain_stream"]["result"][:-1]
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


def test_chain_invoke_returns_the_recorded_text(replay_server: str) -> None:
    result = translation_chain(replay_server).invoke({"text": "Good morning"})
    assert result == FLOWS["lc_chain_invoke"]["result"]


def test_chain_invoke_feeds_every_token_with_its_chunk_to_callbacks(replay_server: str) -> None:
    recorder = TokenRecorder()
    result = translation_chain(replay_server).invoke(
        {"text": "Good morning"}, config={"callbacks": [recorder]}
    )
    assert "".join(recorder.tokens) == result
    assert len(recorder.tokens) == 33  # 32 content lines + the final done line of the recording
    assert all(
        chunk is not None and chunk.text == token
        for token, chunk in zip(recorder.tokens, recorder.chunks, strict=True)
    )


def test_chain_stream_yields_the_recorded_tokens(replay_server: str) -> None:
    tokens = list(translation_chain(replay_server).stream({"text": "Thank you very much"}))
    assert tokens == RECORDED_STREAM


async def test_chain_astream_yields_the_recorded_tokens(replay_server: str) -> None:
    chain = translation_chain(replay_server)
    tokens = [token async for token in chain.astream({"text": "Thank you very much"})]
    assert tokens == RECORDED_STREAM


def test_stream_puts_usage_and_metadata_on_the_last_chunk(replay_server: str) -> None:
    model = ChatOllama(model="smollm2:135m", base_url=replay_server, num_predict=32, **SETTINGS)
    messages = [("system", "You are a terse assistant."), ("human", "Translate to French: Good morning")]
    chunks = list(model.stream(messages))
    last = chunks[-1]
    assert isinstance(last, AIMessageChunk) and last.chunk_position == "last"
    assert last.usage_metadata == {"input_tokens": 28, "output_tokens": 32, "total_tokens": 60}
    assert last.response_metadata["model_name"] == "smollm2:135m"
    assert last.response_metadata["done_reason"] == "length"
    assert last.response_metadata["finish_reason"] == "length"
    assert last.response_metadata["timings"]["total"] == pytest.approx(0.334543113)
    assert all(chunk.usage_metadata is None for chunk in chunks[:-1])
    assert all("done_reason" not in chunk.response_metadata for chunk in chunks[:-1])


def test_invoke_result_carries_usage_and_finish_reason(replay_server: str) -> None:
    model = ChatOllama(model="smollm2:135m", base_url=replay_server, num_predict=32, **SETTINGS)
    messages = [("system", "You are a terse assistant."), ("human", "Translate to French: Good morning")]
    message = model.invoke(messages)
    assert isinstance(message, AIMessage)
    assert message.content == FLOWS["lc_chain_invoke"]["result"]
    assert message.usage_metadata is not None and message.usage_metadata["total_tokens"] == 60
    assert message.response_metadata["done_reason"] == "length"
    assert message.response_metadata["eval_count"] == 32


def test_structured_output_returns_the_recorded_person(replay_server: str) -> None:
    model = ChatOllama(model="smollm2:135m", base_url=replay_server, num_predict=60, **SETTINGS)
    person = model.with_structured_output(Person).invoke("Grace Hopper was 85. Extract her name and age.")
    assert person == Person(**FLOWS["lc_structured_output"]["result"])


def test_structured_output_include_raw_keeps_the_message(replay_server: str) -> None:
    model = ChatOllama(model="smollm2:135m", base_url=replay_server, num_predict=60, **SETTINGS)
    out = model.with_structured_output(Person, include_raw=True).invoke(
        "Grace Hopper was 85. Extract her name and age."
    )
    assert out["parsing_error"] is None
    assert out["parsed"] == Person(name="Grace Hopper", age=85)
    assert json.loads(out["raw"].content) == {"name": "Grace Hopper", "age": 85}


def test_forced_tool_returns_the_recorded_call_with_the_server_id(replay_server: str) -> None:
    model = ChatOllama(model="smollm2-tools:135m", base_url=replay_server, num_predict=60, **SETTINGS)
    message = model.bind_tools([get_weather], tool_choice="get_weather").invoke(
        "What is the weather in Madrid?"
    )
    assert [{"name": c["name"], "args": c["args"]} for c in message.tool_calls] == FLOWS["lc_tool_call"][
        "result"
    ]
    assert message.tool_calls[0]["id"] == "call_1ggkqome"
    assert message.response_metadata["finish_reason"] == "tool_calls"


def test_forced_tool_streams_a_tool_call_chunk_with_index_and_id(replay_server: str) -> None:
    model = ChatOllama(model="smollm2-tools:135m", base_url=replay_server, num_predict=60, **SETTINGS)
    bound = model.bind_tools([get_weather], tool_choice="get_weather")
    chunks = list(bound.stream("What is the weather in Madrid?"))
    calls = [call for chunk in chunks for call in chunk.tool_call_chunks]
    assert calls == [
        {
            "name": "get_weather",
            "args": '{"city": "Madrid"}',
            "id": "call_1ggkqome",
            "index": 0,
            "type": "tool_call_chunk",
        }
    ]
    total = chunks[0]
    for chunk in chunks[1:]:
        total += chunk
    assert total.tool_calls == [
        {"name": "get_weather", "args": {"city": "Madrid"}, "id": "call_1ggkqome", "type": "tool_call"}
    ]


def test_embeddings_return_the_recorded_shapes(replay_server: str) -> None:
    embeddings = OllamaEmbeddings(model="all-minilm:latest", base_url=replay_server)
    vectors = embeddings.embed_documents(DOCUMENTS)
    query = embeddings.embed_query("Where is the Eiffel Tower?")
    assert [len(vectors), len(vectors[0]), len(query)] == FLOWS["lc_embeddings"]["result"]
    # The recorded vectors are normalised: the Eiffel Tower document is the closest to the query.
    scores = [sum(a * b for a, b in zip(vector, query, strict=True)) for vector in vectors]
    assert max(range(3), key=scores.__getitem__) == 1


def test_async_embeddings_match_sync_across_event_loops(replay_server: str) -> None:
    embeddings = OllamaEmbeddings(model="all-minilm:latest", base_url=replay_server)
    first = asyncio.run(embeddings.aembed_documents(DOCUMENTS))
    second = asyncio.run(embeddings.aembed_query("Where is the Eiffel Tower?"))  # a new loop, same provider
    assert first == embeddings.embed_documents(DOCUMENTS)
    assert len(second) == 384
