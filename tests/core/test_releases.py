"""Both supported Ollama releases, 0.33 and 0.12: their error wordings, and what the client checks itself.

The wordings below are the servers' own, asked of a real 0.12.11 and 0.33.0-rc2 on 2026-12-03 (the
recorded tests check the same mapping on each release's recordings). The capability check runs on the
``/api/show`` answers each release recorded (``cassettes/recorded``, ``cassettes/releases/0.12.11``),
served by a mock transport that also counts what the client sent.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from ollama_provider import (
    ContextLengthError,
    ModelNotFoundError,
    OllamaResponseError,
    UnsupportedCapabilityError,
)
from ollama_provider._protocol import error_from_response

from ..recordings import cassette
from ..releases import release_recordings
from .conftest import MockProviders

# (release, status, body, error class): each release's words for the same failures.
WORDINGS = [
    # An input longer than the context (/api/embed with truncate=false).
    ("0.12.11", 400, b'{"error":"input exceeds maximum context length"}', ContextLengthError),
    ("0.33.0-rc2", 400, b'{"error":"the input length exceeds the context length"}', ContextLengthError),
    # The legacy /api/embeddings: 0.33 answers 500 with the same words; 0.12 truncates silently (200).
    ("0.33.0-rc2", 500, b'{"error":"the input length exceeds the context length"}', ContextLengthError),
    # A think level: 0.12 takes levels for gpt-oss only; 0.33 takes them for any thinking model.
    (
        "0.12.11",
        400,
        b'{"error":"think value \\"high\\" is not supported for this model"}',
        UnsupportedCapabilityError,
    ),
    # Thinking, tools, insert, chat, generate asked of a model without them: the same words on both.
    ("0.12.11", 400, b'{"error":"\\"gemma3:270m\\" does not support thinking"}', UnsupportedCapabilityError),
    (
        "0.33.0-rc2",
        400,
        b'{"error":"\\"gemma3:270m\\" does not support thinking"}',
        UnsupportedCapabilityError,
    ),
    (
        "0.12.11",
        400,
        b'{"error":"registry.ollama.ai/library/gemma3:270m does not support tools"}',
        UnsupportedCapabilityError,
    ),
    (
        "0.12.11",
        400,
        b'{"error":"registry.ollama.ai/library/smollm2:135m does not support insert"}',
        UnsupportedCapabilityError,
    ),
    (
        "0.12.11",
        400,
        b'{"error":"\\"all-minilm:latest\\" does not support chat"}',
        UnsupportedCapabilityError,
    ),
    (
        "0.12.11",
        400,
        b'{"error":"\\"all-minilm:latest\\" does not support generate"}',
        UnsupportedCapabilityError,
    ),
    # Embeddings of a chat model: 0.33 refuses (501); 0.12 answers 200 with vectors.
    (
        "0.33.0-rc2",
        501,
        b'{"error":"This server does not support embeddings. Start it with `--embeddings`"}',
        UnsupportedCapabilityError,
    ),
    # An image for a text-only model: 0.33 passes on llama-server's error; 0.12 answers 200 (see below).
    (
        "0.33.0-rc2",
        400,
        b'{"error":"{\\"error\\":{\\"code\\":400,\\"message\\":\\"Multimodal data provided, but model does not '
        b'support multimodal requests.\\",\\"type\\":\\"invalid_request_error\\"}}"}',
        UnsupportedCapabilityError,
    ),
    # A model that is not installed: the same words on both (two spellings, by route).
    ("0.12.11", 404, b'{"error":"model \'no-such-model:1b\' not found"}', ModelNotFoundError),
    (
        "0.12.11",
        404,
        b'{"error":"model \\"no-such-model:1b\\" not found, try pulling it first"}',
        ModelNotFoundError,
    ),
    # A malformed model name: 0.12 says it is missing, 0.33 that it is invalid (the client refuses
    # both before sending; raw requests get a plain response error).
    ("0.12.11", 400, b'{"error":"model is required"}', OllamaResponseError),
    ("0.33.0-rc2", 400, b'{"error":"invalid model name"}', OllamaResponseError),
]


@pytest.mark.parametrize(("release", "status", "body", "cls"), WORDINGS)
def test_each_release_wording_maps_to_its_typed_error(
    release: str, status: int, body: bytes, cls: type[Exception]
) -> None:
    error = error_from_response(status, body, model="no-such-model:1b")

    assert type(error) is cls, f"Ollama {release}: {body.decode()}"
    assert error.status_code == status
    words = json.loads(body)["error"]
    if words.startswith("{"):  # llama-server's error as JSON text: its readable part
        words = json.loads(words)["error"]["message"]
    assert error.message == words


# --------------------------------------------------------------------------- capabilities, checked before sending

PNG = b"\x89PNG\r\n\x1a\n"
TEXT_ONLY = "smollm2:135m"
CHAT_ANSWER = {"model": TEXT_ONLY, "message": {"role": "assistant", "content": "Hi"}, "done": True}


def recorded_show(root: Any) -> bytes:
    """The recorded ``/api/show`` answer for the text-only model, as its release sent it."""
    show = cassette("api/show.yaml", root)
    found = [e for e in show.all("/api/show") if e.request.get("model") == TEXT_ONLY and e.status == 200]
    assert found, f"{root}: no recorded show of {TEXT_ONLY}"
    return found[0].body.encode()


RELEASES = release_recordings()


class Server:
    """A mock Ollama that answers ``/api/show`` with ``show`` and everything else with a chat answer."""

    def __init__(self, show: bytes | None, status: int = 200) -> None:
        self.show, self.status = show, status
        self.paths: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        if request.url.path == "/api/show":
            if self.status == 404:
                return httpx.Response(404, json={"error": "model 'smollm2:135m' not found"})
            if self.status != 200:
                return httpx.Response(self.status, json={"error": "something broke"})
            return httpx.Response(200, content=self.show or b"{}")
        if request.url.path == "/api/tags":
            return httpx.Response(200, json={"models": []})
        if request.url.path == "/api/generate":
            return httpx.Response(200, json={"model": TEXT_ONLY, "response": "Hi", "done": True})
        return httpx.Response(200, json=CHAT_ANSWER)


def image_message() -> list[dict[str, Any]]:
    return [{"role": "user", "content": "What is in this image?", "images": [PNG]}]


@pytest.mark.parametrize("release", sorted(RELEASES))
def test_an_image_for_a_text_only_model_is_refused_before_sending_on_each_release(
    release: str, mock: MockProviders
) -> None:
    server = Server(recorded_show(RELEASES[release]))
    provider = mock.sync(server)
    capabilities = json.loads(server.show or b"")["capabilities"]
    assert "vision" not in capabilities  # what the release recorded for this model

    with pytest.raises(UnsupportedCapabilityError) as raised:
        provider.chat(image_message(), model=TEXT_ONLY)
    with pytest.raises(UnsupportedCapabilityError):
        provider.generate("Describe it.", model=TEXT_ONLY, images=[PNG])
    with pytest.raises(UnsupportedCapabilityError):
        next(iter(provider.chat(image_message(), model=TEXT_ONLY, stream=True)))

    assert server.paths == ["/api/show"]  # asked once, cached; the image requests were never sent
    error = raised.value
    assert error.status_code == 400 and error.body is None
    assert f'"{TEXT_ONLY}" does not support vision (images were given)' in error.message
    assert ", ".join(sorted(capabilities)) in error.message


@pytest.mark.parametrize("release", sorted(RELEASES))
async def test_the_async_provider_checks_the_same_way(release: str, mock: MockProviders) -> None:
    server = Server(recorded_show(RELEASES[release]))
    async with mock.async_(server) as provider:
        with pytest.raises(UnsupportedCapabilityError):
            await provider.chat(image_message(), model=TEXT_ONLY)
        with pytest.raises(UnsupportedCapabilityError):
            stream = await provider.generate("Describe it.", model=TEXT_ONLY, images=[PNG], stream=True)
            async for _ in stream:
                pass
        assert (await provider.chat("Hi", model=TEXT_ONLY)).message.content == "Hi"

    assert server.paths == ["/api/show", "/api/chat"]


def test_a_request_without_images_costs_no_extra_request(mock: MockProviders) -> None:
    server = Server(recorded_show(RELEASES[min(RELEASES)]))
    provider = mock.sync(server)

    provider.chat("Hi", model=TEXT_ONLY)
    provider.chat([{"role": "user", "content": "Hi"}], model=TEXT_ONLY, think=True, tools=[])
    list(provider.generate("Hi", model=TEXT_ONLY, stream=True))

    assert server.paths == ["/api/chat", "/api/chat", "/api/generate"]


def test_a_model_with_vision_gets_its_image(mock: MockProviders) -> None:
    shown = json.loads(recorded_show(RELEASES[min(RELEASES)]))
    shown["capabilities"] = [*shown["capabilities"], "vision"]  # a vision model's answer, in that shape
    server = Server(json.dumps(shown).encode())
    provider = mock.sync(server)

    assert provider.chat(image_message(), model=TEXT_ONLY).message.content == "Hi"
    assert provider.chat(image_message(), model=TEXT_ONLY).message.content == "Hi"

    assert server.paths == ["/api/show", "/api/chat", "/api/chat"]


def test_show_model_fills_the_cache(mock: MockProviders) -> None:
    server = Server(recorded_show(RELEASES[min(RELEASES)]))
    provider = mock.sync(server)

    provider.show_model(TEXT_ONLY)
    with pytest.raises(UnsupportedCapabilityError):
        provider.chat(image_message(), model=TEXT_ONLY)

    assert server.paths == ["/api/show"]


def test_capabilities_the_server_does_not_list_are_unknown_and_the_server_decides(
    mock: MockProviders,
) -> None:
    shown = json.loads(recorded_show(RELEASES[min(RELEASES)]))
    del shown["capabilities"]  # as a server before 0.6 answers
    server = Server(json.dumps(shown).encode())
    provider = mock.sync(server)

    provider.chat(image_message(), model=TEXT_ONLY)
    provider.chat(image_message(), model=TEXT_ONLY)

    assert server.paths == ["/api/show", "/api/chat", "/api/chat"]  # unknown is cached too


def test_a_failing_show_leaves_the_decision_to_the_server_and_is_asked_again(mock: MockProviders) -> None:
    server = Server(None, status=500)
    provider = mock.sync(server, retries=0)

    provider.chat(image_message(), model=TEXT_ONLY)
    provider.chat(image_message(), model=TEXT_ONLY)

    assert server.paths == ["/api/show", "/api/chat", "/api/show", "/api/chat"]


def test_an_unknown_model_is_model_not_found_before_sending(mock: MockProviders) -> None:
    server = Server(None, status=404)
    provider = mock.sync(server)

    with pytest.raises(ModelNotFoundError) as raised:
        provider.chat(image_message(), model=TEXT_ONLY)

    assert raised.value.model == TEXT_ONLY
    assert server.paths == ["/api/show", "/api/tags"]  # the show, then the closest installed names


def test_changing_models_forgets_what_was_checked(mock: MockProviders) -> None:
    server = Server(recorded_show(RELEASES[min(RELEASES)]))
    provider = mock.sync(server)
    provider.show_model(TEXT_ONLY)

    provider.delete_model("smollm2-old:135m")  # a name may now stand for another model
    with pytest.raises(UnsupportedCapabilityError):
        provider.chat(image_message(), model=TEXT_ONLY)

    assert server.paths == ["/api/show", "/api/delete", "/api/show"]
