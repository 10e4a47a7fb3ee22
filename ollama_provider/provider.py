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
from time import perf_counter
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypedDict, TypeVar, overload

from . import calls
from .config import OllamaConfig
from .errors import (
    ContextLengthError,
    IncompleteStreamError,
    InvalidResponseError,
    ModelNotFoundError,
    OllamaConnectionError,
    OllamaError,
    OllamaResponseError,
    OllamaTimeoutError,
)
from .health import HealthTracker
from .models import closest_models, find_model
from .payloads import KeepAlive
from .protocol import Call
from .streams import AsyncStream, Stream
from .transport import AsyncTransport, SyncTransport
from .types import (
    ChatResponse,
    EmbedResponse,
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

    def _missing(self, name: str, installed: list[ModelInfo]) -> ModelNotFoundError:
        names = [m.name for m in installed]
        return ModelNotFoundError(
            f"model '{name}' is not installed on {self.config.base_url}",
            model=name,
            suggestions=closest_models(names, name),
        )

    def _embed_split(
        self, input: str | Sequence[str], batch_size: int | None
    ) -> tuple[list[tuple[int, list[str]]], bool]:
        texts, single = calls.embed_inputs(input)
        return calls.batches(texts, batch_size or self.config.embed_batch_size), single

    @staticmethod
    def _checked_vectors(response: EmbedResponse, expected: int) -> list[Vector]:
        if len(response.embeddings) != expected:
            raise InvalidResponseError(
                f"asked for {expected} embeddings, the server returned {len(response.embeddings)}"
            )
        return response.embeddings

    def _health_report(
        self, started: float, version: str | None, models: int | None, error: OllamaError | None
    ) -> HealthStatus:
        return self.health.report(
            latency=perf_counter() - started, version=version, models=models, error=error
        )


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
    def _run(self, call: Call[T], *, retry: bool = True) -> T:
        try:
            return self._transport.request(call, retry=retry)
        except ModelNotFoundError as error:
            self._suggest(error)
            raise

    def _stream(self, call: Call[Any]) -> Iterator[Any]:
        try:
            yield from self._transport.stream(call)
        except ModelNotFoundError as error:
            self._suggest(error)
            raise

    def _suggest(self, error: ModelNotFoundError) -> None:
        if error.model and not error.suggestions:
            try:
                names = [m.name for m in self._run(calls.list_models(), retry=False)]
            except OllamaError:
                return
            error.suggestions = closest_models(names, error.model)

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
        vectors = [v for offset, batch in parts for v in self._embed_batch(offset, batch, model, kwargs)]
        return vectors[0] if single else vectors

    def _embed_batch(
        self, offset: int, batch: list[str], model: str | None, kwargs: EmbedOptions
    ) -> list[Vector]:
        try:
            response = self._run(calls.embed(self.config, batch, model=model, **kwargs))
        except ContextLengthError as error:
            error.index = offset + (self._overflowing(batch, model, kwargs) if len(batch) > 1 else 0)
            raise
        return self._checked_vectors(response, len(batch))

    def _overflowing(self, batch: list[str], model: str | None, kwargs: EmbedOptions) -> int:
        for i, text in enumerate(batch):
            try:
                self._run(calls.embed(self.config, [text], model=model, **kwargs))
            except ContextLengthError:
                return i
        return 0

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
        calls.show_model(name)  # validates the name before any I/O
        installed = self.list_models()
        found = find_model((m.name for m in installed), name)
        if found is not None:
            return found
        if not pull:
            raise self._missing(name, installed)
        self.pull_model(name, progress=progress)
        return name

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
        started = perf_counter()
        version: str | None = None
        try:
            version = self._run(calls.version(), retry=False)
            return self._health_report(
                started, version, len(self._run(calls.list_models(), retry=False)), None
            )
        except OllamaError as error:
            return self._health_report(started, version, None, error)

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

    async def _run(self, call: Call[T], *, retry: bool = True) -> T:
        try:
            return await self._transport.request(call, retry=retry)
        except ModelNotFoundError as error:
            await self._suggest(error)
            raise

    async def _stream(self, call: Call[Any]) -> AsyncGenerator[Any, None]:
        chunks = self._transport.stream(call)
        try:
            async for chunk in chunks:
                yield chunk
        except ModelNotFoundError as error:
            await self._suggest(error)
            raise
        finally:
            await chunks.aclose()

    async def _suggest(self, error: ModelNotFoundError) -> None:
        if error.model and not error.suggestions:
            try:
                names = [m.name for m in await self._run(calls.list_models(), retry=False)]
            except OllamaError:
                return
            error.suggestions = closest_models(names, error.model)

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
                return await self._embed_batch(offset, batch, model, kwargs)

        results = await asyncio.gather(*(run(offset, batch) for offset, batch in parts))
        vectors = [v for batch_vectors in results for v in batch_vectors]
        return vectors[0] if single else vectors

    async def _embed_batch(
        self, offset: int, batch: list[str], model: str | None, kwargs: EmbedOptions
    ) -> list[Vector]:
        try:
            response = await self._run(calls.embed(self.config, batch, model=model, **kwargs))
        except ContextLengthError as error:
            error.index = offset + (await self._overflowing(batch, model, kwargs) if len(batch) > 1 else 0)
            raise
        return self._checked_vectors(response, len(batch))

    async def _overflowing(self, batch: list[str], model: str | None, kwargs: EmbedOptions) -> int:
        for i, text in enumerate(batch):
            try:
                await self._run(calls.embed(self.config, [text], model=model, **kwargs))
            except ContextLengthError:
                return i
        return 0

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
        calls.show_model(name)
        installed = await self.list_models()
        found = find_model((m.name for m in installed), name)
        if found is not None:
            return found
        if not pull:
            raise self._missing(name, installed)
        await self.pull_model(name, progress=progress)
        return name

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
        started = perf_counter()
        version: str | None = None
        try:
            version = await self._run(calls.version(), retry=False)
            models = await self._run(calls.list_models(), retry=False)
            return self._health_report(started, version, len(models), None)
        except OllamaError as error:
            return self._health_report(started, version, None, error)

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
