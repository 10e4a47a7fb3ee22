"""HTTP I/O: pooled httpx clients, retries, streaming. The two shells differ only in ``await``.

Everything that is not I/O (bodies, decoding, error mapping, retry decisions) lives in
:mod:`ollama_provider._protocol` and :mod:`ollama_provider._retry` and is shared.
"""

from __future__ import annotations

import asyncio
import functools
import os
import ssl
import time
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, replace
from ipaddress import ip_address
from time import perf_counter
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from urllib.parse import urlsplit

import httpx

from . import __version__, telemetry
from ._client_slot import ClientSlot
from ._health import HealthTracker
from ._protocol import Call, StreamReader, decode_body, error_from_response
from ._retry import RetryPolicy
from .config import OllamaConfig
from .errors import (
    IncompleteStreamError,
    InvalidResponseError,
    OllamaConnectionError,
    OllamaError,
    OllamaTimeoutError,
)

if TYPE_CHECKING:
    from tenacity import RetryCallState

T = TypeVar("T")
R = TypeVar("R")

START_HINT = "Is Ollama running? Start it with `ollama serve` (or open the Ollama app), or set OLLAMA_HOST."
#: Sent with every request that names a model, so a load balancer can keep a model on one server
#: (nginx: ``hash $http_x_ollama_model consistent;``, see deploy/nginx/ollama.conf).
MODEL_HEADER = "X-Ollama-Model"
#: Failures after which the pool's idle keep-alive connections are suspect (server restarted...).
_CONNECTION_LEVEL = (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)
#: Distinct request paths whose merged URL a transport keeps (the API has about twenty; blob paths vary).
_URL_CACHE_SIZE = 64


