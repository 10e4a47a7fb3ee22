"""One exception tree for everything the core raises.

Nothing from httpx or the JSON decoder escapes the public API: every failure is an
:class:`OllamaError`, so ``except OllamaError`` is always enough.

>>> from ollama_provider.errors import ModelNotFoundError, OllamaResponseError
>>> err = ModelNotFoundError("model 'llama9' not found", model="llama9", suggestions=["llama3.2:latest"])
>>> isinstance(err, OllamaResponseError), err.status_code
(True, 404)
>>> print(err)
model 'llama9' not found (did you mean: llama3.2:latest? or run: ollama pull llama9)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class OllamaError(Exception):
    """Base class of every error raised by ollama_provider.

    ``retryable`` says whether the core retries this failure on its own (before giving up and
    raising it): connection failures, connect timeouts and busy servers are; answers are not.
    """

    retryable: bool = False

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickling re-calls __init__ with args alone by default, which fails for the keyword-only
        # arguments below: a worker process that raised one would break its pool (ProcessPoolExecutor,
        # multiprocessing.Pool, Ray). Rebuilt from the message and the attributes instead.
        return (_rebuilt, (type(self), self.args, self.__dict__))


def _rebuilt(cls: type[OllamaError], args: tuple[Any, ...], state: dict[str, Any]) -> OllamaError:
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error


class InvalidRequestError(OllamaError, ValueError):
    """The request is wrong before it is sent (bad model name, message shape, option value...)."""


class OllamaConnectionError(OllamaError, ConnectionError):
    """The server could not be reached, or dropped the connection before answering.

    ``unreachable`` is set when no connection could be made at all (refused, unknown host, no
    route): a pool of several hosts then takes that host out of rotation for a while.
    """

    def __init__(
        self, message: str, *, host: str | None = None, retryable: bool = True, unreachable: bool = False
    ) -> None:
        super().__init__(message)
        self.host = host
        self.retryable = retryable
        self.unreachable = unreachable


class OllamaTimeoutError(OllamaError, TimeoutError):
    """Connecting took longer than ``connect_timeout``, or no byte arrived for ``timeout`` seconds.

    Only connect timeouts are retried: a read timeout means a stalled server or a slow model load.
    ``silent`` is set when the server sent no byte of its answer before the deadline (the first
    chunk's, or a whole answer's): nothing reached the caller, so a pool of several hosts sends the
    request to another host and takes the silent one out of rotation.
    """

    silent: bool = False

    def __init__(self, message: str, *, retryable: bool = False, silent: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.silent = silent


class InvalidResponseError(OllamaError):
    """The server answered something that is not the Ollama protocol (malformed JSON, wrong shape)."""


class OllamaResponseError(OllamaError):
    """The server answered with an error: an HTTP error status, or an error object inside a stream."""

    def __init__(self, message: str, *, status_code: int, body: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.body = body


class ModelNotFoundError(OllamaResponseError):
    """The model is not installed on the server. ``suggestions`` holds the closest installed names."""

    def __init__(
        self,
        message: str,
        *,
        model: str | None,
        suggestions: Sequence[str] = (),
        status_code: int = 404,
        body: str | None = None,
    ) -> None:
        super().__init__(message, status_code=status_code, body=body)
        self.model = model
        self.suggestions = list(suggestions)

    def __str__(self) -> str:
        hints = []
        if self.suggestions:
            hints.append("did you mean: " + ", ".join(self.suggestions) + "?")
        if self.model:
            hints.append(f"run: ollama pull {self.model}")
        return f"{self.message} ({' or '.join(hints)})" if hints else self.message


class UnsupportedCapabilityError(OllamaResponseError):
    """The model cannot do what was asked (tools, thinking, a think level, images, insert, embeddings).

    Read from the server's words on every supported release. For images the client checks first: a
    model whose ``/api/show`` lists no ``vision`` gets nothing sent (``body`` is ``None``, the status the
    400 a checking server answers), because Ollama 0.12 would accept the image and silently drop it.
    """


class ContextLengthError(OllamaResponseError):
    """An input is longer than the model's context. ``index`` names the offending input of a batch."""

    def __init__(
        self, message: str, *, status_code: int = 400, body: str | None = None, index: int | None = None
    ) -> None:
        super().__init__(message, status_code=status_code, body=body)
        self.index = index

    def __str__(self) -> str:
        return self.message if self.index is None else f"{self.message} (input at index {self.index})"


class ServerBusyError(OllamaResponseError):
    """503 / 502 / 504: the server is overloaded or restarting; retried automatically before raising."""

    retryable = True

    def __init__(
        self,
        message: str,
        *,
        status_code: int = 503,
        body: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status_code=status_code, body=body)
        self.retry_after = retry_after


class StreamError(OllamaResponseError):
    """The server reported an error inside a stream that had already started (HTTP 200)."""

    def __init__(self, message: str, *, status_code: int = 200, body: str | None = None) -> None:
        super().__init__(message, status_code=status_code, body=body)


class IncompleteStreamError(StreamError):
    """The stream ended (connection dropped, or EOF) before its ``done`` chunk: the answer is truncated."""


__all__ = [
    "ContextLengthError",
    "IncompleteStreamError",
    "InvalidRequestError",
    "InvalidResponseError",
    "ModelNotFoundError",
    "OllamaConnectionError",
    "OllamaError",
    "OllamaResponseError",
    "OllamaTimeoutError",
    "ServerBusyError",
    "StreamError",
    "UnsupportedCapabilityError",
]
