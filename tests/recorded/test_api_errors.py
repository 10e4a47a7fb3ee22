"""Every recorded failure, replayed through the public API: the exact error class, status and message.

Expected statuses and messages are read from each test's cassette (``recording``). Ollama answers
failures in several shapes: JSON ``{"error": ...}`` with 400 / 404 / 500 / 501 / 503,
a llama-server error nested as JSON text inside that, plain-text bodies (unknown route, wrong method)
and an error line inside a 200 stream. A caller relies on one typed exception per kind.

Where the provider deliberately rejects or repairs a request before any I/O (a keep_alive without
unit, an invalid model name, ``stop`` given as a string), two tests cover the scenario: one proves
that nothing is sent, the other replays the recorded request through ``provider.request`` so the
mapping of the server's own answer is tested too.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from vcr.cassette import Cassette as VcrCassette

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

from ..recordings import Cassette, Exchange
from ..releases import skip_lacking
from .api_scenarios import (
    GEMMA,
    GREEDY,
    LONG_TEXT,
    MINILM,
    MISSING,
    ONE_PIXEL_PNG,
    ONE_PIXEL_PNG_BASE64,
    SMOLLM,
    WEATHER_TOOL,
)
from .expected import assert_generate_answer
from .refusing_transport import Refused, RefusingTransport


def _failure(recording: Cassette, path: str, method: str = "POST") -> Exchange:
    """The recorded error answer on ``path`` (the first one that is not a 2xx)."""
    failures = [e for e in recording.all(path, method) if e.status >= 300]
    assert failures, f"{recording.name} holds no error answer on {path}"
    return failures[0]


def _nested_message(exchange: Exchange) -> str:
    """The readable message of a llama-server error that Ollama wraps as JSON text in its own error."""
    return str(json.loads(exchange.error)["error"]["message"])


def _assert_error(error: OllamaResponseError, exchange: Exchange) -> None:
    assert (error.status_code, error.message) == (exchange.status, exchange.error)


# --------------------------------------------------------------------------- 400: the model cannot do it


@pytest.mark.vcr("api/chat_tools_unsupported.yaml")
def test_tools_for_a_model_without_tool_support(provider: OllamaProvider, recording: Cassette) -> None:
    with pytest.raises(UnsupportedCapabilityError) as raised:
        provider.chat("Weather in Paris?", model=GEMMA, tools=[WEATHER_TOOL], num_predict=48, **GREEDY)

    _assert_error(raised.value, _failure(recording, "/api/chat"))
    assert raised.value.status_code == 400 and "does not support tools" in raised.value.message


@pytest.mark.vcr("api/chat_think_unsupported.yaml")
def test_think_for_a_model_without_thinking(provider: OllamaProvider, recording: Cassette) -> None:
    with pytest.raises(UnsupportedCapabilityError) as raised:
        provider.chat("Hi", model=GEMMA, think=True, num_predict=48, **GREEDY)

    _assert_error(raised.value, _failure(recording, "/api/chat"))
    assert raised.value.status_code == 400 and "does not support thinking" in raised.value.message


@pytest.mark.capability_check
@pytest.mark.vcr("api/chat_image_unsupported.yaml")
def test_chat_image_for_a_text_only_model_is_refused_before_sending(
    provider: OllamaProvider, vcr: VcrCassette, recording: Cassette
) -> None:
    # Ollama 0.12 would answer 200 and drop the image; the model's show answer says it cannot see.
    message = {"role": "user", "content": "What is in this image?", "images": [ONE_PIXEL_PNG]}
    sent_before = len(recording.all("/api/chat"))
    with pytest.raises(UnsupportedCapabilityError) as raised:
        provider.chat([message], model=SMOLLM, num_predict=16, **GREEDY)

    _assert_refused_before_sending(raised.value, vcr, recording, "/api/chat", sent_before)


@pytest.mark.capability_check
@pytest.mark.vcr("api/generate_images_unsupported.yaml")
def test_generate_image_for_a_text_only_model_is_refused_before_sending(
    provider: OllamaProvider, vcr: VcrCassette, recording: Cassette
) -> None:
    sent_before = len(recording.all("/api/generate"))
    with pytest.raises(UnsupportedCapabilityError) as raised:
        provider.generate(
            "Describe the image.", model=SMOLLM, images=[ONE_PIXEL_PNG], num_predict=10, **GREEDY
        )

    _assert_refused_before_sending(raised.value, vcr, recording, "/api/generate", sent_before)


def _assert_refused_before_sending(
    error: UnsupportedCapabilityError, vcr: VcrCassette, recording: Cassette, path: str, sent_before: int
) -> None:
    """The error names what the recorded show answer lists, and only that show answer was played."""
    shown = recording.exchange("/api/show").json
    assert "vision" not in shown["capabilities"]
    assert f'"{SMOLLM}" does not support vision (images were given)' in error.message
    assert ", ".join(sorted(shown["capabilities"])) in error.message
    assert (error.status_code, error.body) == (400, None)
    # Nothing but a show answer was played (replay) or recorded (record run) by this test.
    assert {vcr.data[index][0].path for index in vcr.play_counts} <= {"/api/show"}
    assert len(recording.all(path)) == sent_before


IMAGE_REFUSAL = "accepts an image for a text-only model and drops it (the client checks /api/show first)"


@pytest.mark.vcr("api/chat_image_unsupported.yaml")
def test_chat_image_as_the_server_answers_it_unwraps_the_nested_llama_server_error(
    provider: OllamaProvider, recording: Cassette
) -> None:
    # A raw request skips the client's check: the server's own answer, mapped.
    message = {"role": "user", "content": "What is in this image?", "images": [ONE_PIXEL_PNG_BASE64]}
    body = {"model": SMOLLM, "messages": [message], "stream": False, "options": {"num_predict": 16, **GREEDY}}
    with pytest.raises(UnsupportedCapabilityError) as raised:
        _unless_accepted(lambda: provider.request("POST", "/api/chat", body), recording, "/api/chat")

    recorded = _failure(recording, "/api/chat")
    assert raised.value.status_code == recorded.status == 400
    # The readable part of the JSON inside Ollama's error, and the whole body kept for the curious.
    assert raised.value.message == _nested_message(recorded)
    assert raised.value.body == recorded.body


@pytest.mark.vcr("api/generate_images_unsupported.yaml")
def test_generate_image_as_the_server_answers_it(provider: OllamaProvider, recording: Cassette) -> None:
    body = {
        "model": SMOLLM,
        "prompt": "Describe the image.",
        "images": [ONE_PIXEL_PNG_BASE64],
        "stream": False,
        "options": {"num_predict": 10, **GREEDY},
    }
    with pytest.raises(UnsupportedCapabilityError) as raised:
        _unless_accepted(lambda: provider.request("POST", "/api/generate", body), recording, "/api/generate")

    recorded = _failure(recording, "/api/generate")
    assert (raised.value.status_code, raised.value.message) == (recorded.status, _nested_message(recorded))


def _unless_accepted(send: Callable[[], object], recording: Cassette, path: str) -> None:
    """Send; when the recorded server accepted the image (200), skip naming its release."""
    send()
    assert recording.exchange(path).status == 200
    skip_lacking(IMAGE_REFUSAL)


@pytest.mark.vcr("api/generate_suffix_unsupported.yaml")
def test_suffix_for_a_model_without_insert_support(provider: OllamaProvider, recording: Cassette) -> None:
    with pytest.raises(UnsupportedCapabilityError) as raised:
        provider.generate("def add(a, b):", model=SMOLLM, suffix="    return c", num_predict=10, **GREEDY)

    _assert_error(raised.value, _failure(recording, "/api/generate"))
    assert raised.value.status_code == 400 and "does not support insert" in raised.value.message


@pytest.mark.vcr("api/embed_chat_model.yaml")
def test_embeddings_asked_of_a_chat_model_is_a_501(provider: OllamaProvider, recording: Cassette) -> None:
    with pytest.raises(UnsupportedCapabilityError) as raised:
        vector = provider.embed("The sky is blue.", model=SMOLLM)
        # As recorded: Ollama 0.12 embeds with a chat model (its vectors are passed on as they came).
        assert [vector] == recording.exchange("/api/embed").json["embeddings"]
        skip_lacking("embeds with a chat model (200) instead of refusing it (501)")

    _assert_error(raised.value, _failure(recording, "/api/embed"))
    assert raised.value.status_code == 501


@pytest.mark.vcr("api/embed_overflow.yaml")
def test_embed_input_longer_than_the_context_without_truncation(
    provider: OllamaProvider, recording: Cassette
) -> None:
    with pytest.raises(ContextLengthError) as raised:
        provider.embed([LONG_TEXT], model=MINILM, truncate=False)

    error = raised.value
    recorded = _failure(recording, "/api/embed")
    _assert_error(error, recorded)
    assert error.status_code == 400
    assert error.index == 0  # which input of the batch is too long
    assert str(error) == f"{recorded.error} (input at index 0)"


# --------------------------------------------------------------------------- 404: unknown model


@pytest.mark.model_suggestions
@pytest.mark.vcr("api/show_missing.yaml")
def test_show_an_unknown_model(provider: OllamaProvider, recording: Cassette) -> None:
    with pytest.raises(ModelNotFoundError) as raised:
        provider.show_model(MISSING)

    error = raised.value
    recorded = _failure(recording, "/api/show")
    _assert_error(error, recorded)
    assert (error.status_code, error.model) == (404, MISSING)
    assert error.suggestions == []  # nothing installed looks like it
    assert str(error) == f"{recorded.error} (run: ollama pull no-such-model:1b)"


@pytest.mark.model_suggestions
@pytest.mark.vcr("api/chat_missing_model.yaml")
def test_streamed_chat_with_an_unknown_model_fails_when_the_stream_opens(
    provider: OllamaProvider, recording: Cassette
) -> None:
    stream = provider.chat("Hi", model=MISSING, stream=True)  # nothing sent yet

    with pytest.raises(ModelNotFoundError) as raised:
        next(iter(stream))

    error = raised.value
    _assert_error(error, _failure(recording, "/api/chat"))
    assert (error.status_code, error.model, error.suggestions) == (404, MISSING, [])


@pytest.mark.model_suggestions
@pytest.mark.vcr("api/embed_missing_model.yaml")
def test_embed_with_an_unknown_model(provider: OllamaProvider, recording: Cassette) -> None:
    with pytest.raises(ModelNotFoundError) as raised:
        provider.embed("x", model=MISSING)

    error = raised.value
    _assert_error(error, _failure(recording, "/api/embed"))
    assert (error.status_code, error.model, error.suggestions) == (404, MISSING, [])


# --------------------------------------------------------------------------- rejected or repaired before I/O


def test_keep_alive_without_a_unit_is_rejected_before_sending(
    offline_provider: OllamaProvider, refusing_transport: RefusingTransport
) -> None:
    with pytest.raises(InvalidRequestError, match="keep_alive '300' needs a unit"):
        offline_provider.chat("Hi", model=SMOLLM, keep_alive="300", stream=True)

    assert refusing_transport.requests == []


@pytest.mark.vcr("api/chat_bad_keep_alive.yaml")
def test_keep_alive_without_a_unit_as_the_server_answers_it(
    provider: OllamaProvider, recording: Cassette
) -> None:
    body = {"model": SMOLLM, "keep_alive": "300", "messages": [{"role": "user", "content": "Hi"}]}
    with pytest.raises(OllamaResponseError) as raised:
        provider.request("POST", "/api/chat", body)

    assert type(raised.value) is OllamaResponseError
    _assert_error(raised.value, _failure(recording, "/api/chat"))
    assert raised.value.status_code == 400


def test_invalid_model_name_is_rejected_before_sending(
    offline_provider: OllamaProvider, refusing_transport: RefusingTransport
) -> None:
    with pytest.raises(InvalidRequestError, match="invalid model name 'bad name!'"):
        offline_provider.chat("Hi", model="bad name!", num_predict=48, **GREEDY)

    assert refusing_transport.requests == []


@pytest.mark.vcr("api/chat_invalid_name.yaml")
def test_invalid_model_name_as_the_server_answers_it(provider: OllamaProvider, recording: Cassette) -> None:
    body = {
        "model": "bad name!",
        "options": {"temperature": 0, "seed": 42, "num_predict": 48},
        "messages": [{"role": "user", "content": "Hi"}],
        "stream": False,
    }
    with pytest.raises(OllamaResponseError) as raised:
        provider.request("POST", "/api/chat", body)

    assert type(raised.value) is OllamaResponseError
    _assert_error(raised.value, _failure(recording, "/api/chat"))
    assert raised.value.status_code == 400


def test_stop_given_as_a_string_is_sent_as_a_list(
    offline_provider: OllamaProvider, refusing_transport: RefusingTransport
) -> None:
    # The server rejects a bare string (next test); the provider repairs it instead of failing.
    with pytest.raises(Refused):
        offline_provider.chat("Hi", model=SMOLLM, stop="\n")

    (sent,) = refusing_transport.requests
    assert json.loads(sent.content)["options"] == {"stop": ["\n"]}


@pytest.mark.vcr("api/chat_bad_option_type.yaml")
def test_stop_given_as_a_string_as_the_server_answers_it(
    provider: OllamaProvider, recording: Cassette
) -> None:
    body = {
        "model": SMOLLM,
        "options": {"stop": "\n"},
        "messages": [{"role": "user", "content": "Hi"}],
        "stream": False,
    }
    with pytest.raises(OllamaResponseError) as raised:
        provider.request("POST", "/api/chat", body)

    assert type(raised.value) is OllamaResponseError  # a 500, and not retried
    _assert_error(raised.value, _failure(recording, "/api/chat"))
    assert raised.value.status_code == 500 and len(recording.exchanges) == 1


# --------------------------------------------------------------------------- routes: plain-text bodies


@pytest.mark.vcr("api/unknown_route.yaml")
def test_unknown_route_is_a_plain_text_404_not_a_missing_model(
    provider: OllamaProvider, recording: Cassette
) -> None:
    with pytest.raises(OllamaResponseError) as raised:
        provider.request("GET", "/api/nothing-here")

    recorded = _failure(recording, "/api/nothing-here", "GET")
    assert type(raised.value) is OllamaResponseError
    assert (raised.value.status_code, raised.value.message, raised.value.body) == (
        404,
        recorded.body,
        recorded.body,
    )


@pytest.mark.vcr("api/wrong_method.yaml")
def test_wrong_method_is_a_plain_text_405(provider: OllamaProvider, recording: Cassette) -> None:
    with pytest.raises(OllamaResponseError) as raised:
        provider.request("GET", "/api/chat")

    recorded = _failure(recording, "/api/chat", "GET")
    assert type(raised.value) is OllamaResponseError
    assert (raised.value.status_code, raised.value.message) == (405, recorded.body)


# --------------------------------------------------------------------------- registry unreachable

NO_REGISTRY = (
    "needs a server whose registry lookups fail (no DNS); on a connected machine the request would start "
    "a real download instead"
)


@pytest.mark.replay_only(NO_REGISTRY)
@pytest.mark.vcr("api/pull_unreachable.yaml")
def test_pull_error_line_inside_a_200_stream_raises_after_the_progress_before_it(
    provider: OllamaProvider, recording: Cassette
) -> None:
    updates: list[str] = []
    with pytest.raises(StreamError) as raised:
        provider.pull_model("qwen2.5:0.5b", progress=lambda update: updates.append(update.status))

    recorded = recording.exchange("/api/pull")
    *progress, error_line = recorded.lines
    assert updates == [line["status"] for line in progress]  # what came before the error still arrived
    assert type(raised.value) is StreamError  # the server's error, not a truncated stream
    assert (raised.value.status_code, raised.value.message) == (200, error_line["error"])


@pytest.mark.replay_only(NO_REGISTRY)
@pytest.mark.vcr("api/pull_unreachable_nostream.yaml")
def test_pull_not_streamed_with_the_registry_unreachable_is_a_500(
    provider: OllamaProvider, recording: Cassette
) -> None:
    # pull_model() always streams on the wire, so the non-streamed pull is a raw request.
    with pytest.raises(OllamaResponseError) as raised:
        provider.request("POST", "/api/pull", {"model": "qwen2.5:0.5b", "stream": False})

    assert type(raised.value) is OllamaResponseError
    _assert_error(raised.value, _failure(recording, "/api/pull"))
    assert raised.value.status_code == 500


@pytest.mark.replay_only(NO_REGISTRY)
@pytest.mark.vcr("api/create_missing_base.yaml")
def test_create_from_a_base_model_that_does_not_exist_is_a_500(
    provider: OllamaProvider, recording: Cassette
) -> None:
    # create_model() always streams on the wire, so the non-streamed create is a raw request.
    body = {"model": "broken:test", "from": MISSING, "stream": False}
    with pytest.raises(OllamaResponseError) as raised:
        provider.request("POST", "/api/create", body)

    assert type(raised.value) is OllamaResponseError
    _assert_error(raised.value, _failure(recording, "/api/create"))
    assert raised.value.status_code == 500


# --------------------------------------------------------------------------- 503: busy, then fine

BUSY_QUEUE = (
    "the 503 needs a server started with OLLAMA_MAX_QUEUE=1 and requests piled on a model while it loads"
)


@pytest.mark.replay_only(BUSY_QUEUE)
@pytest.mark.vcr("api/server_busy_then_ok.yaml")
def test_server_busy_is_retried_automatically_then_succeeds(
    provider: OllamaProvider, vcr: VcrCassette, recording: Cassette
) -> None:
    answer = provider.generate("hi", model=GEMMA, num_predict=5)

    busy, fine = recording.all("/api/generate")
    assert (busy.status, fine.status) == (503, 200)
    assert vcr.play_count == 2  # the 503, then the 200 that answered the automatic retry
    assert_generate_answer(answer, fine.json)
    assert answer.finish_reason == fine.json["done_reason"]


@pytest.mark.replay_only(BUSY_QUEUE)
@pytest.mark.vcr("api/server_busy_then_ok.yaml")
def test_server_busy_without_retries_raises_server_busy(
    ollama_host: str, vcr: VcrCassette, recording: Cassette
) -> None:
    with OllamaProvider(host=ollama_host, retries=0) as provider, pytest.raises(ServerBusyError) as raised:
        provider.generate("hi", model=GEMMA, num_predict=5)

    assert vcr.play_count == 1
    error = raised.value
    _assert_error(error, _failure(recording, "/api/generate"))
    assert (error.status_code, error.retry_after) == (503, None)
    assert error.retryable
