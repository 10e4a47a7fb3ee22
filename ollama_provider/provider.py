"""The public API: :class:`OllamaProvider` (sync) and :class:`AsyncOllamaProvider` (async).

Both have the same methods. Each method builds a call with :mod:`ollama_provider.calls` (shared,
pure) and runs it on its transport; only the running differs.

>>> from ollama_provider import OllamaProvider
>>> provider = OllamaProvider("127.0.0.1:11434", model="llama3.2")  # no I/O until the first call
>>> provider.config.base_url
'http://127.0.0.1:11434'
>>> provider.chat([{"role": "moderator", "content": "hi"}])
Traceback (most recent call last):
...
ollama_provider.errors.InvalidRequestError: message 0 has role 'moderator'; expected one of [...]
>>> provider.close()
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypedDict, TypeVar, overload

from . import calls, steps
from .config import OllamaConfig
from .errors import (
    IncompleteStreamError,
    InvalidResponseError,
    ModelNotFoundError,
    OllamaConnectionError,
    OllamaResponseError,
    OllamaTimeoutError,
)
from .health import HealthTracker
from .payloads import KeepAlive
from .protocol import Call
from .steps import adrive, drive
from .streams import AsyncStream, Stream
from .transport import AsyncTransport, SyncTransport
from .types import (
    ChatResponse,
    GenerateResponse,
    HealthStatus,
    ModelInfo,
    Options,
    ProgressResponse,
    RunningModel,
    ShowResponse,
)

if TYPE_CHECKING:  # annotations only: typing_extensions costs import time (typing has them from 3.11)
    from typing_extensions import Self, Unpack

T = TypeVar("T")
Vector = list[float]
ProgressCallback = Callable[[ProgressResponse], object]
#: A pull that loses its connection is asked again: Ollama resumes partial downloads.
_RESUMABLE = (IncompleteStreamError, OllamaConnectionError, OllamaTimeoutError)


class GenerationOptions(TypedDict, total=False):
    """Keyword options shared by ``chat`` and ``generate`` (all optional; ``None`` = server default)."""

    options: Options | Mapping[str, Any] | None
    keep_alive: KeepAlive | None
    temperature: float | None
    top_p: float | None
    top_k: int | None
    seed: int | None
    num_ctx: int | None
    num_predict: int | None
    stop: str | Sequence[str] | None
    logprobs: bool | None
    top_logprobs: int | None


class EmbedOptions(TypedDict, total=False):
    truncate: bool | None
    dimensions: int | None
    keep_alive: KeepAlive | None
    options: Options | Mapping[str, Any] | None


class _ProviderBase:
    """Configuration and health state, shared by both providers."""

    def __init__(
        self, host: str | None = None, *, config: OllamaConfig | None = None, **settings: Any
    ) -> None:
        if config is None:
            config = OllamaConfig(host=host, **settings)
        elif host is not None or settings:
            overrides: dict[str, Any] = {"host": host} if host is not None else {}
            config = replace(config, **overrides, **settings)
        self.config = config
        self.health = HealthTracker(config.base_url)

    @property
    def host(self) -> str:
        return self.config.base_url

    def __repr__(self) -> str:
        return f"{type(self).__name__}(host={self.config.base_url!r}, model={self.config.model!r})"

    def _embed_split(
        self, input: str | Sequence[str], batch_size: int | None
    ) -> tuple[list[tuple[int, list[str]]], bool]:
        texts, single = calls.embed_inputs(input)
        return calls.batches(texts, batch_size or self.config.embed_batch_size), single


class OllamaProvider(_ProviderBase):
    """Synchronous Ollama client: pooled, retried, typed. Safe to share between threads.

    ``OllamaProvider(host=None, *, model=None, config=None, **settings)``: ``settings`` are
    :class:`OllamaConfig` fields (``timeout``, ``retries``, ``keep_alive``, ...).
    """

    def __init__(
        self, host: str | None = None, *, config: OllamaConfig | None = None, **settings: Any
    ) -> None:
        super().__init__(host, config=config, **settings)
        self._transport = SyncTransport(self.config, self.health)

    # -- running calls -------------------------------------------------------------------------
    def _run(self, call: Call[T]) -> T:
        try:
            return self._transport.request(call)
        except ModelNotFoundError as error:
            drive(steps.suggest_models(error), self._run)
            raise

    def _stream(self, call: Call[Any]) -> Iterator[Any]:
        try:
            yield from self._transport.stream(call)
        except ModelNotFoundError as error:
            drive(steps.suggest_models(error), self._run)
            raise

    # -- generation ----------------------------------------------------------------------------
    @overload
    def chat(
        self,
        messages: Any,
        *,
        model: str | None = ...,
        tools: Sequence[Any] | None = ...,
        format: Any = ...,
        think: bool | str | None = ...,
        stream: Literal[False] = False,
        **kwargs: Unpack[GenerationOptions],
    ) -> ChatResponse: ...
    @overload
    def chat(
        self,
        messages: Any,
        *,
        model: str | None = ...,
        tools: Sequence[Any] | None = ...,
        format: Any = ...,
        think: bool | str | None = ...,
        stream: Literal[True],
        **kwargs: Unpack[GenerationOptions],
    ) -> Stream[ChatResponse]: ...
    def chat(
        self,
        messages: Any,
        *,
        model: str | None = None,
        tools: Sequence[Any] | None = None,
        format: Any = None,
        think: bool | str | None = None,
        stream: bool = False,
        **kwargs: Unpack[GenerationOptions],
    ) -> ChatResponse | Stream[ChatResponse]:
        """Chat with a model. ``messages``: a string, or dicts / :class:`Message` objects.

        ``tools``: JSON-schema dicts, pydantic models or typed, documented functions. ``format``:
        ``"json"``, a JSON schema or a pydantic model class. ``think``: bool or ``"low"``/``"medium"``/
        ``"high"``. With ``stream=True`` returns a :class:`Stream` of chunks (same type).
        """
        call = calls.chat(
            self.config,
            messages,
            model=model,
            tools=tools,
            format=format,
            think=think,
            stream=stream,
            **kwargs,
        )
        return Stream(self._stream(call)) if stream else self._run(call)

    @overload
    def generate(
        self,
        prompt: str | None = ...,
        *,
        model: str | None = ...,
        stream: Literal[False] = False,
        **kwargs: Any,
    ) -> GenerateResponse: ...
    @overload
    def generate(
        self, prompt: str | None = ..., *, model: str | None = ..., stream: Literal[True], **kwargs: Any
    ) -> Stream[GenerateResponse]: ...
    def generate(
        self, prompt: str | None = None, *, model: str | None = None, stream: bool = False, **kwargs: Any
    ) -> GenerateResponse | Stream[GenerateResponse]:
        """Complete a prompt. Keywords: ``suffix``, ``system``, ``template``, ``raw``, ``images``,
        ``format``, ``think``, ``context`` and the :class:`GenerationOptions`. An empty prompt only
        loads the model (``finish_reason == "load"``)."""
        call = calls.generate(self.config, prompt, model=model, stream=stream, **kwargs)
        return Stream(self._stream(call)) if stream else self._run(call)

    @overload
    def embed(  # type: ignore[overload-overlap]  # a str is also a Sequence[str]
        self,
        input: str,
        *,
        model: str | None = ...,
        batch_size: int | None = ...,
        **kwargs: Unpack[EmbedOptions],
    ) -> Vector: ...
    @overload
    def embed(
        self,
        input: Sequence[str],
        *,
        model: str | None = ...,
        batch_size: int | None = ...,
        **kwargs: Unpack[EmbedOptions],
    ) -> list[Vector]: ...
    def embed(
        self,
        input: str | Sequence[str],
        *,
        model: str | None = None,
        batch_size: int | None = None,
        **kwargs: Unpack[EmbedOptions],
    ) -> Vector | list[Vector]:
        """One vector for a string, a list of vectors for a list (sent in batches of ``batch_size``)."""
        parts, single = self._embed_split(input, batch_size)
        vectors = [
            vector
            for offset, batch in parts
            for vector in drive(
                steps.embed_batch(self.config, offset, batch, model=model, **kwargs), self._run
            )
        ]
        return vectors[0] if single else vectors

    # -- models --------------------------------------------------------------------------------
    def list_models(self) -> list[ModelInfo]:
        """Installed models (``/api/tags``), newest first."""
        return self._run(calls.list_models())

    def list_running(self) -> list[RunningModel]:
        """Models loaded in memory (``/api/ps``)."""
        return self._run(calls.list_running())

    def show_model(self, name: str, *, verbose: bool | None = None) -> ShowResponse:
        """Details, template, parameters and capabilities of one model."""
        return self._run(calls.show_model(name, verbose=verbose))

    def delete_model(self, name: str) -> None:
        self._run(calls.delete_model(name))

    def copy_model(self, source: str, destination: str) -> None:
        self._run(calls.copy_model(source, destination))

    @overload
    def pull_model(
        self,
        name: str,
        *,
        progress: ProgressCallback | None = ...,
        stream: Literal[False] = False,
        insecure: bool | None = ...,
    ) -> ProgressResponse: ...
    @overload
    def pull_model(
        self,
        name: str,
        *,
        progress: ProgressCallback | None = ...,
        stream: Literal[True],
        insecure: bool | None = ...,
    ) -> Stream[ProgressResponse]: ...
    def pull_model(
        self,
        name: str,
        *,
        progress: ProgressCallback | None = None,
        stream: bool = False,
        insecure: bool | None = None,
    ) -> ProgressResponse | Stream[ProgressResponse]:
        """Download a model. Calls ``progress`` for each update, or with ``stream=True`` yields them.

        A dropped connection is resumed (up to ``retries`` times): Ollama keeps partial downloads.
        """
        chunks = self._resumable(calls.pull_model(name, insecure=insecure), progress)
        return Stream(chunks) if stream else _last(chunks)

    def push_model(
        self, name: str, *, progress: ProgressCallback | None = None, insecure: bool | None = None
    ) -> ProgressResponse:
        """Upload a model to its registry (``host/namespace/model:tag``)."""
        return _last(self._progress(self._stream(calls.push_model(name, insecure=insecure)), progress))

    def create_model(
        self, name: str, *, progress: ProgressCallback | None = None, **spec: Any
    ) -> ProgressResponse:
        """Create a model: ``from_=`` an existing one (or ``files=``), with ``system``, ``template``,
        ``parameters``, ``messages``, ``quantize``."""
        return _last(self._progress(self._stream(calls.create_model(name, **spec)), progress))

    def _resumable(
        self, call: Call[ProgressResponse], progress: ProgressCallback | None
    ) -> Iterator[ProgressResponse]:
        for attempt in range(self.config.retries + 1):
            try:
                yield from self._progress(self._stream(call), progress)
                return
            except _RESUMABLE:
                if attempt == self.config.retries:
                    raise

    @staticmethod
    def _progress(
        chunks: Iterator[ProgressResponse], progress: ProgressCallback | None
    ) -> Iterator[ProgressResponse]:
        for chunk in chunks:
            if progress is not None:
                progress(chunk)
            yield chunk

    def ensure_model(self, name: str, *, pull: bool = False, progress: ProgressCallback | None = None) -> str:
        """Return the installed name of ``name``; pull it first if missing and ``pull`` is set,
        else raise :class:`ModelNotFoundError` listing the closest installed names."""
        found = drive(steps.installed_name(self.config, name, pull=pull), self._run)
        if found is None:
            self.pull_model(name, progress=progress)
        return found or name

    def blob_exists(self, digest: str) -> bool:
        """Whether the server has a blob (``sha256:<hex>``)."""
        try:
            return self._run(calls.blob_exists(digest))
        except OllamaResponseError as error:
            if error.status_code == 404:
                return False
            raise

    def version(self) -> str:
        return self._run(calls.version())

    def request(self, method: str, path: str, json: dict[str, Any] | None = None) -> Any:
        """Any other route, with the same pooling, retries and typed errors."""
        return self._run(calls.raw_request(method, path, json))

    def check_health(self) -> HealthStatus:
        """Version, model count and latency; never raises (a failure is reported in the status)."""
        return drive(steps.check_health(self.health), self._run)

    # -- lifetime ------------------------------------------------------------------------------
    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _last(chunks: Iterator[ProgressResponse]) -> ProgressResponse:
    last = None
    for last in chunks:  # noqa: B007 - the loop is how the stream is consumed
        pass
    if last is None:
        raise InvalidResponseError("the server sent no progress at all")
    return last


class AsyncOllamaProvider(_ProviderBase):
    """Asynchronous twin of :class:`OllamaProvider` (same methods, awaitable).

    Streams: ``async for chunk in await provider.chat(..., stream=True)``. Works across event loops
    (one HTTP client per loop), e.g. from successive ``asyncio.run`` calls.
    """

    def __init__(
        self, host: str | None = None, *, config: OllamaConfig | None = None, **settings: Any
    ) -> None:
        super().__init__(host, config=config, **settings)
        self._transport = AsyncTransport(self.config, self.health)

    async def _run(self, call: Call[T]) -> T:
        try:
            return await self._transport.request(call)
        except ModelNotFoundError as error:
            await adrive(steps.suggest_models(error), self._run)
            raise

    async def _stream(self, call: Call[Any]) -> AsyncGenerator[Any, None]:
        chunks = self._transport.stream(call)
        try:
            async for chunk in chunks:
                yield chunk
        except ModelNotFoundError as error:
            await adrive(steps.suggest_models(error), self._run)
            raise
        finally:
            await chunks.aclose()

    @overload
    async def chat(
        self,
        messages: Any,
        *,
        model: str | None = ...,
        tools: Sequence[Any] | None = ...,
        format: Any = ...,
        think: bool | str | None = ...,
        stream: Literal[False] = False,
        **kwargs: Unpack[GenerationOptions],
    ) -> ChatResponse: ...
    @overload
    async def chat(
        self,
        messages: Any,
        *,
        model: str | None = ...,
        tools: Sequence[Any] | None = ...,
        format: Any = ...,
        think: bool | str | None = ...,
        stream: Literal[True],
        **kwargs: Unpack[GenerationOptions],
    ) -> AsyncStream[ChatResponse]: ...
    async def chat(
        self,
        messages: Any,
        *,
        model: str | None = None,
        tools: Sequence[Any] | None = None,
        format: Any = None,
        think: bool | str | None = None,
        stream: bool = False,
        **kwargs: Unpack[GenerationOptions],
    ) -> ChatResponse | AsyncStream[ChatResponse]:
        """See :meth:`OllamaProvider.chat`."""
        call = calls.chat(
            self.config,
            messages,
            model=model,
            tools=tools,
            format=format,
            think=think,
            stream=stream,
            **kwargs,
        )
        if stream:
            return AsyncStream(self._stream(call))
        return await self._run(call)

    @overload
    async def generate(
        self,
        prompt: str | None = ...,
        *,
        model: str | None = ...,
        stream: Literal[False] = False,
        **kwargs: Any,
    ) -> GenerateResponse: ...
    @overload
    async def generate(
        self, prompt: str | None = ..., *, model: str | None = ..., stream: Literal[True], **kwargs: Any
    ) -> AsyncStream[GenerateResponse]: ...
    async def generate(
        self, prompt: str | None = None, *, model: str | None = None, stream: bool = False, **kwargs: Any
    ) -> GenerateResponse | AsyncStream[GenerateResponse]:
        """See :meth:`OllamaProvider.generate`."""
        call = calls.generate(self.config, prompt, model=model, stream=stream, **kwargs)
        if stream:
            return AsyncStream(self._stream(call))
        return await self._run(call)

    @overload
    async def embed(  # type: ignore[overload-overlap]  # a str is also a Sequence[str]
        self,
        input: str,
        *,
        model: str | None = ...,
        batch_size: int | None = ...,
        **kwargs: Unpack[EmbedOptions],
    ) -> Vector: ...
    @overload
    async def embed(
        self,
        input: Sequence[str],
        *,
        model: str | None = ...,
        batch_size: int | None = ...,
        **kwargs: Unpack[EmbedOptions],
    ) -> list[Vector]: ...
    async def embed(
        self,
        input: str | Sequence[str],
        *,
        model: str | None = None,
        batch_size: int | None = None,
        **kwargs: Unpack[EmbedOptions],
    ) -> Vector | list[Vector]:
        """See :meth:`OllamaProvider.embed`; batches run concurrently (``embed_concurrency`` at once)."""
        parts, single = self._embed_split(input, batch_size)
        gate = asyncio.Semaphore(self.config.embed_concurrency)

        async def run(offset: int, batch: list[str]) -> list[Vector]:
            async with gate:
                return await adrive(
                    steps.embed_batch(self.config, offset, batch, model=model, **kwargs), self._run
                )

        results = await asyncio.gather(*(run(offset, batch) for offset, batch in parts))
        vectors = [v for batch_vectors in results for v in batch_vectors]
        return vectors[0] if single else vectors

    async def list_models(self) -> list[ModelInfo]:
        return await self._run(calls.list_models())

    async def list_running(self) -> list[RunningModel]:
        return await self._run(calls.list_running())

    async def show_model(self, name: str, *, verbose: bool | None = None) -> ShowResponse:
        return await self._run(calls.show_model(name, verbose=verbose))

    async def delete_model(self, name: str) -> None:
        await self._run(calls.delete_model(name))

    async def copy_model(self, source: str, destination: str) -> None:
        await self._run(calls.copy_model(source, destination))

    @overload
    async def pull_model(
        self,
        name: str,
        *,
        progress: ProgressCallback | None = ...,
        stream: Literal[False] = False,
        insecure: bool | None = ...,
    ) -> ProgressResponse: ...
    @overload
    async def pull_model(
        self,
        name: str,
        *,
        progress: ProgressCallback | None = ...,
        stream: Literal[True],
        insecure: bool | None = ...,
    ) -> AsyncStream[ProgressResponse]: ...
    async def pull_model(
        self,
        name: str,
        *,
        progress: ProgressCallback | None = None,
        stream: bool = False,
        insecure: bool | None = None,
    ) -> ProgressResponse | AsyncStream[ProgressResponse]:
        """See :meth:`OllamaProvider.pull_model`."""
        chunks = self._resumable(calls.pull_model(name, insecure=insecure), progress)
        return AsyncStream(chunks) if stream else await _alast(chunks)

    async def push_model(
        self, name: str, *, progress: ProgressCallback | None = None, insecure: bool | None = None
    ) -> ProgressResponse:
        return await _alast(self._progress(self._stream(calls.push_model(name, insecure=insecure)), progress))

    async def create_model(
        self, name: str, *, progress: ProgressCallback | None = None, **spec: Any
    ) -> ProgressResponse:
        return await _alast(self._progress(self._stream(calls.create_model(name, **spec)), progress))

    async def _resumable(
        self, call: Call[ProgressResponse], progress: ProgressCallback | None
    ) -> AsyncIterator[ProgressResponse]:
        for attempt in range(self.config.retries + 1):
            try:
                async for chunk in self._progress(self._stream(call), progress):
                    yield chunk
                return
            except _RESUMABLE:
                if attempt == self.config.retries:
                    raise

    @staticmethod
    async def _progress(
        chunks: AsyncIterator[ProgressResponse], progress: ProgressCallback | None
    ) -> AsyncIterator[ProgressResponse]:
        async for chunk in chunks:
            if progress is not None:
                progress(chunk)
            yield chunk

    async def ensure_model(
        self, name: str, *, pull: bool = False, progress: ProgressCallback | None = None
    ) -> str:
        """See :meth:`OllamaProvider.ensure_model`."""
        found = await adrive(steps.installed_name(self.config, name, pull=pull), self._run)
        if found is None:
            await self.pull_model(name, progress=progress)
        return found or name

    async def blob_exists(self, digest: str) -> bool:
        try:
            return await self._run(calls.blob_exists(digest))
        except OllamaResponseError as error:
            if error.status_code == 404:
                return False
            raise

    async def version(self) -> str:
        return await self._run(calls.version())

    async def request(self, method: str, path: str, json: dict[str, Any] | None = None) -> Any:
        return await self._run(calls.raw_request(method, path, json))

    async def check_health(self) -> HealthStatus:
        return await adrive(steps.check_health(self.health), self._run)

    async def close(self) -> None:
        await self._transport.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


async def _alast(chunks: AsyncIterator[ProgressResponse]) -> ProgressResponse:
    last = None
    async for last in chunks:  # noqa: B007 - the loop is how the stream is consumed
        pass
    if last is None:
        raise InvalidResponseError("the server sent no progress at all")
    return last
