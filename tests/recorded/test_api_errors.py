"""Every recorded failure, replayed through the public API: the exact error class, status and message.

Ollama answers failures in several shapes: JSON ``{"error": ...}`` with 400 / 404 / 500 / 501 / 503,
a llama-server error nested as JSON text inside that, plain-text bodies (unknown route, wrong method)
and an error line inside a 200 stream. A caller relies on one typed exception per kind.

Where the provider deliberately rejects or repairs a request before any I/O (a keep_alive without
unit, an invalid model name, ``stop`` given as a string), two tests cover the scenario: one proves
that nothing is sent, the other replays the recorded request through ``provider.request`` so the
mapping of the server's own answer is tested too.
"""

from __future__ import annotations

import json

import pytest
from vcr.cassette import Cassette

from ollama_provider import (
    ContextLengthError,
    InvalidRequestError,
    ModelNotFoundError,
    OllamaProvider,
    OllamaResponseError,
    ServerBusyError,
    StreamError,
    UnsupportedCapabilityError,
)

from .api_scenarios import GEMMA, GREEDY, LONG_TEXT, MINILM, MISSING, ONE_PIXEL_PNG, SMOLLM, WEATHER_TOOL
from .refusing_transport import Refused, RefusingTransport

MULTIMODAL = "Multimodal data provided, but model does not support multimodal requests."
REGISTRY_UNREACHABLE = (
    'pull model manifest: Get "https://registry.ollama.ai/v2/library/{path}": '
    "dial tcp: lookup registry.ollama.ai on 10.255.255.53:53: no such host"
)
BUSY = "server busy, please try again.  maximum pending requests exceeded"


# --------------------------------------------------------------------------- 400: the model cannot do it


@pytest.mark.vcr("api/chat_tools_unsupported.yaml")
def test_tools_for_a_model_without_tool_support(provider: OllamaProvider) -> None:
    with pytest.raises(UnsupportedCapabilityError) as raised:
        provider.chat("Weather in Paris?", model=GEMMA, tools=[WEATHER_TOOL], num_predict=48, **GREEDY)

    assert raised.value.status_code == 400
    assert raised.value.message == "registry.ollama.ai/library/gemma3:270m does not support tools"


@pytest.mark.vcr("api/chat_think_unsupported.yaml")
def test_think_for_a_model_without_thinking(provider: OllamaProvider) -> None:
    with pytest.raises(UnsupportedCapabilityError) as raised:
        provider.chat("Hi", model=GEMMA, think=True, num_predict=48, **GREEDY)

    assert raised.value.status_code == 400
    assert raised.value.message == '"gemma3:270m" does not support thinking'


@pytest.mark.vcr("api/chat_image_unsupported.yaml")
def test_chat_image_for_a_text_only_model_unwraps_the_nested_llama_server_error(
    provider: OllamaProvider,
) -> None:
    message = {"role": "user", "content": "What is in this image?", "images": [ONE_PIXEL_PNG]}
    with pytest.raises(UnsupportedCapabilityError) as raised:
        provider.chat([message], model=SMOLLM, num_predict=16, **GREEDY)

    assert raised.value.status_code == 400
    assert raised.value.message == MULTIMODAL  # the readable part of the JSON inside Ollama's error
    assert raised.value.body is not None
    assert json.loads(json.loads(raised.value.body)["error"])["error"]["type"] == "invalid_request_error"


@pytest.mark.vcr("api/generate_images_unsupported.yaml")
def test_generate_image_for_a_text_only_model(provider: OllamaProvider) -> None:
    with pytest.raises(UnsupportedCapabilityError) as raised:
        provider.generate(
            "Describe the image.", model=SMOLLM, images=[ONE_PIXEL_PNG], num_predict=10, **GREEDY
        )

    assert (raised.value.status_code, raised.value.message) == (400, MULTIMODAL)


@pytest.mark.vcr("api/generate_suffix_unsupported.yaml")
def test_suffix_for_a_model_without_insert_support(provider: OllamaProvider) -> None:
    with pytest.raises(UnsupportedCapabilityError) as raised:
        provider.generate("def add(a, b):", model=SMOLLM, suffix="    return c", num_predict=10, **GREEDY)

    assert raised.value.status_code == 400
    assert raised.value.message == "registry.ollama.ai/library/smollm2:135m does not support insert"


@pytest.mark.vcr("api/embed_chat_model.yaml")
def test_embeddings_asked_of_a_chat_model_is_a_501(provider: OllamaProvider) -> None:
    with pytest.raises(UnsupportedCapabilityError) as raised:
        provider.embed("The sky is blue.", model=SMOLLM)

    assert raised.value.status_code == 501
    assert raised.value.message == "This server does not support embeddings. Start it with `--embeddings`"


