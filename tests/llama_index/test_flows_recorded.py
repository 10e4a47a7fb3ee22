"""The official LlamaIndex flows (cassettes/recorded/frameworks/li_*.yaml), replayed through our adapter.

Each recording is what a real Ollama answered to ``llama-index-llms-ollama`` /
``llama-index-embeddings-ollama``; the replay matches on path + model + messages / input, so these
tests also prove that our adapter builds the same messages for the same inputs. Expected results
are read from each test's cassette (``recording``); a record run re-records them through our adapter.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from llama_index.core import Document, PromptTemplate, Settings, VectorStoreIndex
from llama_index.core.base.llms.types import ChatMessage
from llama_index.embeddings.ollama_provider import OllamaEmbedding
from llama_index.llms.ollama_provider import Ollama, StructuredOutputError
from pydantic import BaseModel, ConfigDict, field_validator

from ..recorded.expected import chat_text
from ..recordings import Cassette, Exchange, Where, last_user_text

CHAT_MODEL = "smollm2:135m"
EMBED_MODEL = "all-minilm:latest"
PAINTER, COMPOSER = "Name a famous painter.", "Name a famous composer."
MOON = "Write one sentence about the moon."
KATHERINE = "Extract name and age: Katherine Johnson was 101."
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


def asked(question: str, *, stream: bool) -> Where:
    """Chat requests whose last message is ``question``, streamed or not."""
    return lambda body: last_user_text(question)(body) and body.get("stream", True) is stream


def answer(recording: Cassette, where: Where) -> Exchange:
    """The recorded chat exchange ``where`` picks (read after the request: a record run records it)."""
    return recording.exchange("/api/chat", where=where)


def recorded_text(exchange: Exchange) -> str:
    return chat_text(exchange.lines)


PAINTED, COMPOSED, MOONED = (
    asked(PAINTER, stream=False),
    asked(COMPOSER, stream=True),
    asked(MOON, stream=False),
)


@pytest.mark.vcr("frameworks/li_chat.yaml")
def test_chat_returns_the_recorded_answer(recording: Cassette) -> None:
    recording.require("/api/chat", where=PAINTED)
    response = recorded_llm(32).chat([ChatMessage(role="user", content=PAINTER)])

    recorded = answer(recording, PAINTED).json
    assert response.message.content == recorded["message"]["content"]
    assert response.raw["done_reason"] == recorded["done_reason"]
    prompt, completion = recorded["prompt_eval_count"], recorded["eval_count"]
    assert response.raw["usage"] == {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


@pytest.mark.vcr("frameworks/li_chat.yaml")
def test_stream_chat_yields_deltas_that_add_up_to_the_recorded_answer(recording: Cassette) -> None:
    recording.require("/api/chat", where=COMPOSED)
    chunks = list(recorded_llm(32).stream_chat([ChatMessage(role="user", content=COMPOSER)]))

    exchange = answer(recording, COMPOSED)
    assert "".join(c.delta or "" for c in chunks) == recorded_text(exchange)
    # Each response carries the text so far.
    so_far = [chat_text(exchange.lines[: n + 1]) for n in range(len(exchange.lines))]
    assert [c.message.content for c in chunks] == so_far[: len(chunks)]
    assert chunks[-1].message.content == recorded_text(exchange)
    assert chunks[-1].raw["done"] is True and "usage" in chunks[-1].raw


@pytest.mark.vcr("frameworks/li_chat.yaml")
async def test_astream_chat_matches_the_sync_stream(recording: Cassette) -> None:
    recording.require("/api/chat", where=COMPOSED)
    stream = await recorded_llm(32).astream_chat([ChatMessage(role="user", content=COMPOSER)])
    deltas = [chunk.delta async for chunk in stream]

    assert "".join(d or "" for d in deltas) == recorded_text(answer(recording, COMPOSED))


@pytest.mark.vcr("frameworks/li_chat.yaml")
async def test_achat_returns_the_recorded_answer(recording: Cassette) -> None:
    recording.require("/api/chat", where=PAINTED)
    response = await recorded_llm(32).achat([ChatMessage(role="user", content=PAINTER)])

    assert response.message.content == recorded_text(answer(recording, PAINTED))


@pytest.mark.vcr("frameworks/li_complete.yaml")
def test_complete_sends_the_prompt_as_a_user_message(recording: Cassette) -> None:
    recording.require("/api/chat", where=MOONED)
    response = recorded_llm(32).complete(MOON)

    exchange = answer(recording, MOONED)
    assert exchange.request["messages"] == [{"role": "user", "content": MOON}]
    assert response.text == recorded_text(exchange)


@pytest.mark.vcr("frameworks/li_complete.yaml")
async def test_acomplete_returns_the_recorded_answer(recording: Cassette) -> None:
    recording.require("/api/chat", where=MOONED)
    text = (await recorded_llm(32).acomplete(MOON)).text

    assert text == recorded_text(answer(recording, MOONED))


def recorded_person(recording: Cassette) -> dict[str, Any]:
    person: dict[str, Any] = json.loads(recorded_text(answer(recording, asked(KATHERINE, stream=False))))
    return person


def predict(model: type[BaseModel]) -> BaseModel:
    return recorded_llm(60).structured_predict(
        model, PromptTemplate("Extract name and age: {text}"), text="Katherine Johnson was 101."
    )


@pytest.mark.vcr("frameworks/li_structured_predict.yaml")
def test_structured_predict_sends_the_json_schema_and_parses_the_answer(recording: Cassette) -> None:
    person = predict(Person)

    sent = answer(recording, asked(KATHERINE, stream=False)).request["format"]
    assert sent["properties"].keys() == {"name", "age"} and sent["required"] == ["name", "age"]
    assert person == Person(**recorded_person(recording))


# Metadata (the context window, from /api/show) is read asynchronously first.
@pytest.mark.vcr("frameworks/li_structured_predict.yaml", "api/show.yaml")
async def test_astructured_predict_gives_the_same_object(recording: Cassette) -> None:
    person = await recorded_llm(60).astructured_predict(
        Person, PromptTemplate("Extract name and age: {text}"), text="Katherine Johnson was 101."
    )

    assert person == Person(**recorded_person(recording))


def person_older_than(limit: int) -> type[BaseModel]:
    """A model with Person's JSON schema (validators are not part of a schema; no docstring, which would
    add a "description"), whose validator rejects any age up to ``limit``."""

    class CheckedPerson(BaseModel):
        name: str
        age: int

        @field_validator("age")
        @classmethod
        def _older(cls, age: int) -> int:
            if age <= limit:
                raise ValueError(f"must be more than {limit}")
            return age

        model_config = {"title": "Person"}

    return CheckedPerson


# The same request twice: the model's answer first, then a model that rejects it.
@pytest.mark.vcr("frameworks/li_structured_predict.yaml", allow_playback_repeats=True)
def test_structured_predict_names_the_field_when_the_answer_does_not_validate(recording: Cassette) -> None:
    first = predict(Person)
    assert isinstance(first, Person)
    with pytest.raises(
        StructuredOutputError, match=r"not a valid CheckedPerson: age: .*must be more than"
    ) as caught:
        predict(person_older_than(first.age))

    recorded = recorded_person(recording)
    assert json.loads(caught.value.text) == recorded == first.model_dump()  # the answer, for the caller
    assert isinstance(caught.value, ValueError)


def build_rag_index() -> VectorStoreIndex:
    Settings.llm = recorded_llm(48)
    Settings.embed_model = OllamaEmbedding(model_name=EMBED_MODEL)
    return VectorStoreIndex.from_documents([Document(text=text) for text in RAG_DOCUMENTS])


def rag_answer(recording: Cassette) -> str:
    return recorded_text(recording.exchange("/api/chat"))


@pytest.mark.vcr("frameworks/li_rag.yaml")
def test_rag_query_over_a_vector_store_index_answers_from_the_right_document(recording: Cassette) -> None:
    index = build_rag_index()
    response = index.as_query_engine(similarity_top_k=1).query("When was the Eiffel Tower finished?")

    assert str(response) == rag_answer(recording)
    assert RAG_DOCUMENTS[1] in recording.exchange("/api/chat").request["messages"][-1]["content"]
    assert [n.node.get_content() for n in response.source_nodes] == [RAG_DOCUMENTS[1]]
    # metadata came from the recorded /api/show: the model's real context
    shown = recording.exchange("/api/show").json["model_info"]
    assert Settings.llm.metadata.context_window == shown["llama.context_length"]


@pytest.mark.vcr("frameworks/li_rag.yaml")
async def test_rag_aquery_gives_the_same_answer(recording: Cassette) -> None:
    index = build_rag_index()
    response = await index.as_query_engine(similarity_top_k=1).aquery("When was the Eiffel Tower finished?")

    assert str(response) == rag_answer(recording)


@pytest.mark.vcr("frameworks/li_chat.yaml")
def test_stream_complete_yields_the_recorded_stream(recording: Cassette) -> None:
    recording.require("/api/chat", where=COMPOSED)
    chunks = list(recorded_llm(32).stream_complete(COMPOSER))

    assert chunks[-1].text == recorded_text(answer(recording, COMPOSED))
    assert "".join(c.delta or "" for c in chunks) == chunks[-1].text


@pytest.mark.vcr("frameworks/li_chat.yaml")
async def test_astream_complete_yields_the_recorded_stream(recording: Cassette) -> None:
    recording.require("/api/chat", where=COMPOSED)
    stream = await recorded_llm(32).astream_complete(COMPOSER)
    texts = [chunk.text async for chunk in stream]

    assert texts[-1] == recorded_text(answer(recording, COMPOSED))


def _without_titles(schema: dict[str, Any]) -> None:
    schema.pop("title", None)
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)


class PlainPerson(BaseModel):
    # The recorded api/chat_schema_stream.yaml request's schema has no titles.
    model_config = ConfigDict(json_schema_extra=_without_titles)

    name: str
    age: int


TURING = "Alan Turing was 41. Return his name and age as JSON."


@pytest.mark.vcr("api/chat_schema_stream.yaml")
def test_stream_structured_predict_yields_partials_then_the_validated_object(recording: Cassette) -> None:
    objects = list(
        recorded_llm(60).stream_structured_predict(PlainPerson, PromptTemplate("{text}"), text=TURING)
    )

    recorded = json.loads(recorded_text(recording.exchange("/api/chat")))
    assert objects[-1] == PlainPerson(**recorded)
    assert len(objects) > 2  # partial objects came while the answer streamed
    first_key = next(iter(recorded))  # the key the answer started with is filled in first
    assert any(
        getattr(o, first_key, None) == recorded[first_key] and len(o.model_fields_set) == 1 for o in objects
    )


@pytest.mark.vcr("api/chat_schema_stream.yaml", "api/show.yaml")  # metadata is read asynchronously first
async def test_astream_structured_predict_ends_with_the_validated_object(recording: Cassette) -> None:
    stream = await recorded_llm(60).astream_structured_predict(
        PlainPerson, PromptTemplate("{text}"), text=TURING
    )
    objects = [o async for o in stream]

    assert objects[-1] == PlainPerson(**json.loads(recorded_text(recording.exchange("/api/chat"))))


@pytest.mark.vcr("api/chat_logprobs.yaml")
def test_logprobs_are_passed_on_per_token(recording: Cassette) -> None:
    response = recorded_llm(4).chat([ChatMessage(role="user", content="Hi")], logprobs=True, top_logprobs=2)

    recorded = recording.exchange("/api/chat").json
    assert response.logprobs is not None
    assert len(response.logprobs) == response.raw["eval_count"] == recorded["eval_count"]
    assert [[(alt.token, alt.logprob) for alt in alternatives] for alternatives in response.logprobs] == [
        [(alt["token"], alt["logprob"]) for alt in entry["top_logprobs"]] for entry in recorded["logprobs"]
    ]
    assert all(len(alternatives) == 2 for alternatives in response.logprobs)
