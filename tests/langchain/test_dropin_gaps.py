"""Where code written for ``langchain-ollama`` broke on switching (issue 14), each with its test.

Construction errors, ``validate_model_on_init`` failing with a ``ValueError`` as the official package
does, the OpenAI-style ``response_format`` argument, roles outside the usual four, ``top_logprobs``
checks, ``dimensions``, ``__version__``, tracing parameters and empty reasoning sent back.
"""

from __future__ import annotations

import socket
import warnings
from typing import Any

import langchain_ollama_provider
import pytest
from langchain_core.messages import AIMessage, ChatMessage, HumanMessage
from langchain_ollama_provider import ChatOllama, OllamaEmbeddings, OllamaLLM
from pydantic import BaseModel, ValidationError

from ollama_provider import InvalidRequestError, ModelNotFoundError, OllamaConfig, OllamaConnectionError

from .scripted import scripted_chat

CLASSES = (ChatOllama, OllamaLLM, OllamaEmbeddings)


# -- construction: wrong types get a clear error naming the parameter ------------------------------


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("positional", ["llama3.2", OllamaConfig(host="gpu-box")])
def test_a_positional_argument_says_to_use_keywords(cls: type, positional: Any) -> None:
    with pytest.raises(TypeError, match=rf"{cls.__name__} takes keyword arguments only.*model="):
        cls(positional)


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("model", 3),
        ("base_url", OllamaConfig(host="gpu-box")),
        ("headers", "Bearer x"),
        ("client_kwargs", "verify=False"),
        ("timeout", -1),
        ("timeout", "slow"),
        ("max_retries", -1),
    ],
)
def test_wrong_values_name_the_parameter(cls: type, field: str, value: Any) -> None:
    settings = {"model": "llama3.2", field: value}
    with pytest.raises(ValidationError) as caught:
        cls(**settings)
    assert {error["loc"][0] for error in caught.value.errors()} == {field}


@pytest.mark.parametrize("cls", [ChatOllama, OllamaLLM])
def test_an_unknown_reasoning_level_fails_at_construction(cls: type) -> None:
    with pytest.raises(ValidationError, match="reasoning") as caught:
        cls(model="m", reasoning="loud")
    assert "think must be True, False or one of" in str(caught.value)
    assert cls(model="m", reasoning="HIGH").reasoning == "high"


def test_embeddings_dimensions_must_be_positive() -> None:
    for bad in (0, -3):
        with pytest.raises(ValueError, match="`dimensions` must be a positive integer") as caught:
            OllamaEmbeddings(model="all-minilm", dimensions=bad)
        assert isinstance(caught.value, ValidationError)
        assert [error["loc"] for error in caught.value.errors()] == [("dimensions",)]
    assert OllamaEmbeddings(model="all-minilm", dimensions=1).dimensions == 1


# -- validate_model_on_init: a ValueError, as in langchain-ollama, with our typed error as the cause ---


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("cls", CLASSES)
def test_a_missing_model_fails_construction_with_a_value_error(cls: type, replay_server: str) -> None:
    with pytest.raises(ValueError, match="not found") as caught:
        cls(model="no-such-model:1b", base_url=replay_server, validate_model_on_init=True, max_retries=0)
    assert isinstance(caught.value, ValidationError)  # what code written for the official package sees
    assert isinstance(caught.value.__cause__, ModelNotFoundError)
    assert caught.value.__cause__.model == "no-such-model:1b"
    assert "ollama pull no-such-model:1b" in str(caught.value)


@pytest.mark.parametrize("cls", CLASSES)
def test_an_unreachable_server_fails_construction_with_a_value_error(cls: type) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    with pytest.raises(ValueError) as caught:
        cls(model="smollm2:135m", base_url=url, validate_model_on_init=True, max_retries=0)
    assert isinstance(caught.value.__cause__, OllamaConnectionError)
    assert "Failed to connect to Ollama" in str(caught.value)
    assert url.removeprefix("http://") in str(caught.value)


@pytest.mark.parametrize("cls", CLASSES)
def test_an_installed_model_passes_validation(cls: type, replay_server: str) -> None:
    model = "all-minilm" if cls is OllamaEmbeddings else "smollm2:135m"
    assert cls(model=model, base_url=replay_server, validate_model_on_init=True).model == model


# -- response_format (what langchain.agents' ProviderStrategy binds) --------------------------------


class Weather(BaseModel):
    city: str
    sky: str


SCHEMA = Weather.model_json_schema()


@pytest.mark.parametrize(
    ("response_format", "sent"),
    [
        (
            {"type": "json_schema", "json_schema": {"name": "Weather", "schema": SCHEMA, "strict": True}},
            SCHEMA,
        ),
        ({"type": "json_object"}, "json"),
    ],
)
def test_response_format_becomes_the_format(response_format: dict[str, Any], sent: Any) -> None:
    llm, fake = scripted_chat(['{"city": "Paris", "sky": "sunny"}'])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        answer = llm.invoke("Weather in Paris?", response_format=response_format)
    assert fake.requests[0]["format"] == sent
    assert Weather.model_validate_json(str(answer.content)) == Weather(city="Paris", sky="sunny")


