"""The official LlamaIndex flows (cassettes/recorded/frameworks/li_*.yaml), replayed through our adapter.

Each recording is what a real Ollama answered to ``llama-index-llms-ollama`` /
``llama-index-embeddings-ollama``; the replay matches on path + model + messages / input, so these
tests also prove that our adapter builds the same messages for the same inputs. Expected results
are the ones in ``frameworks/flows.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from llama_index.core import Document, PromptTemplate, Settings, VectorStoreIndex
from llama_index.core.base.llms.types import ChatMessage
from llama_index.embeddings.ollama_provider import OllamaEmbedding
from llama_index.llms.ollama_provider import Ollama, StructuredOutputError
from pydantic import BaseModel, ConfigDict, field_validator

FLOWS: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parents[2] / "cassettes/recorded/frameworks/flows.json").read_text("utf-8")
)
CHAT_MODEL = "smollm2:135m"
EMBED_MODEL = "all-minilm:latest"
RAG_DOCUMENTS = [
    "Ollama runs large language models on your own machine.",
    "The Eiffel Tower is in Paris and was finished in 1889.",
    "Photosynthesis turns light, water and carbon dioxide into sugar and oxygen.",
]


def recorded_llm(num_predict: int) -> Ollama:
    return Ollama(
        model=CHAT_MODEL, temperature=0.0, additional_kwargs={"seed": 42, "num_predict": num_predict}
    )


class Person(BaseModel):
    name: str
    age: int


@pytest.mark.vcr("frameworks/li_chat.yaml")
def test_chat_returns_the_recorded_answer() -> None:
    response = recorded_llm(32).chat([ChatMessage(role="user", content="Name a famous painter.")])

    assert response.message.content == FLOWS["li_chat"]["result"][0]
    assert response.raw["done_reason"] == "stop"
    assert response.raw["usage"] == {"prompt_tokens": 14, "completion_tokens": 12, "total_tokens": 26}


@pytest.mark.vcr("frameworks/li_chat.yaml")
def test_stream_chat_yields_deltas_that_add_up_to_the_recorded_answer() -> None:
    chunks = list(recorded_llm(32).stream_chat([ChatMessage(role="user", content="Name a famous composer.")]))

    assert "".join(c.delta or "" for c in chunks) == FLOWS["li_chat"]["result"][1]
    assert chunks[-1].message.content == FLOWS["li_chat"]["result"][1]
    assert chunks[1].message.content == "1."  # each response carries the text so far
    assert chunks[-1].raw["done"] is True and "usage" in chunks[-1].raw


@pytest.mark.vcr("frameworks/li_chat.yaml")
async def test_astream_chat_matches_the_sync_stream() -> None:
    stream = await recorded_llm(32).astream_chat(
        [ChatMessage(role="user", content="Name a famous composer.")]
    )
    deltas = [chunk.delta async for chunk in stream]

    assert "".join(d or "" for d in deltas) == FLOWS["li_chat"]["result"][1]


@pytest.mark.vcr("frameworks/li_chat.yaml")
async def test_achat_returns_the_recorded_answer() -> None:
    response = await recorded_llm(32).achat([ChatMessage(role="user", content="Name a famous painter.")])

    assert response.message.content == FLOWS["li_chat"]["result"][0]


@pytest.mark.vcr("frameworks/li_complete.yaml")
def test_complete_sends_the_prompt_as_a_user_message() -> None:
    response = recorded_llm(32).complete("Write one sentence about the moon.")

    assert response.text == FLOWS["li_complete"]["result"]


@pytest.mark.vcr("frameworks/li_complete.yaml")
async def test_acomplete_returns_the_recorded_answer() -> None:
    llm = recorded_llm(32)

    assert (await llm.acomplete("Write one sentence about the moon.")).text == FLOWS["li_complete"]["result"]


@pytest.mark.vcr("frameworks/li_structured_predict.yaml")
def test_structured_predict_sends_the_json_schema_and_parses_the_answer() -> None:
    person = recorded_llm(60).structured_predict(
        Person, PromptTemplate("Extract name and age: {text}"), text="Katherine Johnson was 101."
    )

    assert person == Person(**FLOWS["li_structured_predict"]["result"])


@pytest.mark.vcr("frameworks/li_structured_predict.yaml")
async def test_astructured_predict_gives_the_same_object() -> None:
    person = await recorded_llm(60).astructured_predict(
        Person, PromptTemplate("Extract name and age: {text}"), text="Katherine Johnson was 101."
    )

    assert person == Person(name="Katherine Johnson", age=20)


# Same JSON schema as Person (validators are not part of a schema; no docstring, which would add a
# "description"), stricter on the age.
class CheckedPerson(BaseModel):
    name: str
    age: int

    @field_validator("age")
    @classmethod
    def _adult(cls, age: int) -> int:
        if age < 21:
            raise ValueError("must be at least 21")
        return age

    model_config = {"title": "Person"}


@pytest.mark.vcr("frameworks/li_structured_predict.yaml")
def test_structured_predict_names_the_field_when_the_answer_does_not_validate() -> None:
    # The tiny model really answered age 20 for "Katherine Johnson was 101."
    with pytest.raises(
        StructuredOutputError, match=r"not a valid CheckedPerson: age: .*at least 21"
    ) as caught:
        recorded_llm(60).structured_predict(
            CheckedPerson, PromptTemplate("Extract name and age: {text}"), text="Katherine Johnson was 101."
        )

    assert '"age": 20' in caught.value.text
    assert isinstance(caught.value, ValueError)


def build_rag_index() -> VectorStoreIndex:
    Settings.llm = recorded_llm(48)
    Settings.embed_model = OllamaEmbedding(model_name=EMBED_MODEL)
    return VectorStoreIndex.from_documents([Document(text=text) for text in RAG_DOCUMENTS])


@pytest.mark.vcr("frameworks/li_rag.yaml")
def test_rag_query_over_a_vector_store_index_answers_from_the_right_document() -> None:
    index = build_rag_index()
    response = index.as_query_engine(similarity_top_k=1).query("When was the Eiffel Tower finished?")

    assert str(response) == FLOWS["li_rag"]["result"]
    assert [n.node.get_content() for n in response.source_nodes] == [RAG_DOCUMENTS[1]]
    # metadata came from the recorded /api/show: the real 8192-token context of smollm2
    assert Settings.llm.metadata.context_window == 8192


@pytest.mark.vcr("frameworks/li_rag.yaml")
async def test_rag_aquery_gives_the_same_answer() -> None:
    index = build_rag_index()
    response = await index.as_query_engine(similarity_top_k=1).aquery("When was the Eiffel Tower finished?")

    assert str(response) == FLOWS["li_rag"]["result"]


@pytest.mark.vcr("frameworks/li_chat.yaml")
def test_stream_complete_yields_the_recorded_stream() -> None:
    chunks = list(recorded_llm(32).stream_complete("Name a famous composer."))

    assert chunks[-1].text == FLOWS["li_chat"]["result"][1]
    assert "".join(c.delta or "" for c in chunks) == chunks[-1].text


@pytest.mark.vcr("frameworks/li_chat.yaml")
async def test_astream_complete_yields_the_recorded_stream() -> None:
    stream = await recorded_llm(32).astream_complete("Name a famous composer.")
    texts = [chunk.text async for chunk in stream]

    assert texts[-1] == FLOWS["li_chat"]["result"][1]


def _without_titles(schema: dict[str, Any]) -> None:
    schema.pop("title", None)
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)


class PlainPerson(BaseModel):
    # The recorded api/chat_schema_stream.yaml request's schema has no titles.
    model_config = ConfigDict(json_schema_extra=_without_titles)

    name: str
    age: int


@pytest.mark.vcr("api/chat_schema_stream.yaml")
def test_stream_structured_predict_yields_partials_then_the_validated_object() -> None:
    objects = list(
        recorded_llm(60).stream_structured_predict(
            PlainPerson, PromptTemplate("{text}"), text="Alan Turing was 41. Return his name and age as JSON."
        )
    )

    assert objects[-1] == PlainPerson(name="Alan Turing", age=41)
    assert len(objects) > 2  # partial objects came while the answer streamed
    assert any(getattr(o, "name", None) == "Alan Turing" and getattr(o, "age", None) is None for o in objects)


@pytest.mark.vcr("api/chat_schema_stream.yaml", "api/show.yaml")  # metadata is read asynchronously first
async def test_astream_structured_predict_ends_with_the_validated_object() -> None:
    stream = await recorded_llm(60).astream_structured_predict(
        PlainPerson, PromptTemplate("{text}"), text="Alan Turing was 41. Return his name and age as JSON."
    )
    objects = [o async for o in stream]

    assert objects[-1] == PlainPerson(name="Alan Turing", age=41)


@pytest.mark.vcr("api/chat_logprobs.yaml")
def test_logprobs_are_passed_on_per_token() -> None:
    response = recorded_llm(4).chat([ChatMessage(role="user", content="Hi")], logprobs=True, top_logprobs=2)

    assert response.logprobs is not None
    assert len(response.logprobs) == response.raw["eval_count"]
    assert all(len(alternatives) == 2 for alternatives in response.logprobs)
