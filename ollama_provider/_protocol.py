"""Sans-I/O protocol: what to send (a :class:`Call`), how to read it back, how failures map to errors.

The sync and async transports run the same ``Call`` objects; only their I/O differs.

>>> err = error_from_response(404, b'{"error":"model \\'x\\' not found"}', model="x")
>>> type(err).__name__, err.status_code, err.model
('ModelNotFoundError', 404, 'x')
>>> type(error_from_response(404, b"404 page not found")).__name__
'OllamaResponseError'
>>> error_from_response(503, b'{"error":"server busy"}', retry_after="2").retry_after
2.0
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from time import time
from typing import Any, Generic, TypeVar

import orjson

from ._ndjson import NDJSONDecoder, loads
from ._parsing import parse_chat
from .errors import (
    ContextLengthError,
    IncompleteStreamError,
    InvalidResponseError,
    ModelNotFoundError,
    OllamaResponseError,
    ServerBusyError,
    StreamError,
    UnsupportedCapabilityError,
)
from .types import ChatResponse

T = TypeVar("T")

RETRYABLE_STATUSES = frozenset({502, 503, 504})
# The words of each supported release (README, "Supported Ollama releases"); both are read, whichever
# server answers. A model that cannot do something: '"gemma3:270m" does not support thinking' (0.12 and
# 0.33), 'think value "high" is not supported for this model' (0.12: levels only for gpt-oss), and the
# nested llama-server 'Multimodal data provided...' (0.33, an image for a text-only model).
_CAPABILITY_HINTS = ("does not support", "is not supported for this model", "multimodal data provided")
# An input longer than the context: 'the input length exceeds the context length' (0.33),
# 'input exceeds maximum context length' (0.12).
_CONTEXT_HINTS = (
    "exceeds the context length",
    "exceeds maximum context length",
    "longer than the context length",
)


@dataclass(frozen=True, slots=True)
class StreamSpec(Generic[T]):
    """How to read one NDJSON stream: a per-stream parser factory and the test for its last line."""

    new_parser: Callable[[], Callable[[Any], T]]
    is_final: Callable[[Any], bool]


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """One request to the server and how to turn its answer into ``T``.

    ``parse`` receives the decoded JSON body (or ``None`` for an empty body, or the text of a
    non-JSON body when ``text`` is set); ``stream`` is set for NDJSON streams. ``slow_start``
    marks the requests that run the model: the server may queue them or load the model first, so
    their first chunk gets ``first_chunk_timeout``. ``hedge`` marks requests that are safe to send
    twice and short (embeddings, show, version, the lists): a pool may send a second copy to
    another host when the first is slow (``OllamaConfig.hedge_after``). ``needs`` names the
    capabilities the model must list in its ``/api/show`` answer (``"vision"`` for images), checked
    before sending because an older server ignores what its model cannot do
    (see ``_steps.check_capabilities``).
    """

    method: str
    path: str
    parse: Callable[[Any], T]
    body: dict[str, Any] | None = None
    stream: StreamSpec[Any] | None = None
    model: str | None = None
    text: bool = False
    headers: Mapping[str, str] = field(default_factory=dict)
    retry: bool = True
    slow_start: bool = False
    hedge: bool = False
    needs: tuple[str, ...] = ()

    def encoded_body(self) -> bytes | None:
        return None if self.body is None else orjson.dumps(self.body)


def _done(obj: Any) -> bool:
    return bool(obj.get("done"))


def _progress_done(obj: Any) -> bool:
    return bool(obj.get("status") == "success")


class ChatStreamParser:
    """Parses chat chunks, remembering tool calls so the final chunk says ``finish_reason="tool_calls"``."""

    __slots__ = ("_saw_tool_calls",)

    def __init__(self) -> None:
        self._saw_tool_calls = False

    def __call__(self, obj: Any) -> ChatResponse:
        chunk = parse_chat(obj)
        if chunk.message.tool_calls:
            self._saw_tool_calls = True
        if chunk.done and self._saw_tool_calls and chunk.finish_reason == "stop":
            chunk.finish_reason = "tool_calls"
        return chunk


def stream_of(parse: Callable[[Any], T]) -> StreamSpec[T]:
    """A stream whose chunks are stateless and end with ``done: true``."""
    return StreamSpec(lambda: parse, _done)


CHAT_STREAM: StreamSpec[ChatResponse] = StreamSpec(ChatStreamParser, _done)


def progress_stream(parse: Callable[[Any], T]) -> StreamSpec[T]:
    """Pull / push / create progress: the last line is ``{"status": "success"}``."""
    return StreamSpec(lambda: parse, _progress_done)


def check_stream_line(obj: Any) -> Any:
    """Raise the server's error if a stream line carries one (errors arrive with HTTP 200)."""
    if type(obj) is not dict:
        raise InvalidResponseError(f"expected a JSON object per stream line, got {obj!r:.200}")
    error = obj.get("error")
    if error:
        raise StreamError(str(error), body=orjson.dumps(obj).decode())
    return obj


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds: a number or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        from email.utils import parsedate_to_datetime  # rare: kept off import time

        return max(0.0, parsedate_to_datetime(value).timestamp() - time())
    except (TypeError, ValueError, IndexError):
        return None


