"""What the transports report, and who hears it: the ``ollama_provider`` logger and OpenTelemetry.

The transports call this module at a few points: a request starts (:func:`start`), is retried
(:func:`retrying`), fails over to another host (:func:`failed_over`); a host is ejected from a pool
(:func:`ejected`) or comes back (:func:`restored`); a client's pooled connections are dropped after a
connection failure (:func:`reconnecting`). Two listeners:

* the ``ollama_provider`` logger, always: one INFO or WARNING line per event, naming the host and the
  reason (an error's type and message, cut short); never a request or response body, never a
  header (the hosts are base URLs, which never carry userinfo);
* OpenTelemetry, only when its API has been imported (by the application, its SDK set-up or
  ``opentelemetry-instrument``) *and* a tracer or meter provider is set: :func:`start` then returns an
  :class:`Operation` (a span and metrics per the GenAI semantic conventions, :mod:`._otel`).

When nobody listens, :func:`start` costs two dictionary look-ups and returns ``None``: the
transports skip everything else, and no chunk of a stream is ever looked at. This module never
imports ``opentelemetry``; :mod:`._otel` is imported once a provider is found set.

>>> from ollama_provider import _calls as calls
>>> start(calls.version(), "http://127.0.0.1:11434") is None  # no OpenTelemetry provider here
True
"""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator, Iterator
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from ._genai import reason

if TYPE_CHECKING:
    from .._protocol import Call, StreamReader

T = TypeVar("T")

#: The logger of the core's operational events (retries, failovers, ejections, reconnections).
log = logging.getLogger("ollama_provider")
# A library leaves output to the application: without this, Python's last-resort handler would print
# every retry's WARNING to stderr of programs that configured no logging (notebooks, scripts).
log.addHandler(logging.NullHandler())


class Operation(Protocol):
    """One request as OpenTelemetry sees it: a span and its metrics, from start to answer or failure."""

    def retrying(self, host: str, error: BaseException, attempt: int, wait: float) -> None:
        """Attempt ``attempt`` failed on ``host`` with ``error``; the next one starts in ``wait`` s."""

    def failed_over(self, host: str, error: BaseException, to: str) -> None:
        """``host`` failed with ``error``; the request goes to ``to`` instead."""

    def opened(self) -> None:
        """A stream's headers arrived: the span stops being the current one (the caller's code runs
        between chunks)."""

    def observe(self, chunks: Iterator[T], reader: StreamReader[Any], host: str) -> Iterator[T]:
        """``chunks`` passed through: notes the first one, and the final one's usage on success."""

    def aobserve(self, chunks: AsyncIterator[T], reader: StreamReader[Any], host: str) -> AsyncIterator[T]:
        """:meth:`observe` for an async stream."""

    def succeeded(self, host: str, answer: Any) -> None:
        """``host`` answered ``answer`` (a parsed response, or a stream's final chunk): end."""

    def failed(self, error: BaseException, host: str | None = None) -> None:
        """The request ended with ``error`` (``host``: the last one asked, when known): end."""

    def end(self) -> None:
        """End the span if nothing else did (a stream closed early); idempotent."""


def start(call: Call[Any], host: str | None) -> Operation | None:
    """An :class:`Operation` for ``call`` sent to ``host`` (``None``: not chosen yet, a pool), or
    ``None`` when no OpenTelemetry provider is set: the fast path, nothing imported, nothing kept."""
    modules = sys.modules
    trace_api = modules.get("opentelemetry.trace")
    metrics_api = modules.get("opentelemetry.metrics")
    if trace_api is None and metrics_api is None:
        return None
    op: Operation | None = (_listener or _load_otel()).start(call, host, trace_api, metrics_api)
    return op


#: :mod:`._otel` once loaded (a name of its own: the submodule's name is an attribute of this package).
_listener: ModuleType | None = None


def _load_otel() -> ModuleType:
    global _listener
    from . import _otel  # only in processes that imported OpenTelemetry themselves

    _listener = _otel
    return _otel


def retrying(
    op: Operation | None, host: str, error: BaseException, attempt: int, wait: float, *, of: int
) -> None:
    """Attempt ``attempt`` (of ``of``) failed on ``host``; the next one starts in ``wait`` seconds."""
    log.warning(
        "retrying on %s in %.2fs (attempt %d of %d failed): %s", host, wait, attempt, of, reason(error)
    )
    if op is not None:
        op.retrying(host, error, attempt, wait)


def failed_over(op: Operation | None, host: str, error: BaseException, to: str) -> None:
    """A routed request leaves ``host`` (it failed with ``error``) for ``to``."""
    log.warning("failing over from %s to %s: %s", host, to, reason(error))
    if op is not None:
        op.failed_over(host, error, to)


def hedged(host: str, to: str) -> None:
    """A short request has had no answer from ``host`` for a while: a second copy goes to ``to``."""
    log.info("no answer from %s yet: a second copy goes to %s (hedging)", host, to)


def ejected(host: str, error: BaseException, cooldown: float) -> None:
    """``host`` could not be reached, or stayed silent: out of rotation for ``cooldown`` seconds."""
    log.warning("host %s is down, out of rotation for %.1fs (then probed): %s", host, cooldown, reason(error))


def restored(host: str) -> None:
    """``host`` answered again (a probe or a health check): back in its pool's rotation."""
    log.info("host %s answered again: back in rotation", host)


def reconnecting(host: str, error: BaseException) -> None:
    """A connection to ``host`` failed: its idle pooled connections are dropped, new ones opened."""
    log.info("connection to %s failed, opening fresh connections from now on: %s", host, reason(error))