@pytest.mark.vcr("api/embed_overflow.yaml")
def test_embed_input_longer_than_the_context_without_truncation(provider: OllamaProvider) -> None:
    with pytest.raises(ContextLengthError) as raised:
        provider.embed([LONG_TEXT], model=MINILM, truncate=False)

    error = raised.value
    assert (error.status_code, error.message) == (400, "the input length exceeds the context length")
    assert error.index == 0  # which input of the batch is too long
    assert str(error) == "the input length exceeds the context length (input at index 0)"


# --------------------------------------------------------------------------- 404: unknown model


@pytest.mark.model_suggestions
@pytest.mark.vcr("api/show_missing.yaml")
def test_show_an_unknown_model(provider: OllamaProvider) -> None:
    with pytest.raises(ModelNotFoundError) as raised:
        provider.show_model(MISSING)

    error = raised.value
    assert (error.status_code, error.message, error.model) == (
        404,
        "model 'no-such-model:1b' not found",
        MISSING,
    )
    assert error.suggestions == []  # nothing installed looks like it
    assert str(error) == "model 'no-such-model:1b' not found (run: ollama pull no-such-model:1b)"


@pytest.mark.model_suggestions
@pytest.mark.vcr("api/chat_missing_model.yaml")
def test_streamed_chat_with_an_unknown_model_fails_when_the_stream_opens(provider: OllamaProvider) -> None:
    stream = provider.chat("Hi", model=MISSING, stream=True)  # nothing sent yet

    with pytest.raises(ModelNotFoundError) as raised:
        next(iter(stream))

    error = raised.value
    assert (error.status_code, error.message, error.model) == (
        404,
        "model 'no-such-model:1b' not found",
        MISSING,
    )
    assert error.suggestions == []


@pytest.mark.model_suggestions
@pytest.mark.vcr("api/embed_missing_model.yaml")
def test_embed_with_an_unknown_model(provider: OllamaProvider) -> None:
    with pytest.raises(ModelNotFoundError) as raised:
        provider.embed("x", model=MISSING)

    error = raised.value
    assert (error.status_code, error.model, error.suggestions) == (404, MISSING, [])
    assert error.message == 'model "no-such-model:1b" not found, try pulling it first'


# --------------------------------------------------------------------------- rejected or repaired before I/O


def test_keep_alive_without_a_unit_is_rejected_before_sending(
    offline_provider: OllamaProvider, refusing_transport: RefusingTransport
) -> None:
    with pytest.raises(InvalidRequestError, match="keep_alive '300' needs a unit"):
        offline_provider.chat("Hi", model=SMOLLM, keep_alive="300", stream=True)

    assert refusing_transport.requests == []


@pytest.mark.vcr("api/chat_bad_keep_alive.yaml")
def test_keep_alive_without_a_unit_as_the_server_answers_it(provider: OllamaProvider) -> None:
    body = {"model": SMOLLM, "keep_alive": "300", "messages": [{"role": "user", "content": "Hi"}]}
    with pytest.raises(OllamaResponseError) as raised:
        provider.request("POST", "/api/chat", body)

    assert type(raised.value) is OllamaResponseError
    assert raised.value.status_code == 400
    assert raised.value.message == 'time: missing unit in duration "300"'


def test_invalid_model_name_is_rejected_before_sending(
    offline_provider: OllamaProvider, refusing_transport: RefusingTransport
) -> None:
    with pytest.raises(InvalidRequestError, match="invalid model name 'bad name!'"):
        offline_provider.chat("Hi", model="bad name!", num_predict=48, **GREEDY)

    assert refusing_transport.requests == []


@pytest.mark.vcr("api/chat_invalid_name.yaml")
def test_invalid_model_name_as_the_server_answers_it(provider: OllamaProvider) -> None:
    body = {
        "model": "bad name!",
        "options": {"temperature": 0, "seed": 42, "num_predict": 48},
        "messages": [{"role": "user", "content": "Hi"}],
        "stream": False,
    }
    with pytest.raises(OllamaResponseError) as raised:
        provider.request("POST", "/api/chat", body)

    assert type(raised.value) is OllamaResponseError
    assert (raised.value.status_code, raised.value.message) == (400, "invalid model name")


def test_stop_given_as_a_string_is_sent_as_a_list(
    offline_provider: OllamaProvider, refusing_transport: RefusingTransport
) -> None:
    # The server rejects a bare string (next test); the provider repairs it instead of failing.
    with pytest.raises(Refused):
        offline_provider.chat("Hi", model=SMOLLM, stop="\n")

    (sent,) = refusing_transport.requests
    assert json.loads(sent.content)["options"] == {"stop": ["\n"]}