def error_message(status: int, content: bytes) -> str:
    """The server's message: ``{"error": ...}`` when JSON, else the text, else the status phrase."""
    text = content.decode("utf-8", "replace").strip()
    if text.startswith("{"):
        try:
            data = loads(content)
        except InvalidResponseError:
            data = None
        if isinstance(data, dict) and data.get("error"):
            return _innermost(data["error"])
    if text:
        return text
    try:
        return f"{status} {HTTPStatus(status).phrase}".lower()
    except ValueError:
        return f"HTTP {status}"


def _innermost(error: Any) -> str:
    """llama-server errors arrive as JSON text inside Ollama's own ``error``: keep the readable part."""
    if isinstance(error, str) and error.startswith("{"):
        try:
            error = orjson.loads(error)
        except orjson.JSONDecodeError:
            return str(error)
    if isinstance(error, dict):
        inner = error.get("error", error)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return str(inner["message"])
        if isinstance(inner, str):
            return str(inner)
    return str(error)


def error_from_response(
    status: int, content: bytes, *, model: str | None = None, retry_after: str | None = None
) -> OllamaResponseError:
    """Map an HTTP error answer to the most precise error class (on the status first, then the text)."""
    message = error_message(status, content)
    body = content.decode("utf-8", "replace")
    lowered = message.lower()
    if status in RETRYABLE_STATUSES:
        return ServerBusyError(
            message, status_code=status, body=body, retry_after=parse_retry_after(retry_after)
        )
    if status == 404 and "model" in lowered and "not found" in lowered:
        return ModelNotFoundError(message, model=model, status_code=status, body=body)
    if any(hint in lowered for hint in _CONTEXT_HINTS):
        return ContextLengthError(message, status_code=status, body=body)
    if status in (400, 501) and any(hint in lowered for hint in _CAPABILITY_HINTS):
        return UnsupportedCapabilityError(message, status_code=status, body=body)
    return OllamaResponseError(message, status_code=status, body=body)


def decode_body(content: bytes, *, text: bool) -> Any:
    """Decode a non-streamed 2xx body: ``None`` when empty (copy, delete), text when asked."""
    if text:
        return content.decode("utf-8", "replace")
    if not content.strip():
        return None
    return loads(content)


class StreamReader(Generic[T]):
    """Turns the raw bytes of one NDJSON stream into typed chunks; knows whether it was complete."""

    __slots__ = ("_decoder", "_is_final", "_parse", "final", "finished")

    def __init__(self, spec: StreamSpec[T]) -> None:
        self._decoder = NDJSONDecoder()
        self._parse = spec.new_parser()
        self._is_final = spec.is_final
        self.finished = False
        #: The final chunk (usage, finish reason), once it came.
        self.final: T | None = None

    def feed(self, data: bytes) -> Iterator[T]:
        """The chunks ``data`` completes, decoded one at a time: when a line is bad (an error
        object, malformed JSON), the good chunks before it in the same read still reach the caller."""
        for line in self._decoder.lines(data):
            yield self._chunk(loads(line))

    def finish(self) -> list[T]:
        """The chunks of a last line without newline; raises if the final chunk never came."""
        chunks = [self._chunk(obj) for obj in self._decoder.close()]
        if not self.finished:
            raise IncompleteStreamError(
                "the stream ended before its final chunk: the answer is incomplete "
                "(the server stopped generating or the connection was cut)"
            )
        return chunks

    def _chunk(self, obj: Any) -> T:
        check_stream_line(obj)
        if self._is_final(obj):
            self.finished = True
            self.final = self._parse(obj)
            return self.final
        return self._parse(obj)