def _is_loopback(base_url: str) -> bool:
    host = urlsplit(base_url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


@functools.lru_cache(maxsize=8)
def _ssl_context(trust_env: bool, cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    # httpx loads the CA bundle anew for every client (~50 ms); one context serves them all.
    # The SSL_CERT_* values are part of the cache key so that changing them still takes effect.
    return httpx.create_ssl_context(trust_env=trust_env)


def client_options(config: OllamaConfig) -> dict[str, Any]:
    """Keyword arguments for ``httpx.Client`` / ``httpx.AsyncClient``."""
    trust_env = config.trust_env and not _is_loopback(config.base_url)
    verify = _ssl_context(trust_env, os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
    headers = httpx.Headers({"user-agent": f"ollama-provider/{__version__}"})
    headers.update(config.request_headers)  # case-insensitive: a User-Agent of the user's replaces ours
    return {
        "verify": verify,
        "base_url": config.base_url,
        "timeout": httpx.Timeout(config.timeout, connect=config.connect_timeout),
        "limits": httpx.Limits(
            max_connections=config.max_connections, max_keepalive_connections=config.max_keepalive_connections
        ),
        "headers": headers,
        # Like the Ollama CLI, never send loopback traffic through HTTP(S)_PROXY.
        "trust_env": trust_env,
        **config.client_kwargs,
    }


def map_transport_error(
    exc: httpx.HTTPError,
    config: OllamaConfig,
    *,
    streaming: bool,
    slow_start: bool = False,
    deadline: float | None = None,
) -> OllamaError:
    """An httpx failure as our error. ``streaming``: chunks already reached the caller;
    ``slow_start``: the request was waiting for its first chunk under ``first_chunk_timeout``;
    ``deadline``: the request had a timeout of its own (a pool's probe), which ran out."""
    host = config.base_url
    if isinstance(exc, httpx.PoolTimeout):  # our side: every pooled connection was busy
        return OllamaTimeoutError(
            f"no free connection to Ollama at {host} within {config.connect_timeout}s: all "
            f"{config.max_connections} connections of the client's pool were in use. Raise "
            "OllamaConfig(max_connections=...) for more concurrent requests."
        )
    if isinstance(exc, httpx.ConnectTimeout):
        return OllamaTimeoutError(
            f"timed out after {config.connect_timeout}s connecting to Ollama at {host}. {START_HINT}",
            retryable=True,
        )
    if isinstance(exc, httpx.TimeoutException):
        # Before any byte of the answer the request may be sent elsewhere (silent); after, never.
        if deadline is not None and not streaming:
            return OllamaTimeoutError(f"Ollama at {host} sent no answer within {deadline}s", silent=True)
        if slow_start and not streaming:
            return OllamaTimeoutError(
                f"Ollama at {host} sent no answer within {config.first_read_timeout()}s: the server may be "
                "busy with other requests (it queues them) or still loading the model. Raise "
                "OllamaConfig(first_chunk_timeout=...) to wait longer.",
                silent=True,
            )
        which = "read timeout between chunks" if streaming else "read timeout"
        return OllamaTimeoutError(
            f"Ollama at {host} sent nothing for {config.timeout}s ({which}): the server stalled. Raise "
            "OllamaConfig(timeout=...) if it is only slow.",
            silent=not streaming,
        )
    if isinstance(exc, httpx.ConnectError):
        return OllamaConnectionError(
            f"cannot connect to Ollama at {host} ({exc}). {START_HINT}", host=host, unreachable=True
        )
    if streaming:
        return IncompleteStreamError(
            f"the connection to Ollama at {host} dropped mid-stream ({exc!r}): the answer is incomplete"
        )
    if isinstance(exc, httpx.DecodingError):
        return InvalidResponseError(f"could not decode the answer of {host}: {exc}")
    if isinstance(exc, _CONNECTION_LEVEL):
        return OllamaConnectionError(
            f"Ollama at {host} closed the connection before answering ({exc!r})", host=host
        )
    return OllamaConnectionError(f"request to Ollama at {host} failed: {exc!r}", host=host, retryable=False)


def _per_chunk_from_now(response: httpx.Response, seconds: float | None) -> None:
    """Give the rest of a response the per-chunk read timeout instead of the first chunk's.

    The headers came with the first chunk (Ollama writes them on its first flush). httpcore looks
    the read timeout up in the request's ``timeout`` extension when the body is first read, so
    changing it now applies to every later chunk.
    """
    timeouts = response.request.extensions.get("timeout")
    if isinstance(timeouts, dict):
        timeouts["read"] = seconds


C = TypeVar("C", httpx.Client, httpx.AsyncClient)


@dataclass(frozen=True, slots=True)
class Opened(Generic[C]):
    """A streamed request whose headers arrived: read its body, then release it."""

    call: Call[Any]
    slot: ClientSlot[C]
    client: C
    response: httpx.Response
    #: The span and metrics of the request, when someone listens (see :mod:`ollama_provider.telemetry`).
    op: telemetry.Operation | None = None


class _Shell:
    """What both shells share: configuration, health tracking, retry policy, failure handling."""

    def __init__(self, config: OllamaConfig, health: HealthTracker) -> None:
        self.config = config
        self.health = health
        self._policy = RetryPolicy(config.retries, config.backoff_base, config.backoff_max)
        self._slow_start_timeout = httpx.Timeout(
            config.timeout, connect=config.connect_timeout, read=config.first_read_timeout()
        )
        self._urls: dict[str, httpx.URL] = {}

    def _first_wait(self, error: OllamaError, call: Call[Any], op: telemetry.Operation | None) -> float:
        """Seconds to wait after a failed first attempt before retrying; re-raises if not retried."""
        if not (call.retry and error.retryable and self.config.retries):
            raise error
        wait = self._policy.wait_seconds(1, error)
        telemetry.retrying(op, self.config.base_url, error, 1, wait, of=self.config.retries + 1)
        return wait

    def _later_retries(self, op: telemetry.Operation | None) -> dict[str, Any]:
        """tenacity's arguments for the attempts after the second, each failure reported."""
        host, attempts = self.config.base_url, self.config.retries + 1

        def report(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            wait = state.next_action.sleep if state.next_action else 0.0
            if error is not None:
                telemetry.retrying(op, host, error, state.attempt_number + 1, wait, of=attempts)

        return self._policy.retries_kwargs(before_sleep=report)

    def _observed(self, opened: Opened[C], op: telemetry.Operation | None) -> Opened[C]:
        if op is None:
            return opened
        op.opened()
        return replace(opened, op=op)

    def _failure(
        self,
        exc: httpx.HTTPError,
        call: Call[Any],
        slot: ClientSlot[Any],
        client: Any,
        *,
        streaming: bool = False,
        deadline: float | None = None,
    ) -> OllamaError:
        error = map_transport_error(
            exc, self.config, streaming=streaming, slow_start=call.slow_start, deadline=deadline
        )
        self.health.record_failure(error)
        if isinstance(exc, _CONNECTION_LEVEL) and slot.current is client:
            telemetry.reconnecting(self.config.base_url, error)
            slot.retire(client)  # closed by the caller when its lease ends
        return error

    def _answer(self, call: Call[T], response: httpx.Response, started: float) -> T:
        if response.status_code >= 400:
            raise self._rejected(call, response, started)
        self.health.record_success(perf_counter() - started)
        return call.parse(decode_body(response.content, text=call.text))

    def _rejected(self, call: Call[Any], response: httpx.Response, started: float) -> OllamaError:
        """The error of an error answer, recorded in the health state: a 5xx is the server failing
        (runner crash, overload), a 4xx is the caller's mistake answered by a working server."""
        error = self._error(call, response)
        if response.status_code >= 500:
            self.health.record_failure(error)
        else:
            self.health.record_success(perf_counter() - started)
        return error

    def _error(self, call: Call[Any], response: httpx.Response) -> OllamaError:
        return error_from_response(
            response.status_code,
            response.content,
            model=call.model,
            retry_after=response.headers.get("retry-after"),
        )

    def _url(self, client: httpx.Client | httpx.AsyncClient, path: str) -> httpx.URL:
        """``path`` on the client's base URL, merged as httpx merges it, once per path: given the
        relative path, httpx parses and copies URLs on every request (a tenth of a small chat's CPU)."""
        url = self._urls.get(path)
        if url is None:
            base = client.base_url
            url = base.copy_with(raw_path=base.raw_path + httpx.URL(path).raw_path.lstrip(b"/"))
            if len(self._urls) < _URL_CACHE_SIZE:  # bounded: blob paths name digests
                self._urls[path] = url
        return url

    def _request_args(
        self, call: Call[Any], client: httpx.Client | httpx.AsyncClient, deadline: float | None = None
    ) -> dict[str, Any]:
        """httpx's arguments for ``call``; ``deadline``: seconds for every phase (a pool's probe)."""
        args: dict[str, Any] = {
            "method": call.method,
            "url": self._url(client, call.path),
            "content": call.encoded_body(),
            "headers": {MODEL_HEADER: call.model, **call.headers} if call.model else call.headers,
        }
        if deadline is not None:
            args["timeout"] = httpx.Timeout(deadline)
        elif call.slow_start:
            args["timeout"] = self._slow_start_timeout
        return args

    def _opened(self, call: Call[Any], response: httpx.Response, started: float) -> None:
        self.health.record_success(perf_counter() - started)
        if call.slow_start:
            _per_chunk_from_now(response, self.config.timeout)


def _decoded(pieces: Iterator[bytes], reader: StreamReader[Any]) -> Iterator[Any]:
    """The chunks of a stream's bytes (the loop of :meth:`SyncTransport.read`, for an observer)."""
    for data in pieces:
        yield from reader.feed(data)
    yield from reader.finish()


async def _adecoded(pieces: AsyncIterator[bytes], reader: StreamReader[Any]) -> AsyncIterator[Any]:
    async for data in pieces:
        for chunk in reader.feed(data):
            yield chunk
    for chunk in reader.finish():
        yield chunk


def _close_all(slot: ClientSlot[httpx.Client]) -> None:
    for client in slot.drain():
        client.close()


class SyncTransport(_Shell):
    def __init__(self, config: OllamaConfig, health: HealthTracker) -> None:
        super().__init__(config, health)
        self._slot: ClientSlot[httpx.Client] = ClientSlot(lambda: httpx.Client(**client_options(config)))
        # A provider dropped without close() (adapters and notebooks rarely close theirs) closes its
        # pooled connections when collected, instead of leaving open sockets to the garbage collector.
        self._finalizer = weakref.finalize(self, _close_all, self._slot)

    @property
    def transports(self) -> dict[str, SyncTransport]:
        """The transport of each host, by base URL: this one alone."""
        return {self.config.base_url: self}

    def spread(self, model: str | None) -> int:
        """How many hosts a batch for ``model`` can be spread over: one."""
        return 1

    def request(self, call: Call[T]) -> T:
        """One request/response exchange, retried as the policy says, observed (spans, metrics)."""
        op = telemetry.start(call, self.config.base_url)
        if op is None:
            answer: T = self._retried(self._request_once, call, None)
            return answer
        try:
            answer = self.send(call, op)
        except BaseException as error:
            op.failed(error, self.config.base_url)
            raise
        op.succeeded(self.config.base_url, answer)
        return answer

    def send(
        self, call: Call[T], op: telemetry.Operation | None = None, *, deadline: float | None = None
    ) -> T:
        """:meth:`request` without an operation of its own (a pool observes the routed request);
        retries are reported to ``op``. ``deadline``: seconds for each phase of each attempt, instead
        of the configured timeouts (a pool's probe)."""
        attempt = (
            self._request_once
            if deadline is None
            else functools.partial(self._request_once, deadline=deadline)
        )
        answer: T = self._retried(attempt, call, op)
        return answer

    def _retried(
        self, attempt_once: Callable[[Call[Any]], R], call: Call[Any], op: telemetry.Operation | None
    ) -> R:
        # The first attempt runs bare: the common case (it works) pays nothing for retrying.
        try:
            return attempt_once(call)
        except OllamaError as error:
            time.sleep(self._first_wait(error, call, op))
        from tenacity import Retrying  # only once something failed: it is slow to import

        for attempt in Retrying(**self._later_retries(op)):
            with attempt:
                return attempt_once(call)
        raise AssertionError("unreachable: tenacity reraises")  # pragma: no cover

    def _request_once(self, call: Call[T], deadline: float | None = None) -> T:
        client = self._slot.acquire()
        started = perf_counter()
        try:
            response = client.request(**self._request_args(call, client, deadline))
        except httpx.HTTPError as exc:
            raise self._failure(exc, call, self._slot, client, deadline=deadline) from None
        finally:
            self._close(self._slot.release(client))
        return self._answer(call, response, started)

    def stream(self, call: Call[Any]) -> Iterator[Any]:
        """Chunks of an NDJSON stream; opening it is retried, reading it never is."""
        op = telemetry.start(call, self.config.base_url)
        try:
            opened = self.open(call, op)
        except BaseException as error:
            if op is not None:
                op.failed(error, self.config.base_url)
            raise
        try:
            yield from self.read(opened)
        finally:
            self.release(opened)

    def open(self, call: Call[Any], op: telemetry.Operation | None = None) -> Opened[httpx.Client]:
        """Send a streamed request and receive its headers (retried as the policy says); ``op``
        hears of the retries, and of the chunks once they are read."""
        return self._observed(self._retried(self._open_once, call, op), op)

    def read(self, opened: Opened[httpx.Client]) -> Iterator[Any]:
        """The chunks of an opened stream (never retried); :meth:`release` it afterwards."""
        call, op = opened.call, opened.op
        assert call.stream is not None
        reader = StreamReader(call.stream)
        try:
            if op is None:  # nobody listens: not a single call per chunk more
                for data in opened.response.iter_bytes():
                    yield from reader.feed(data)
                yield from reader.finish()
            else:
                yield from op.observe(
                    _decoded(opened.response.iter_bytes(), reader), reader, self.config.base_url
                )
        except httpx.HTTPError as exc:
            error = self._failure(exc, call, self._slot, opened.client, streaming=True)
            if op is not None:
                op.failed(error, self.config.base_url)
            raise error from None
        except OllamaError as error:  # an error line, a malformed line, or no final chunk
            self.health.record_failure(error)
            if op is not None:
                op.failed(error, self.config.base_url)
            raise

    def release(self, opened: Opened[httpx.Client]) -> None:
        opened.response.close()
        self._close(self._slot.release(opened.client))
        if opened.op is not None:
            opened.op.end()  # a stream left early: its span ends here

    def _open_once(self, call: Call[Any]) -> Opened[httpx.Client]:
        client = self._slot.acquire()
        started = perf_counter()
        try:
            response = client.send(client.build_request(**self._request_args(call, client)), stream=True)
        except httpx.HTTPError as exc:
            error = self._failure(exc, call, self._slot, client)
            self._close(self._slot.release(client))
            raise error from None
        if response.status_code < 400:
            self._opened(call, response, started)
            return Opened(call, self._slot, client, response)
        try:
            response.read()
        except httpx.HTTPError:
            pass
        finally:
            response.close()
            self._close(self._slot.release(client))
        raise self._rejected(call, response, started)

    @staticmethod
    def _close(client: httpx.Client | None) -> None:
        if client is not None:
            client.close()

    def close(self) -> None:
        _close_all(self._slot)


async def _close_when_loop_ends(slot: ClientSlot[httpx.AsyncClient]) -> AsyncGenerator[None, None]:
    """Parked at its ``yield`` for the life of one event loop, then closes that loop's clients.

    A loop's clients can only be closed while the loop runs. ``asyncio.run`` (like any runner that
    calls ``loop.shutdown_asyncgens()``) closes every async generator still suspended on the loop
    before closing it, so the connections of a provider the user never closed are released then,
    instead of leaking their sockets once the loop is gone.
    """
    try:
        yield
    finally:
        for client in slot.drain():
            await client.aclose()


class AsyncTransport(_Shell):
    """One httpx.AsyncClient per event loop: a client is bound to the loop that created it."""

    def __init__(self, config: OllamaConfig, health: HealthTracker) -> None:
        super().__init__(config, health)
        self._slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, ClientSlot[httpx.AsyncClient]] = (
            weakref.WeakKeyDictionary()
        )
        self._closers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncGenerator[None, None]] = (
            weakref.WeakKeyDictionary()
        )

    async def _loop_slot(self) -> ClientSlot[httpx.AsyncClient]:
        loop = asyncio.get_running_loop()
        slot = self._slots.get(loop)
        if slot is None:
            options = client_options(self.config)
            slot = self._slots[loop] = ClientSlot(lambda: httpx.AsyncClient(**options))
            closer = self._closers[loop] = _close_when_loop_ends(slot)
            await closer.asend(None)  # first step: registers it with the loop's shutdown
        return slot

    @property
    def transports(self) -> dict[str, AsyncTransport]:
        return {self.config.base_url: self}

    async def spread(self, model: str | None) -> int:
        return 1

    async def request(self, call: Call[T]) -> T:
        op = telemetry.start(call, self.config.base_url)
        if op is None:
            answer: T = await self._retried(self._request_once, call, None)
            return answer
        try:
            answer = await self.send(call, op)
        except BaseException as error:
            op.failed(error, self.config.base_url)
            raise
        op.succeeded(self.config.base_url, answer)
        return answer

    async def send(
        self, call: Call[T], op: telemetry.Operation | None = None, *, deadline: float | None = None
    ) -> T:
        attempt = (
            self._request_once
            if deadline is None
            else functools.partial(self._request_once, deadline=deadline)
        )
        answer: T = await self._retried(attempt, call, op)
        return answer

    async def _retried(
        self,
        attempt_once: Callable[[Call[Any]], Awaitable[R]],
        call: Call[Any],
        op: telemetry.Operation | None,
    ) -> R:
        try:
            return await attempt_once(call)
        except OllamaError as error:
            await asyncio.sleep(self._first_wait(error, call, op))
        from tenacity import AsyncRetrying

        async for attempt in AsyncRetrying(**self._later_retries(op)):
            with attempt:
                return await attempt_once(call)
        raise AssertionError("unreachable: tenacity reraises")  # pragma: no cover

    async def _request_once(self, call: Call[T], deadline: float | None = None) -> T:
        slot = await self._loop_slot()
        client = slot.acquire()
        started = perf_counter()
        try:
            response = await client.request(**self._request_args(call, client, deadline))
        except httpx.HTTPError as exc:
            raise self._failure(exc, call, slot, client, deadline=deadline) from None
        finally:
            await self._close(slot.release(client))
        return self._answer(call, response, started)

    async def stream(self, call: Call[Any]) -> AsyncGenerator[Any, None]:
        op = telemetry.start(call, self.config.base_url)
        try:
            opened = await self.open(call, op)
        except BaseException as error:
            if op is not None:
                op.failed(error, self.config.base_url)
            raise
        try:
            async for chunk in self.read(opened):
                yield chunk
        finally:
            # Shielded: a cancelled task must still hand its connection back to the pool.
            await asyncio.shield(self.release(opened))

    async def open(self, call: Call[Any], op: telemetry.Operation | None = None) -> Opened[httpx.AsyncClient]:
        return self._observed(await self._retried(self._open_once, call, op), op)

    async def read(self, opened: Opened[httpx.AsyncClient]) -> AsyncGenerator[Any, None]:
        call, op = opened.call, opened.op
        assert call.stream is not None
        reader = StreamReader(call.stream)
        try:
            if op is None:
                async for data in opened.response.aiter_bytes():
                    for chunk in reader.feed(data):
                        yield chunk
                for chunk in reader.finish():
                    yield chunk
            else:
                chunks = _adecoded(opened.response.aiter_bytes(), reader)
                async for chunk in op.aobserve(chunks, reader, self.config.base_url):
                    yield chunk
        except httpx.HTTPError as exc:
            error = self._failure(exc, call, opened.slot, opened.client, streaming=True)
            if op is not None:
                op.failed(error, self.config.base_url)
            raise error from None
        except OllamaError as error:
            self.health.record_failure(error)
            if op is not None:
                op.failed(error, self.config.base_url)
            raise

    async def release(self, opened: Opened[httpx.AsyncClient]) -> None:
        await opened.response.aclose()
        await self._close(opened.slot.release(opened.client))
        if opened.op is not None:
            opened.op.end()

    async def _open_once(self, call: Call[Any]) -> Opened[httpx.AsyncClient]:
        slot = await self._loop_slot()
        client = slot.acquire()
        started = perf_counter()
        try:
            request = client.build_request(**self._request_args(call, client))
            response = await client.send(request, stream=True)
        except BaseException as exc:
            error = self._failure(exc, call, slot, client) if isinstance(exc, httpx.HTTPError) else None
            await self._close(slot.release(client))
            if error is None:
                raise
            raise error from None
        if response.status_code < 400:
            self._opened(call, response, started)
            return Opened(call, slot, client, response)
        try:
            await response.aread()
        except httpx.HTTPError:
            pass
        finally:
            await response.aclose()
            await self._close(slot.release(client))
        raise self._rejected(call, response, started)

    @staticmethod
    async def _close(client: httpx.AsyncClient | None) -> None:
        if client is not None:
            await client.aclose()

    async def aclose(self) -> None:
        """Close the clients of the running loop. Other loops keep theirs (they may be in use in
        another thread); each loop's clients are closed anyway when that loop shuts down."""
        loop = asyncio.get_running_loop()
        self._slots.pop(loop, None)
        closer = self._closers.pop(loop, None)
        if closer is not None:
            await closer.aclose()