@pytest.mark.parametrize(
    ("response_format", "warning"),
    [
        ("json", "expected a dict"),
        ({"type": "text"}, "expected 'json_object' or 'json_schema'"),
        ({"type": "json_schema"}, "without a 'json_schema'"),
    ],
)
def test_a_response_format_that_cannot_be_honoured_is_ignored_with_a_warning(
    response_format: Any, warning: str
) -> None:
    llm, fake = scripted_chat(["plain"])
    with pytest.warns(UserWarning, match=warning):
        llm.invoke("Hi", response_format=response_format)
    assert "format" not in fake.requests[0]


def test_format_wins_over_response_format_with_a_warning() -> None:
    llm, fake = scripted_chat(["{}", "{}"], format="json")
    with pytest.warns(UserWarning, match="'response_format' is ignored"):
        llm.invoke("Hi", response_format={"type": "json_schema", "json_schema": {"schema": SCHEMA}})
    assert fake.requests[0]["format"] == "json"
    with pytest.warns(UserWarning, match="'response_format' is ignored"):
        llm.bind(format=SCHEMA, response_format={"type": "json_object"}).invoke("Hi")
    assert fake.requests[1]["format"] == SCHEMA


# -- messages ---------------------------------------------------------------------------------------


def test_a_role_outside_the_usual_four_is_passed_through() -> None:
    # Some chat templates switch thinking on with a "control" message.
    llm, fake = scripted_chat(["4"])
    llm.invoke([ChatMessage(role="control", content="thinking"), HumanMessage("2 + 2?")])
    assert fake.requests[0]["messages"] == [
        {"role": "control", "content": "thinking"},
        {"role": "user", "content": "2 + 2?"},
    ]


def test_empty_reasoning_content_goes_back_as_thinking() -> None:
    llm, fake = scripted_chat(["8"])
    history = [HumanMessage("2 + 2?"), AIMessage("4", additional_kwargs={"reasoning_content": ""})]
    llm.invoke([*history, HumanMessage("3 + 5?")])
    assert fake.requests[0]["messages"][1] == {"role": "assistant", "content": "4", "thinking": ""}


# -- top_logprobs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("bad", "says"), [(0, "must be a positive"), (-1, "must be a positive"), (21, "20")])
def test_top_logprobs_out_of_range_fails_at_construction(bad: int, says: str) -> None:
    with pytest.raises(ValidationError, match=says) as caught:
        ChatOllama(model="m", top_logprobs=bad)
    assert [error["loc"] for error in caught.value.errors()] == [("top_logprobs",)]


def test_top_logprobs_with_logprobs_false_fails() -> None:
    # langchain-ollama's words, so code matching them keeps working.
    with pytest.raises(ValidationError, match=r"`logprobs` is explicitly `False`"):
        ChatOllama(model="m", logprobs=False, top_logprobs=2)
    llm, fake = scripted_chat(["x"], logprobs=False)
    with pytest.raises(InvalidRequestError, match=r"`logprobs` is explicitly `False`"):
        llm.invoke("Hi", top_logprobs=3)
    with pytest.raises(InvalidRequestError, match="`top_logprobs` must be a positive integer"):
        llm.invoke("Hi", logprobs=True, top_logprobs=0)
    assert fake.requests == []  # refused before any request


def test_top_logprobs_alone_turns_logprobs_on_with_a_warning() -> None:
    with pytest.warns(UserWarning, match=r"Setting `logprobs=True` automatically") as caught:
        llm, fake = scripted_chat(["x", "y"], top_logprobs=2)
    assert len(caught) == 1 and llm.logprobs is True
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the setting is now explicit: no second warning per call
        llm.invoke("Hi")
    assert (fake.requests[0]["logprobs"], fake.requests[0]["top_logprobs"]) == (True, 2)

    plain, fake = scripted_chat(["x"])
    with pytest.warns(UserWarning, match=r"Setting `logprobs=True` automatically"):
        plain.invoke("Hi", top_logprobs=3)  # per call too: what is sent is not what was asked
    assert (fake.requests[0]["logprobs"], fake.requests[0]["top_logprobs"]) == (True, 3)


def test_top_logprobs_with_logprobs_true_does_not_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        llm, fake = scripted_chat(["x"], logprobs=True, top_logprobs=2)
        llm.invoke("Hi")
    assert (fake.requests[0]["logprobs"], fake.requests[0]["top_logprobs"]) == (True, 2)


# -- identity ---------------------------------------------------------------------------------------


def test_the_package_has_a_version() -> None:
    from importlib.metadata import version

    assert langchain_ollama_provider.__version__ == version("langchain-ollama-provider")


@pytest.mark.parametrize("cls", [ChatOllama, OllamaLLM])
def test_tracing_parameters_leave_an_unset_temperature_out(cls: type) -> None:
    assert "ls_temperature" not in cls(model="m")._get_ls_params()
    assert cls(model="m", temperature=0)._get_ls_params()["ls_temperature"] == 0
    assert cls(model="m")._get_ls_params(temperature=0.3)["ls_temperature"] == 0.3


# -- the first chunk's own timeout (a busy server's queue, a model loading) -------------------------


@pytest.mark.parametrize("cls", CLASSES)
def test_first_chunk_timeout_reaches_the_core(cls: type) -> None:
    assert cls(model="m", first_chunk_timeout=600).provider.config.first_chunk_timeout == 600
    assert cls(model="m").provider.config.first_chunk_timeout == OllamaConfig().first_chunk_timeout
    with pytest.raises(ValidationError, match="first_chunk_timeout"):
        cls(model="m", first_chunk_timeout=0)
