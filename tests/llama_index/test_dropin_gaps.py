"""Where code written for the official LlamaIndex integrations broke on switching (issue 14).

Wrong constructor arguments name the parameter; ``OllamaEmbedding`` has the official class's public
``get_general_text_embedding(s)`` / ``aget_general_text_embedding(s)``, which the instruction-prefixed
methods go through (so code and tests that patch them keep working). Requests are answered by the
in-memory :class:`~ollama_provider.testing.ScriptedProvider`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from unittest.mock import patch

import pytest
from llama_index.embeddings.ollama_provider import OllamaEmbedding
from llama_index.llms.ollama_provider import Ollama
from pydantic import ValidationError

from ollama_provider import AsyncOllamaProvider, OllamaConfig, OllamaProvider
from ollama_provider.testing import ScriptedProvider

MODEL = "all-minilm:latest"


def scripted_embedding(**settings: Any) -> tuple[OllamaEmbedding, ScriptedProvider]:
    fake = ScriptedProvider(models=[MODEL], dimensions=16)
    return OllamaEmbedding(
        model_name=MODEL, provider=fake, async_provider=fake.asynchronous(), **settings
    ), fake


# -- construction ---------------------------------------------------------------------------------


def _build(cls: type, **arguments: Any) -> Any:
    return cls(model="m", **arguments) if cls is Ollama else cls(model_name="m", **arguments)


@pytest.mark.parametrize("cls", [Ollama, OllamaEmbedding])
@pytest.mark.parametrize(
    ("parameter", "value", "expected"),
    [  # built per test (providers kept alive for the whole session would outlive their purpose)
        ("provider", lambda: OllamaConfig(host="gpu-box"), "OllamaConfig"),
        ("provider", AsyncOllamaProvider, "AsyncOllamaProvider"),
        ("async_provider", OllamaProvider, "OllamaProvider"),
        ("client_kwargs", lambda: "verify=False", "str"),
    ],
)
def test_wrong_core_arguments_name_the_parameter(
    cls: type, parameter: str, value: Callable[[], Any], expected: str
) -> None:
    with pytest.raises(TypeError, match=rf"{cls.__name__}\({parameter}=\.\.\.\) takes .*not {expected}$"):
        _build(cls, **{parameter: value()})


@pytest.mark.parametrize("cls", [Ollama, OllamaEmbedding])
def test_providers_of_the_interface_are_accepted(cls: type) -> None:
    fake = ScriptedProvider()
    built = _build(cls, provider=fake, async_provider=fake.asynchronous(), client_kwargs={"verify": False})
    assert built.provider is fake


@pytest.mark.parametrize(
    ("cls", "parameter", "value"),
    [
        (Ollama, "retries", -1),
        (Ollama, "base_url", OllamaConfig(host="gpu-box")),
        (Ollama, "request_timeout", "slow"),
        (OllamaEmbedding, "dimensions", 0),
        (OllamaEmbedding, "base_url", OllamaConfig(host="gpu-box")),
    ],
)
def test_wrong_values_name_the_field(cls: type, parameter: str, value: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        _build(cls, **{parameter: value})
    assert {error["loc"][0] for error in caught.value.errors()} == {parameter}


def test_a_config_given_as_the_model_names_the_model_field() -> None:
    with pytest.raises(ValidationError) as caught:
        Ollama(OllamaConfig(host="gpu-box"))  # type: ignore[arg-type]
    assert caught.value.errors()[0]["loc"] == ("model",)


# -- get_general_text_embedding(s), as in llama-index-embeddings-ollama ----------------------------


def test_general_embeddings_send_the_texts_as_given() -> None:
    embed, fake = scripted_embedding(query_instruction="query:", text_instruction="passage:")
    one = embed.get_general_text_embedding("  raw text ")
    many = embed.get_general_text_embeddings(["a", "b"])
    assert [request["input"] for request in fake.requests] == [["  raw text "], ["a", "b"]]
    assert len(one) == 16 and [len(v) for v in many] == [16, 16]
    assert many[0] == embed.get_general_text_embedding("a")  # the same vector either way


async def test_async_general_embeddings_send_the_texts_as_given() -> None:
    embed, fake = scripted_embedding(text_instruction="passage:")
    one = await embed.aget_general_text_embedding("x")
    many = await embed.aget_general_text_embeddings(["x", "y"])
    assert [request["input"] for request in fake.requests] == [["x"], ["x", "y"]]
    assert many[0] == one


def test_query_and_text_methods_go_through_the_general_ones() -> None:
    # What the official package's own tests of query/text instructions patch.
    embed, _ = scripted_embedding(query_instruction="query:", text_instruction="passage:")
    with patch.object(OllamaEmbedding, "get_general_text_embedding", return_value=[0.5]) as one:
        assert embed.get_query_embedding("  What is Ollama? ") == [0.5]
        assert embed.get_text_embedding("Ollama runs models.") == [0.5]
    assert [call.args[0] for call in one.call_args_list] == [
        "query: What is Ollama?",
        "passage: Ollama runs models.",
    ]
    with patch.object(OllamaEmbedding, "get_general_text_embeddings", return_value=[[1.0], [2.0]]) as many:
        assert embed.get_text_embedding_batch(["a", "b"]) == [[1.0], [2.0]]
    many.assert_called_once_with(["passage: a", "passage: b"])


async def test_async_query_and_text_methods_go_through_the_general_ones() -> None:
    embed, _ = scripted_embedding(query_instruction="query:", text_instruction="passage:")
    with patch.object(OllamaEmbedding, "aget_general_text_embedding", return_value=[0.5]) as one:
        assert await embed.aget_query_embedding("q") == [0.5]
        assert await embed.aget_text_embedding("t") == [0.5]
    assert [call.args[0] for call in one.call_args_list] == ["query: q", "passage: t"]
    with patch.object(OllamaEmbedding, "aget_general_text_embeddings", return_value=[[1.0]]) as many:
        assert await embed.aget_text_embedding_batch(["a"]) == [[1.0]]
    many.assert_called_once_with(["passage: a"])


def test_instructions_reach_the_server_through_the_general_methods() -> None:
    embed, fake = scripted_embedding(query_instruction="query:", text_instruction="passage:")
    embed.get_query_embedding("q")
    embed.get_text_embedding_batch(["a", "b"])
    assert [request["input"] for request in fake.requests] == [["query: q"], ["passage: a", "passage: b"]]


# -- the first chunk's own timeout (a busy server's queue, a model loading) -------------------------


@pytest.mark.parametrize("cls", [Ollama, OllamaEmbedding])
def test_first_chunk_timeout_reaches_the_core(cls: type) -> None:
    assert _build(cls, first_chunk_timeout=600).provider.config.first_chunk_timeout == 600
    assert _build(cls, first_chunk_timeout=None).provider.config.first_chunk_timeout is None
    assert _build(cls).provider.config.first_chunk_timeout == OllamaConfig().first_chunk_timeout
    with pytest.raises(ValidationError, match="first_chunk_timeout"):
        _build(cls, first_chunk_timeout=0)
