"""The LlamaIndex flows through our adapter against a live Ollama (``OLLAMA_HOST``; skipped without one).

The recorded flows (test_flows_recorded.py) replay what a server once said; here the server answers now,
streams really stream, and each test compares what the adapter made of an answer with that answer as
the test's code received it (``live_answers``), whatever the model said this time. Few tokens,
temperature 0, a seed: the machine has 2 cores.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from llama_index.core import Document, PromptTemplate, VectorStoreIndex
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.tools import FunctionTool
from llama_index.embeddings.ollama_provider import OllamaEmbedding
from llama_index.llms.ollama_provider import Ollama, StructuredOutputError
from pydantic import BaseModel

from ..live_answers import LiveAnswers
from ..recorded.api_scenarios import ONE_CALL_FORMAT
from ..recorded.expected import chat_text

pytestmark = pytest.mark.live

CHAT_MODEL, TOOLS_MODEL, EMBED_MODEL = "smollm2:135m", "smollm2-tools:135m", "all-minilm:latest"
QUESTION = [ChatMessage(role="user", content="Name a famous painter.")]


def llm(num_predict: int = 16, model: str = CHAT_MODEL) -> Ollama:
    return Ollama(model=model, temperature=0.0, additional_kwargs={"seed": 42, "num_predict": num_predict})


def chat_answer(answers: LiveAnswers, nth: int = 0) -> list[dict[str, Any]]:
    """The lines of the ``nth`` chat answer (one line for a plain answer)."""
    return answers.cassette().exchange("/api/chat", nth=nth).lines


def test_chat_gives_the_servers_answer_and_counts(live_answers: LiveAnswers) -> None:
    response = llm().chat(QUESTION)

    (final,) = chat_answer(live_answers)
    assert response.message.content == final["message"]["content"]
    assert response.raw["done_reason"] == final["done_reason"]
    assert response.raw["usage"]["completion_tokens"] == final["eval_count"]


def test_stream_chat_yields_each_chunk_as_the_server_sent_it(live_answers: LiveAnswers) -> None:
    chunks = list(llm().stream_chat(QUESTION))

    lines = chat_answer(live_answers)
    assert [c.delta or "" for c in chunks] == [line["message"]["content"] for line in lines][: len(chunks)]
    assert chunks[-1].message.content == chat_text(lines)
    assert chunks[-1].raw["done"] is True


async def test_astream_chat_and_acomplete(live_answers: LiveAnswers) -> None:
    stream = await llm().astream_chat(QUESTION)
    deltas = [chunk.delta async for chunk in stream]
    completion = await llm().acomplete("Write one sentence about the moon.")

    assert "".join(d or "" for d in deltas) == chat_text(chat_answer(live_answers, 0))
    assert completion.text == chat_text(chat_answer(live_answers, 1))


class Person(BaseModel):
    name: str
    age: int


def test_structured_predict_parses_the_answer_or_says_why_not(live_answers: LiveAnswers) -> None:
    prompt = PromptTemplate("Extract name and age: {text}")
    try:
        person: Any = llm(60).structured_predict(Person, prompt, text="Katherine Johnson was 101.")
    except StructuredOutputError as error:  # the model's JSON does not fit: the error carries it
        person = error

    exchange = live_answers.cassette().exchange("/api/chat")
    assert exchange.request["format"]["required"] == ["name", "age"]
    text = exchange.json["message"]["content"]
    try:
        expected: Any = Person.model_validate_json(text)
    except ValueError:
        assert isinstance(person, StructuredOutputError) and person.text == text
    else:
        assert person == expected


def test_chat_with_tools_returns_the_servers_call(live_answers: LiveAnswers) -> None:
    def get_weather(city: str) -> str:
        """Get the current weather for a city"""
        return f"sunny in {city}"

    model = llm(60, TOOLS_MODEL)
    response = model.chat_with_tools(
        [FunctionTool.from_defaults(fn=get_weather)], "What is the weather in Paris?", format=ONE_CALL_FORMAT
    )

    (final,) = chat_answer(live_answers)
    calls = final["message"].get("tool_calls") or []
    selections = model.get_tool_calls_from_response(response, error_on_no_tool_call=False)
    assert [(s.tool_id, s.tool_name, s.tool_kwargs) for s in selections] == [
        (c["id"], c["function"]["name"], c["function"]["arguments"]) for c in calls
    ]


def test_rag_query_embeds_retrieves_and_answers(live_answers: LiveAnswers) -> None:
    documents = [
        "Ollama runs large language models on your own machine.",
        "The Eiffel Tower is in Paris and was finished in 1889.",
        "Photosynthesis turns light, water and carbon dioxide into sugar and oxygen.",
    ]
    embed_model = OllamaEmbedding(model_name=EMBED_MODEL)
    index = VectorStoreIndex.from_documents([Document(text=t) for t in documents], embed_model=embed_model)
    response = index.as_query_engine(llm=llm(48), similarity_top_k=1).query(
        "When was the Eiffel Tower finished?"
    )

    answers = live_answers.cassette()
    embedded = [exchange.json["embeddings"] for exchange in answers.all("/api/embed")]
    (question_vector,) = embedded[-1]  # the documents first (one batch), then the question
    document_vectors = [vector for batch in embedded[:-1] for vector in batch]
    assert len(document_vectors) == len(documents)
    # The node retrieved is the document whose server vector is closest to the question's.
    scores = [sum(a * b for a, b in zip(question_vector, v, strict=True)) for v in document_vectors]
    (source,) = response.source_nodes
    assert source.node.get_content() == documents[scores.index(max(scores))]
    assert source.score == pytest.approx(max(scores), abs=1e-6)
    # The answer is the chat answer to a prompt that holds the retrieved text.
    chat = answers.exchange("/api/chat")
    assert source.node.get_content() in json.dumps(chat.request["messages"])
    assert str(response) == chat_text(chat.lines)