@pytest.mark.vcr("api/chat_bad_option_type.yaml")
def test_stop_given_as_a_string_as_the_server_answers_it(provider: OllamaProvider) -> None:
    body = {
        "model": SMOLLM,
        "options": {"stop": "\n"},
        "messages": [{"role": "user", "content": "Hi"}],
        "stream": False,
    }
    with pytest.raises(OllamaResponseError) as raised:
        provider.request("POST", "/api/chat", body)

    assert type(raised.value) is OllamaResponseError  # a 500, and not retried
    assert (raised.value.status_code, raised.value.message) == (500, 'option "stop" must be of type array')


# --------------------------------------------------------------------------- routes: plain-text bodies


@pytest.mark.vcr("api/unknown_route.yaml")
def test_unknown_route_is_a_plain_text_404_not_a_missing_model(provider: OllamaProvider) -> None:
    with pytest.raises(OllamaResponseError) as raised:
        provider.request("GET", "/api/nothing-here")

    assert type(raised.value) is OllamaResponseError
    assert (raised.value.status_code, raised.value.message) == (404, "404 page not found")
    assert raised.value.body == "404 page not found"


@pytest.mark.vcr("api/wrong_method.yaml")
def test_wrong_method_is_a_plain_text_405(provider: OllamaProvider) -> None:
    with pytest.raises(OllamaResponseError) as raised:
        provider.request("GET", "/api/chat")

    assert type(raised.value) is OllamaResponseError
    assert (raised.value.status_code, raised.value.message) == (405, "405 method not allowed")


# --------------------------------------------------------------------------- registry unreachable
# Replay only: these answers need a server whose registry lookups fail (no DNS); a re-record on a
# connected machine would start a real download instead.


@pytest.mark.vcr("api/pull_unreachable.yaml", record_mode="none")
def test_pull_error_line_inside_a_200_stream_raises_after_the_progress_before_it(
    provider: OllamaProvider,
) -> None:
    updates: list[str] = []
    with pytest.raises(StreamError) as raised:
        provider.pull_model("qwen2.5:0.5b", progress=lambda update: updates.append(update.status))

    assert updates == ["pulling manifest"]  # what came before the error line still reached the caller
    assert type(raised.value) is StreamError  # the server's error, not a truncated stream
    assert raised.value.status_code == 200
    assert raised.value.message == REGISTRY_UNREACHABLE.format(path="qwen2.5/manifests/0.5b")


@pytest.mark.vcr("api/pull_unreachable_nostream.yaml", record_mode="none")
def test_pull_not_streamed_with_the_registry_unreachable_is_a_500(provider: OllamaProvider) -> None:
    # pull_model() always streams on the wire, so the non-streamed pull is a raw request.
    with pytest.raises(OllamaResponseError) as raised:
        provider.request("POST", "/api/pull", {"model": "qwen2.5:0.5b", "stream": False})

    assert type(raised.value) is OllamaResponseError
    assert raised.value.status_code == 500
    assert raised.value.message == REGISTRY_UNREACHABLE.format(path="qwen2.5/manifests/0.5b")


@pytest.mark.vcr("api/create_missing_base.yaml", record_mode="none")
def test_create_from_a_base_model_that_does_not_exist_is_a_500(provider: OllamaProvider) -> None:
    # create_model() always streams on the wire, so the non-streamed create is a raw request.
    body = {"model": "broken:test", "from": MISSING, "stream": False}
    with pytest.raises(OllamaResponseError) as raised:
        provider.request("POST", "/api/create", body)

    assert type(raised.value) is OllamaResponseError
    assert raised.value.status_code == 500
    assert raised.value.message == REGISTRY_UNREACHABLE.format(path="no-such-model/manifests/1b")


# --------------------------------------------------------------------------- 503: busy, then fine
# Replay only: the 503 needs OLLAMA_MAX_QUEUE=1 and concurrent load while gemma3 loads.


@pytest.mark.vcr("api/server_busy_then_ok.yaml", record_mode="none")
def test_server_busy_is_retried_automatically_then_succeeds(provider: OllamaProvider, vcr: Cassette) -> None:
    answer = provider.generate("hi", model=GEMMA, num_predict=5)

    assert vcr.play_count == 2  # the 503, then the 200 that answered the automatic retry
    assert answer.response == "In response to the pandemic"
    assert (answer.finish_reason, answer.usage.completion_tokens) == ("length", 5)


@pytest.mark.vcr("api/server_busy_then_ok.yaml", record_mode="none")
def test_server_busy_without_retries_raises_server_busy(ollama_host: str, vcr: Cassette) -> None:
    with OllamaProvider(host=ollama_host, retries=0) as provider, pytest.raises(ServerBusyError) as raised:
        provider.generate("hi", model=GEMMA, num_predict=5)

    assert vcr.play_count == 1
    error = raised.value
    assert (error.status_code, error.message, error.retry_after) == (503, BUSY, None)
    assert error.retryable
