"""Status + body -> error class, stream lines, Retry-After."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from ollama_provider import (
    ContextLengthError,
    IncompleteStreamError,
    InvalidResponseError,
    ModelNotFoundError,
    OllamaResponseError,
    ServerBusyError,
    StreamError,
    UnsupportedCapabilityError,
)
from ollama_provider._parsing import parse_progress
from ollama_provider._protocol import (
    CHAT_STREAM,
    StreamReader,
    error_from_response,
    error_message,
    parse_retry_after,
    progress_stream,
)


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (404, b'{"error":"model \'x\' not found"}', ModelNotFoundError),
        (404, b'{"error":"model \\"x\\" not found, try pulling it first"}', ModelNotFoundError),
        (404, b"404 page not found", OllamaResponseError),
        (405, b"405 method not allowed", OllamaResponseError),
        (
            400,
            b'{"error":"registry.ollama.ai/library/gemma3:270m does not support tools"}',
            UnsupportedCapabilityError,
        ),
        (400, b'{"error":"\\"gemma3:270m\\" does not support thinking"}', UnsupportedCapabilityError),
        (
            501,
            b'{"error":"This server does not support embeddings. Start it with `--embeddings`"}',
            UnsupportedCapabilityError,
        ),
        (400, b'{"error":"the input length exceeds the context length"}', ContextLengthError),
        (400, b'{"error":"invalid model name"}', OllamaResponseError),
        (500, b'{"error":"option \\"stop\\" must be of type array"}', OllamaResponseError),
        (
            503,
            b'{"error":"server busy, please try again.  maximum pending requests exceeded"}',
            ServerBusyError,
        ),
        (502, b"", ServerBusyError),
        (504, b"<html>gateway timeout</html>", ServerBusyError),
        (403, b"", OllamaResponseError),
    ],
)
def test_status_maps_to_the_most_precise_error(status: int, body: bytes, cls: type[Exception]) -> None:
    error = error_from_response(status, body, model="x")
    assert type(error) is cls
    assert error.status_code == status
    assert error.message  # never empty, even for an empty body


def test_messages_of_plain_empty_and_nested_bodies() -> None:
    assert error_message(405, b"405 method not allowed") == "405 method not allowed"
    assert error_message(403, b"") == "403 forbidden"
    nested = b'{"error":"{\\"error\\":{\\"code\\":400,\\"message\\":\\"Multimodal data provided.\\"}}"}'
    assert error_message(400, nested) == "Multimodal data provided."
    assert error_message(599, b"") == "HTTP 599"


def test_model_not_found_names_the_model_and_the_fix() -> None:
    error = error_from_response(404, b'{"error":"model \'llama9\' not found"}', model="llama9")
    assert isinstance(error, ModelNotFoundError)
    error.suggestions = ["llama3.2:latest"]
    assert "llama3.2:latest" in str(error) and "ollama pull llama9" in str(error)


def test_retry_after_seconds_and_http_date() -> None:
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    later = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=30), usegmt=True)
    value = parse_retry_after(later)
    assert value is not None and 25 < value <= 30
    assert error_from_response(503, b"", retry_after="1.5").retry_after == 1.5  # type: ignore[attr-defined]


def test_stream_reader_flags_error_lines_and_truncation() -> None:
    reader = StreamReader(CHAT_STREAM)
    chunks = reader.feed(b'{"message":{"role":"assistant","content":"Hi"},"done":false}\n{"error":"boom"}\n')
    assert next(chunks).message.content == "Hi"  # the good chunk comes out before the error line
    with pytest.raises(StreamError, match="boom"):
        next(chunks)
    with pytest.raises(IncompleteStreamError):
        StreamReader(CHAT_STREAM).finish()
    with pytest.raises(InvalidResponseError):
        list(StreamReader(CHAT_STREAM).feed(b'["not", "an", "object"]\n'))


def test_chat_stream_reports_tool_calls_on_the_final_chunk() -> None:
    reader = StreamReader(CHAT_STREAM)
    lines = (
        b'{"message":{"role":"assistant","content":"","tool_calls":[{"id":"c1","function":{"index":0,"name":"f",'
        b'"arguments":{}}}]},"done":false}\n{"message":{"role":"assistant","content":""},"done":true,"done_reason":"stop"}\n'
    )
    chunks = [*reader.feed(lines), *reader.finish()]
    assert chunks[-1].finish_reason == "tool_calls"
    assert reader.finished


def test_progress_stream_ends_on_success() -> None:
    reader = StreamReader(progress_stream(parse_progress))
    list(reader.feed(b'{"status":"pulling manifest"}\n'))
    assert not reader.finished
    list(reader.feed(b'{"status":"success"}\n'))
    assert reader.finished
