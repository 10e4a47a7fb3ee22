"""The public API: :class:`OllamaProvider` (sync) and :class:`AsyncOllamaProvider` (async).

Both have the same methods. Each method builds a call with :mod:`ollama_provider._calls` (shared,
pure) and runs it on its transport; only the running differs.

>>> from ollama_provider import OllamaProvider
>>> provider = OllamaProvider("127.0.0.1:11434", model="llama3.2")  # no I/O until the first call
>>> provider.config.base_url
'http://127.0.0.1:11434'
>>> provider.chat([{"content": "hi"}])
Traceback (most recent call last):
...
ollama_provider.errors.InvalidRequestError: message 0 needs a role (a string such as [...]), not None
>>> provider.close()

The examples of the methods run against :class:`~ollama_provider.testing.ReplayServer`, a local fake
Ollama that answers with the responses a real server gave to the requests recorded under
``cassettes/recorded/api``: each example asks exactly what was recorded and shows what came back.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypedDict, TypeVar, overload

from . import _calls as calls
from . import _steps as steps
from ._health import HealthTracker, summarize
from ._names import canonical_name
from ._payloads import KeepAlive, model_or_default
from ._protocol import Call
from ._steps import adrive, drive
from ._transport import AsyncTransport, SyncTransport
from .config import OllamaConfig, resolve_host
from .errors import (
    IncompleteStreamError,
    InvalidRequestError,
    InvalidResponseError,
    ModelNotFoundError,
    OllamaConnectionError,
    OllamaError,
    OllamaResponseError,
    OllamaTimeoutError,
)
from .models import Listed, merge_listings
from .streams import AsyncStream, Stream
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

if TYPE_CHECKING:  # annotations only: typing_extensions costs import time (typing has them from 3.11),
    # and the pool is imported only by a provider of several hosts
    from typing_extensions import Self, Unpack

    from .pool import AsyncPoolTransport, SyncPoolTransport

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


# The keywords of chat / generate / embed, written once for both providers (``**kwargs: Unpack[...]``
# types every call and completes in editors); ``tests/core/test_provider_signatures.py`` checks that
# they are what the request builders in ``_calls`` take.
class ChatKeywords(GenerationOptions, total=False):
    model: str | None
    tools: Sequence[Any] | None
    format: Any
    think: bool | str | None


class GenerateKeywords(GenerationOptions, total=False):
    model: str | None
    suffix: str | None
    system: str | None
    template: str | None
    raw: bool | None
    images: Sequence[Any] | None
    format: Any
    think: bool | str | None
    context: Sequence[int] | None


class EmbedKeywords(EmbedOptions, total=False):
    model: str | None
    batch_size: int | None


class _ProviderBase:
    """Configuration, health state and what is the same for one or several hosts, shared by both
    providers. A provider pickles and copies as its configuration alone: the copy opens its own
    connections when first used (in another process too)."""

    def __init__(
        self, host: str | Sequence[str] | None = None, *, config: OllamaConfig | None = None, **settings: Any
    ) -> None:
        self.config = _configuration(type(self).__name__, host, config, settings)
        self.health = HealthTracker(self.config.base_url)
        #: Capabilities of the models asked for by calls that need some (``_steps.check_capabilities``).
        self._capabilities: steps.Capabilities = {}

    @property
    def host(self) -> str:
        """The base URL (comma-joined base URLs with several hosts)."""
        return self.config.base_url

    @property
    def hosts(self) -> tuple[str, ...]:
        """Every server's base URL."""
        return self.config.base_urls

    def __repr__(self) -> str:
        return f"{type(self).__name__}(host={self.config.base_url!r}, model={self.config.model!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuilt, (type(self), self.config))

    def __copy__(self) -> Self:
        return type(self)(config=self.config)

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        return type(self)(config=self.config)  # the configuration is immutable: share it

    def _targets(self, host: str | None) -> list[str]:
        """The base URLs a model-management call acts on: ``host`` alone, else every host."""
        if host is None:
            return list(self.config.base_urls)
        url = resolve_host(host)
        if url not in self.config.base_urls:
            raise InvalidRequestError(f"host {host!r} is not one of this provider's hosts ({self.host})")
        return [url]

    def _embed_texts(self, input: str | Sequence[str], model: str | None) -> tuple[list[str], bool]:
        """The texts (and whether one string was given), input and model checked before any I/O."""
        model_or_default(model, self.config.model)
        return calls.embed_inputs(input)

    def _embed_batches(
        self, texts: list[str], batch_size: int | None, hosts: int
    ) -> list[tuple[int, list[str]]]:
        """Batches of at most ``batch_size``; with several hosts, small enough for each to get one."""
        size = batch_size or self.config.embed_batch_size
        if hosts > 1:
            size = min(size, max(1, -(-len(texts) // hosts)))
        return calls.batches(texts, size)

    def _changed(self, url: str) -> None:
        """Models were pulled, created, copied or deleted on ``url``: routing must ask again, and so
        must the capability checks (a name may now stand for another model)."""
        self._capabilities.clear()
        pool = getattr(self._transport, "pool", None)
        if pool is not None:
            pool.forget_lists(pool.host(url))

    def _acted(self, answers: list[tuple[str, Any]], errors: list[OllamaError]) -> None:
        """After a delete or copy on each host: fine if some host did it and the others lacked the
        model; else the first error."""
        for url, _ in answers:
            self._changed(url)
        if errors and not (answers and all(isinstance(e, ModelNotFoundError) for e in errors)):
            raise errors[0]

    def _summary(self, per_host: list[HealthStatus], installed: list[str]) -> HealthStatus:
        pool = self._transport.pool
        for status in per_host:
            if status.status != "unhealthy":  # it answered: it may take traffic again
                pool.restore(pool.host(status.host))
        models = len({canonical_name(name) for name in installed})
        return summarize(self.host, per_host, self.health, models=models)

    _transport: Any


def _merged(answers: list[tuple[str, list[Listed]]], errors: list[OllamaError]) -> list[Listed]:
    """The lists of the hosts that answered, merged; the first error if none answered."""
    if errors and not answers:
        raise errors[0]
    return merge_listings(answers)


def _every_host_has(answers: list[tuple[str, bool]], errors: list[OllamaError]) -> bool:
    for error in errors:
        if not (isinstance(error, OllamaResponseError) and error.status_code == 404):
            raise error
    return not errors


def _rebuilt(cls: Callable[..., T], config: OllamaConfig) -> T:
    return cls(config=config)


def _configuration(
    owner: str, host: Any, config: OllamaConfig | None, settings: dict[str, Any]
) -> OllamaConfig:
    """The configuration from a constructor's arguments, with errors that say what to pass."""
    if isinstance(host, OllamaConfig):  # OllamaProvider(OllamaConfig(...)): the natural first guess
        if config is not None:
            raise TypeError(f"{owner}() got two configurations: pass one, as config=")
        host, config = None, host
    if config is not None and not isinstance(config, OllamaConfig):
        raise TypeError(f"{owner}(config=...) takes an OllamaConfig, not {type(config).__name__}")
    if host is not None and not isinstance(host, str):
        if isinstance(host, Sequence):  # a list of servers
            settings = {**settings, "hosts": host}
            host = None
        else:
            raise TypeError(
                f"{owner}(host=...) takes the server's address as a string (e.g. 'http://127.0.0.1:11434'), "
                f"not {type(host).__name__}; pass a configuration as config=OllamaConfig(...)"
            )
    if config is None:
        return OllamaConfig(host=host, **settings)
    overrides = dict(settings)
    if host is not None:
        overrides.update(host=host, hosts=None)
    elif "hosts" in overrides:
        overrides["host"] = None
    return replace(config, **overrides) if overrides else config


class OllamaProvider(_ProviderBase):
    """Synchronous Ollama client: pooled, retried, typed. Safe to share between threads.

    ``OllamaProvider(host=None, *, model=None, config=None, **settings)``: ``settings`` are
    :class:`OllamaConfig` fields (``timeout``, ``retries``, ``keep_alive``, ...). ``model`` is used by
    the calls that name none; used as a context manager, the provider closes its connections on exit.

    >>> from ollama_provider.testing import ReplayServer
    >>> server = ReplayServer("cassettes/recorded/api").start()
    >>> with OllamaProvider(server.url, model="smollm2:135m") as provider:
    ...     reply = provider.chat(
    ...         [
    ...             {"role": "system", "content": "You are a terse assistant."},
    ...             {"role": "user", "content": "What is the capital of France?"},
    ...         ]
    ...     )
    >>> reply.message.content
    '1. The capital of France is Paris.'
    >>> server.stop()
    """

    def __init__(
        self, host: str | Sequence[str] | None = None, *, config: OllamaConfig | None = None, **settings: Any
    ) -> None:
        super().__init__(host, config=config, **settings)
        self._transport: SyncTransport | SyncPoolTransport
        if len(self.config.base_urls) == 1:
            self._transport = SyncTransport(self.config, self.health)
        else:
            from .pool import SyncPoolTransport

            self._transport = SyncPoolTransport(self.config, self.health)

    # -- running calls -------------------------------------------------------------------------
    def _run(self, call: Call[T], transport: SyncTransport | None = None) -> T:
        if call.needs:  # its show answer's ModelNotFoundError already has its suggestions
            drive(steps.check_capabilities(call, self._capabilities), self._run)
        try:
            return (transport or self._transport).request(call)
        except ModelNotFoundError as error:
            drive(steps.suggest_models(error), self._listed)
            raise

    def _stream(self, call: Call[Any], transport: SyncTransport | None = None) -> Iterator[Any]:
        if call.needs:  # on the first iteration, like the request itself
            drive(steps.check_capabilities(call, self._capabilities), self._run)
        try:
            yield from (transport or self._transport).stream(call)
        except ModelNotFoundError as error:
            drive(steps.suggest_models(error), self._listed)
            raise

    def _on_hosts(
        self, call: Call[T], host: str | None = None
    ) -> tuple[list[tuple[str, T]], list[OllamaError]]:
        """Run ``call`` on every target host: the answers, and the errors of the hosts that failed."""
        answers, errors = [], []
        for url in self._targets(host):
            try:
                answers.append((url, self._run(call, self._transport.transports[url])))
            except OllamaError as error:
                errors.append(error)
        return answers, errors

    def _listed(self, call: Call[list[Listed]]) -> list[Listed]:
        """A list of models (``/api/tags``, ``/api/ps``) of every host, merged."""
        return _merged(*self._on_hosts(call))

    def _progress_on_hosts(
        self,
        call: Call[ProgressResponse],
        host: str | None,
        progress: ProgressCallback | None,
        *,
        resume: bool,
    ) -> Iterator[ProgressResponse]:
        """A pull or create on each target host in turn (a pull resumes after a dropped connection)."""
        for url in self._targets(host):
            transport = self._transport.transports[url]
            attempts = self.config.retries + 1 if resume else 1
            for attempt in range(attempts):
                try:
                    for chunk in self._stream(call, transport):
                        chunk.host = url
                        if progress is not None:
                            progress(chunk)
                        yield chunk
                    break
                except _RESUMABLE:
                    if attempt == attempts - 1:
                        raise
            self._changed(url)

    # -- generation ----------------------------------------------------------------------------
    @overload
    def chat(
        self, messages: Any, *, stream: Literal[False] = False, **kwargs: Unpack[ChatKeywords]
    ) -> ChatResponse: ...
    @overload
    def chat(
        self, messages: Any, *, stream: Literal[True], **kwargs: Unpack[ChatKeywords]
    ) -> Stream[ChatResponse]: ...
    def chat(
        self, messages: Any, *, stream: bool = False, **kwargs: Unpack[ChatKeywords]
    ) -> ChatResponse | Stream[ChatResponse]:
        """Chat with a model. ``messages``: a string, or dicts / :class:`Message` objects.

        ``tools``: JSON-schema dicts, pydantic models or typed, documented functions. ``format``:
        ``"json"``, a JSON schema or a pydantic model class. ``think``: bool or ``"low"``/``"medium"``/
        ``"high"``. With ``stream=True`` returns a :class:`Stream` of chunks (same type); the last chunk
        (``done=True``) carries ``finish_reason``, ``usage`` and ``timings``.

        >>> from ollama_provider.testing import ReplayServer
        >>> server = ReplayServer("cassettes/recorded/api").start(); provider = OllamaProvider(server.url)
        >>> for chunk in provider.chat("Write a haiku about the sea.", model="smollm2:135m", stream=True):
        ...     print(chunk.message.content, end="")
        1. **Sail into the unknown**
        2. **The sea is a mirror**
        3. **A reflection of the soul**
        4. **A reflection of the soul**
        >>> chunk.done, chunk.finish_reason, chunk.usage.total_tokens
        (True, 'stop', 57)

        Structured output, constrained by a JSON schema:

        >>> import json
        >>> person = {
        ...     "type": "object",
        ...     "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        ...     "required": ["name", "age"],
        ... }
        >>> reply = provider.chat(
        ...     "Ada Lovelace was 36. Return her name and age as JSON.", model="smollm2:135m", format=person
        ... )
        >>> json.loads(reply.message.content)  # a 135M model: the shape is guaranteed, the facts are not
        {'name': 'Ada Lovelace', 'age': 35}
        >>> provider.close(); server.stop()
        """
        call = calls.chat(self.config, messages, stream=stream, **kwargs)
        return Stream(self._stream(call)) if stream else self._run(call)

    @overload
    def generate(
        self, prompt: str | None = ..., *, stream: Literal[False] = False, **kwargs: Unpack[GenerateKeywords]
    ) -> GenerateResponse: ...
    @overload
    def generate(
        self, prompt: str | None = ..., *, stream: Literal[True], **kwargs: Unpack[GenerateKeywords]
    ) -> Stream[GenerateResponse]: ...
    def generate(
        self, prompt: str | None = None, *, stream: bool = False, **kwargs: Unpack[GenerateKeywords]
    ) -> GenerateResponse | Stream[GenerateResponse]:
        """Complete a prompt. Keywords: ``suffix``, ``system``, ``template``, ``raw``, ``images``,
        ``format``, ``think``, ``context`` and the :class:`GenerationOptions`. An empty prompt only
        loads the model (``finish_reason == "load"``).

        >>> from ollama_provider.testing import ReplayServer
        >>> server = ReplayServer("cassettes/recorded/api").start(); provider = OllamaProvider(server.url)
        >>> reply = provider.generate(
        ...     "Why is the sky blue? Answer in one sentence.", model="smollm2:135m", num_predict=48
        ... )
        >>> reply.finish_reason  # stopped by num_predict
        'length'
        >>> reply.response.splitlines()[0]
        "1. The sky blue is a result of the Earth's atmosphere scattering sunlight."
        >>> stream = provider.generate(
        ...     "Name three colours of the rainbow.", model="smollm2:135m", stream=True
        ... )
        >>> print("".join(chunk.response for chunk in stream))
        1. Red
        2. Orange
        3. Yellow
        4. Green
        5. Blue
        6. White
        7. Pink
        8. Purple
        >>> provider.close(); server.stop()
        """
        call = calls.generate(self.config, prompt, stream=stream, **kwargs)
        return Stream(self._stream(call)) if stream else self._run(call)

    @overload
    def embed(  # type: ignore[overload-overlap]  # a str is also a Sequence[str]
        self, input: str, **kwargs: Unpack[EmbedKeywords]
    ) -> Vector: ...
    @overload
    def embed(self, input: Sequence[str], **kwargs: Unpack[EmbedKeywords]) -> list[Vector]: ...
    def embed(self, input: str | Sequence[str], **kwargs: Unpack[EmbedKeywords]) -> Vector | list[Vector]:
        """One vector for a string, a list of vectors for a list (sent in batches of ``batch_size``).

        >>> from ollama_provider.testing import ReplayServer
        >>> server = ReplayServer("cassettes/recorded/api").start(); provider = OllamaProvider(server.url)
        >>> vector = provider.embed("The sky is blue.", model="all-minilm:latest")
        >>> len(vector), vector[:3]
        (384, [0.017878471, 0.013507476, 0.042695947])
        >>> texts = ["The sky is blue.", "Grass is green.", "Ollama runs models locally."]
        >>> vectors = provider.embed(texts, model="all-minilm:latest")
        >>> len(vectors), vectors[0] == vector
        (3, True)
        >>> provider.close(); server.stop()
        """
        model, batch_size = kwargs.pop("model", None), kwargs.pop("batch_size", None)
        texts, single = self._embed_texts(input, model)
        spread = self._transport.spread(model or self.config.model) if len(texts) > 1 else 1
        parts = self._embed_batches(texts, batch_size, spread)

        def run(part: tuple[int, list[str]]) -> list[Vector]:
            offset, batch = part
            return drive(steps.embed_batch(self.config, offset, batch, model=model, **kwargs), self._run)

        if spread > 1 and len(parts) > 1:  # several hosts: every one of them embeds at once
            import contextvars
            from concurrent.futures import ThreadPoolExecutor

            # Each batch runs in a copy of the caller's context, as a task would: its current span
            # (OpenTelemetry) is the parent of the batches' spans.
            contexts = [contextvars.copy_context() for _ in parts]
            with ThreadPoolExecutor(min(len(parts), max(spread, self.config.embed_concurrency))) as workers:
                results = list(workers.map(lambda context, part: context.run(run, part), contexts, parts))
        else:
            results = [run(part) for part in parts]
        vectors = [vector for batch_vectors in results for vector in batch_vectors]
        return vectors[0] if single else vectors

    # -- models --------------------------------------------------------------------------------
    def list_models(self) -> list[ModelInfo]:
        """Installed models (``/api/tags``), newest first.

        >>> from ollama_provider.testing import ReplayServer
        >>> server = ReplayServer("cassettes/recorded/api").start(); provider = OllamaProvider(server.url)
        >>> [(model.model, model.details.parameter_size) for model in provider.list_models()]
        [('all-minilm:latest', '22.57M'), ('smollm2-tools-parallel:135m', '134.52M'),
         ('smollm2-think:135m', '134.52M'), ('smollm2-tools:135m', '134.52M'), ('smollm2:135m', '134.52M'),
         ('gemma3:270m', '268.10M')]
        >>> provider.close(); server.stop()
        """
        return self._listed(calls.list_models())

    def list_running(self) -> list[RunningModel]:
        """Models loaded in memory (``/api/ps``).

        >>> from ollama_provider.testing import ReplayServer
        >>> server = ReplayServer("cassettes/recorded/api").start(); provider = OllamaProvider(server.url)
        >>> [(model.name, model.context_length) for model in provider.list_running()]
        [('smollm2:135m', 4096), ('gemma3:270m', 4096)]
        >>> provider.close(); server.stop()
        """
        return self._listed(calls.list_running())

    def show_model(self, name: str, *, verbose: bool | None = None) -> ShowResponse:
        """Details, template, parameters and capabilities of one model.

        >>> from ollama_provider.testing import ReplayServer
        >>> server = ReplayServer("cassettes/recorded/api").start(); provider = OllamaProvider(server.url)
        >>> info = provider.show_model("smollm2:135m")
        >>> info.capabilities, info.context_length, info.details.family, info.details.quantization_level
        (['completion', 'tools'], 8192, 'llama', 'Q4_1')
        >>> provider.close(); server.stop()
        """
        shown = self._run(calls.show_model(name, verbose=verbose))
        self._capabilities[name] = steps.reported_capabilities(shown)  # a later image check needs no request
        return shown

    def delete_model(self, name: str, *, host: str | None = None) -> None:
        """Delete an installed model (from every host that has it, or from ``host``);
        :class:`ModelNotFoundError` when there is none of that name.

        >>> from ollama_provider.testing import ReplayServer
        >>> server = ReplayServer("cassettes/recorded/api").start(); provider = OllamaProvider(server.url)
        >>> provider.copy_model("smollm2:135m", "smollm2-copy:test")
        >>> provider.delete_model("smollm2-copy:test")
        >>> provider.delete_model("smollm2-copy:test")
        Traceback (most recent call last):
        ...
        ollama_provider.errors.ModelNotFoundError: model 'smollm2-copy:test' not found (did you mean: ...)
        >>> provider.close(); server.stop()
        """
        self._acted(*self._on_hosts(calls.delete_model(name), host))

    def copy_model(self, source: str, destination: str, *, host: str | None = None) -> None:
        """Copy the installed model ``source`` under the new name ``destination`` (no download), on
        every host that has it, or on ``host``.

        >>> from ollama_provider.testing import ReplayServer
        >>> server = ReplayServer("cassettes/recorded/api").start(); provider = OllamaProvider(server.url)
        >>> provider.copy_model("smollm2:135m", "smollm2-copy:test")
        >>> provider.delete_model("smollm2-copy:test")  # clean up
        >>> provider.close(); server.stop()
        """
        self._acted(*self._on_hosts(calls.copy_model(source, destination), host))

    @overload
    def pull_model(
        self,
        name: str,
        *,
        host: str | None = ...,
        progress: ProgressCallback | None = ...,
        stream: Literal[False] = False,
        insecure: bool | None = ...,
    ) -> ProgressResponse: ...
    @overload
    def pull_model(
        self,
        name: str,
        *,
        host: str | None = ...,
        progress: ProgressCallback | None = ...,
        stream: Literal[True],
        insecure: bool | None = ...,
    ) -> Stream[ProgressResponse]: ...
    def pull_model(
        self,
        name: str,
        *,
        host: str | None = None,
        progress: ProgressCallback | None = None,
        stream: bool = False,
        insecure: bool | None = None,
    ) -> ProgressResponse | Stream[ProgressResponse]:
        """Download a model (onto every host in turn, or onto ``host``). Calls ``progress`` for each
        update, or with ``stream=True`` yields them (each update's ``host`` says where it comes from).

        A dropped connection is resumed (up to ``retries`` times): Ollama keeps partial downloads.

        >>> from ollama_provider.testing import ReplayServer
        >>> server = ReplayServer("cassettes/recorded/api").start(); provider = OllamaProvider(server.url)
        >>> final = provider.pull_model(
        ...     "127.0.0.1:5000/library/smollm2:135m", insecure=True, progress=lambda step: print(step.status)
        ... )
        pulling manifest
        pulling 941f309b54ca
        pulling bce10c1ae51c
        pulling f02dd72bb242
        pulling 4157c46799c1
        verifying sha256 digest
        writing manifest
        success
        >>> final.status
        'success'
        >>> updates = provider.pull_model("127.0.0.1:5000/library/all-minilm", insecure=True, stream=True)
        >>> [f"{update.percent:.0f}%" for update in updates if update.percent is not None][:4]
        ['29%', '32%', '34%', '37%']

        A registry that cannot be reached fails with the server's own explanation:

        >>> provider.pull_model("qwen2.5:0.5b")
        Traceback (most recent call last):
        ...
        ollama_provider.errors.StreamError: pull model manifest: Get "https://registry.ollama.ai/...": ...
        >>> provider.close(); server.stop()
        """
        chunks = self._progress_on_hosts(
            calls.pull_model(name, insecure=insecure), host, progress, resume=True
        )
        return Stream(chunks) if stream else _last(chunks)

    def push_model(
        self, name: str, *, progress: ProgressCallback | None = None, insecure: bool | None = None
    ) -> ProgressResponse:
        """Upload a model to its registry (``host/namespace/model:tag``).

        >>> from ollama_provider.testing import ReplayServer
        >>> server = ReplayServer("cassettes/recorded/api").start(); provider = OllamaProvider(server.url)
        >>> def show(update):
        ...     if update.percent is not None:
        ...         print(f"{update.status}: {update.percent:.0f}%")
        >>> provider.push_model("127.0.0.1:5000/library/smollm2:135m", insecure=True, progress=show).status
        pushing 941f309b54ca: 24%
        pushing 941f309b54ca: 44%
        pushing 941f309b54ca: 60%
        pushing 941f309b54ca: 79%
        pushing 941f309b54ca: 94%
        pushing 941f309b54ca: 100%
        pushing 941f309b54ca: 100%
        pushing bce10c1ae51c: 100%
        pushing f02dd72bb242: 100%
        pushing 4157c46799c1: 100%
        'success'
        >>> provider.close(); server.stop()
        """
        return _last(self._progress(self._stream(calls.push_model(name, insecure=insecure)), progress))

    def create_model(
        self, name: str, *, host: str | None = None, progress: ProgressCallback | None = None, **spec: Any
    ) -> ProgressResponse:
        """Create a model (on every host in turn, or on ``host``): ``from_=`` an existing one (or
        ``files=``), with ``system``, ``template``, ``parameters``, ``messages``, ``quantize``.

        >>> from ollama_provider.testing import ReplayServer
        >>> server = ReplayServer("cassettes/recorded/api").start(); provider = OllamaProvider(server.url)
        >>> provider.create_model(
        ...     "smollm2-pirate:test",
        ...     from_="smollm2:135m",
        ...     system="You talk like a pirate.",
        ...     parameters={"temperature": 0.2},
        ... ).status
        'success'
        >>> provider.show_model("smollm2-pirate:test").system
        'You talk like a pirate.'
        >>> provider.delete_model("smollm2-pirate:test")
        >>> provider.close(); server.stop()
        """
        return _last(self._progress_on_hosts(calls.create_model(name, **spec), host, progress, resume=False))

    @staticmethod
    def _progress(
        chunks: Iterator[ProgressResponse], progress: ProgressCallback | None
    ) -> Iterator[ProgressResponse]:
        for chunk in chunks:
            if progress is not None:
                progress(chunk)
            yield chunk

    def ensure_model(
        self,
        name: str,
        *,
        pull: bool = False,
        progress: ProgressCallback | None = None,
        insecure: bool | None = None,
    ) -> str:
        """Return the installed name of ``name``; pull it first if missing and ``pull`` is set,
        else raise :class:`ModelNotFoundError` listing the closest installed names. ``insecure``:
        as for :meth:`pull_model` (a registry over plain HTTP, e.g. one on the local network).

        >>> from ollama_provider.testing import ReplayServer
        >>> server = ReplayServer("cassettes/recorded/api").start(); provider = OllamaProvider(server.url)
        >>> provider.ensure_model("all-minilm")  # the name as installed, with its implicit tag
        'all-minilm:latest'
        >>> provider.ensure_model("no-such-model:1b")
        Traceback (most recent call last):
        ...
        ollama_provider.errors.ModelNotFoundError: model 'no-such-model:1b' is not installed on ...
        >>> provider.close(); server.stop()
        """
        found = drive(steps.installed_name(self.config, name, pull=pull), self._listed)
        if found is None:
            self.pull_model(name, progress=progress, insecure=insecure)
        return found or name

    def blob_exists(self, digest: str, *, host: str | None = None) -> bool:
        """Whether the server has a blob (``sha256:<hex>``); with several hosts, whether every one
        has it (or ``host``).

        >>> from ollama_provider.testing import ReplayServer
        >>> server = ReplayServer("cassettes/recorded/api").start(); provider = OllamaProvider(server.url)
        >>> provider.blob_exists("sha256:dc4387e2242164a128615d99e9a0853f3765a6484534cff4c65c381a69234e60")
        True
        >>> provider.blob_exists("sha256:" + "0" * 64)
        False
        >>> provider.close(); server.stop()
        """
        return _every_host_has(*self._on_hosts(calls.blob_exists(digest), host))

    def version(self) -> str:
        """The server's version (``/api/version``).

        >>> from ollama_provider.testing import ReplayServer
        >>> server = ReplayServer("cassettes/recorded/api").start(); provider = OllamaProvider(server.url)
        >>> provider.version()
        '0.33.0-rc2'
        >>> provider.close(); server.stop()
        """
        return self._run(calls.version())

    def request(self, method: str, path: str, json: dict[str, Any] | None = None) -> Any:
        """Any other route, with the same pooling, retries and typed errors. Returns the decoded JSON.

        >>> from ollama_provider.testing import ReplayServer
        >>> server = ReplayServer("cassettes/recorded/api").start(); provider = OllamaProvider(server.url)
        >>> legacy = provider.request(
        ...     "POST", "/api/embeddings", {"model": "all-minilm:latest", "prompt": "The sky is blue."}
        ... )
        >>> list(legacy), len(legacy["embedding"])
        (['embedding'], 384)
        >>> provider.close(); server.stop()
        """
        return self._run(calls.raw_request(method, path, json))

    def check_health(self) -> HealthStatus:
        """Version, model count and latency; never raises (a failure is reported in the status).

        >>> from ollama_provider.testing import ReplayServer
        >>> server = ReplayServer("cassettes/recorded/api").start(); provider = OllamaProvider(server.url)
        >>> health = provider.check_health()
        >>> health.status, health.version, health.models, health.latency > 0
        ('healthy', '0.33.0-rc2', 6, True)
        >>> server.stop()  # nothing answers any more
        >>> health = provider.check_health()
        >>> health.status, health.last_error
        ('unhealthy', 'OllamaConnectionError: cannot connect to Ollama at ... Is Ollama running? ...')
        >>> provider.close()
        """
        if len(self.hosts) == 1:
            return drive(steps.check_health(self.health), self._run)
        installed: list[str] = []
        per_host = [
            drive(steps.check_health(transport.health, installed), transport.request)
            for transport in self._transport.transports.values()
        ]
        return self._summary(per_host, installed)

    # -- lifetime ------------------------------------------------------------------------------
    def close(self) -> None:
        """Close the pooled connections. Idempotent; a later call opens new ones.

        Clients are created by the first call, so closing a provider that never called is free. Prefer
        ``with OllamaProvider(...) as provider:`` (see the class example), which closes on exit.

        >>> provider = OllamaProvider("127.0.0.1:11434")
        >>> provider.close()
        >>> provider.close()
        """
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

    >>> import asyncio
    >>> from ollama_provider.testing import ReplayServer
    >>> server = ReplayServer("cassettes/recorded/api").start()
    >>> async def main():
    ...     async with AsyncOllamaProvider(server.url, model="smollm2:135m") as provider:
    ...         async for chunk in await provider.chat("Write a haiku about the sea.", stream=True):
    ...             print(chunk.message.content, end="")
    >>> asyncio.run(main())
    1. **Sail into the unknown**
    2. **The sea is a mirror**
    3. **A reflection of the soul**
    4. **A reflection of the soul**
    >>> server.stop()
    """

    def __init__(
        self, host: str | Sequence[str] | None = None, *, config: OllamaConfig | None = None, **settings: Any
    ) -> None:
        super().__init__(host, config=config, **settings)
        self._transport: AsyncTransport | AsyncPoolTransport
        if len(self.config.base_urls) == 1:
            self._transport = AsyncTransport(self.config, self.health)
        else:
            from .pool import AsyncPoolTransport

            self._transport = AsyncPoolTransport(self.config, self.health)

    async def _run(self, call: Call[T], transport: AsyncTransport | None = None) -> T:
        if call.needs:  # its show answer's ModelNotFoundError already has its suggestions
            await adrive(steps.check_capabilities(call, self._capabilities), self._run)
        try:
            return await (transport or self._transport).request(call)
        except ModelNotFoundError as error:
            await adrive(steps.suggest_models(error), self._listed)
            raise

    async def _stream(
        self, call: Call[Any], transport: AsyncTransport | None = None
    ) -> AsyncGenerator[Any, None]:
        if call.needs:  # on the first iteration, like the request itself
            await adrive(steps.check_capabilities(call, self._capabilities), self._run)
        chunks = (transport or self._transport).stream(call)
        try:
            async for chunk in chunks:
                yield chunk
        except ModelNotFoundError as error:
            await adrive(steps.suggest_models(error), self._listed)
            raise
        finally:
            await chunks.aclose()

    async def _on_hosts(
        self, call: Call[T], host: str | None = None
    ) -> tuple[list[tuple[str, T]], list[OllamaError]]:
        """See :meth:`OllamaProvider._on_hosts`; the hosts are asked at once."""
        urls = self._targets(host)
        outcomes = await asyncio.gather(
            *(self._run(call, self._transport.transports[url]) for url in urls), return_exceptions=True
        )
        answers, errors = [], []
        for url, outcome in zip(urls, outcomes, strict=True):
            if isinstance(outcome, OllamaError):
                errors.append(outcome)
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                answers.append((url, outcome))
        return answers, errors

    async def _listed(self, call: Call[list[Listed]]) -> list[Listed]:
        return _merged(*await self._on_hosts(call))

    async def _progress_on_hosts(
        self,
        call: Call[ProgressResponse],
        host: str | None,
        progress: ProgressCallback | None,
        *,
        resume: bool,
    ) -> AsyncIterator[ProgressResponse]:
        """See :meth:`OllamaProvider._progress_on_hosts`."""
        for url in self._targets(host):
            transport = self._transport.transports[url]
            attempts = self.config.retries + 1 if resume else 1
            for attempt in range(attempts):
                try:
                    async for chunk in self._stream(call, transport):
                        chunk.host = url
                        if progress is not None:
                            progress(chunk)
                        yield chunk
                    break
                except _RESUMABLE:
                    if attempt == attempts - 1:
                        raise
            self._changed(url)

    @overload
    async def chat(
        self, messages: Any, *, stream: Literal[False] = False, **kwargs: Unpack[ChatKeywords]
    ) -> ChatResponse: ...
    @overload
    async def chat(
        self, messages: Any, *, stream: Literal[True], **kwargs: Unpack[ChatKeywords]
    ) -> AsyncStream[ChatResponse]: ...
    async def chat(
        self, messages: Any, *, stream: bool = False, **kwargs: Unpack[ChatKeywords]
    ) -> ChatResponse | AsyncStream[ChatResponse]:
        """See :meth:`OllamaProvider.chat`.

        >>> import asyncio
        >>> from ollama_provider.testing import ReplayServer
        >>> server = ReplayServer("cassettes/recorded/api").start()
        >>> provider = AsyncOllamaProvider(server.url)
        >>> reply = asyncio.run(
        ...     provider.chat(
        ...         [
        ...             {"role": "system", "content": "You are a terse assistant."},
        ...             {"role": "user", "content": "What is the capital of France?"},
        ...         ],
        ...         model="smollm2:135m",
        ...     )
        ... )
        >>> reply.message.content, reply.finish_reason, reply.usage.total_tokens
        ('1. The capital of France is Paris.', 'stop', 38)

        Streamed structured output: the chunks join into one JSON document.

        >>> import json
        >>> person = {
        ...     "type": "object",
        ...     "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        ...     "required": ["name", "age"],
        ... }
        >>> async def as_json(prompt):
        ...     stream = await provider.chat(prompt, model="smollm2:135m", format=person, stream=True)
        ...     return json.loads("".join([chunk.message.content async for chunk in stream]))
        >>> asyncio.run(as_json("Alan Turing was 41. Return his name and age as JSON."))
        {'name': 'Alan Turing', 'age': 41}
        >>> asyncio.run(provider.close()); server.stop()
        """
        call = calls.chat(self.config, messages, stream=stream, **kwargs)
        if stream:
            return AsyncStream(self._stream(call))
        return await self._run(call)

    @overload
    async def generate(
        self, prompt: str | None = ..., *, stream: Literal[False] = False, **kwargs: Unpack[GenerateKeywords]
    ) -> GenerateResponse: ...
    @overload
    async def generate(
        self, prompt: str | None = ..., *, stream: Literal[True], **kwargs: Unpack[GenerateKeywords]
    ) -> AsyncStream[GenerateResponse]: ...
    async def generate(
        self, prompt: str | None = None, *, stream: bool = False, **kwargs: Unpack[GenerateKeywords]
    ) -> GenerateResponse | AsyncStream[GenerateResponse]:
        """See :meth:`OllamaProvider.generate`.

        >>> import asyncio
        >>> from ollama_provider.testing import ReplayServer
        >>> server = ReplayServer("cassettes/recorded/api").start()
        >>> provider = AsyncOllamaProvider(server.url)
        >>> prompt = "Give a JSON object with keys city and country for Paris."
        >>> reply = asyncio.run(provider.generate(prompt, model="smollm2:135m", format="json"))
        >>> import json
        >>> json.loads(reply.response)
        {'city': 'Paris'}
        >>> asyncio.run(provider.close()); server.stop()
        """
        call = calls.generate(self.config, prompt, stream=stream, **kwargs)
        if stream:
            return AsyncStream(self._stream(call))
        return await self._run(call)

    @overload
    async def embed(  # type: ignore[overload-overlap]  # a str is also a Sequence[str]
        self, input: str, **kwargs: Unpack[EmbedKeywords]
    ) -> Vector: ...
    @overload
    async def embed(self, input: Sequence[str], **kwargs: Unpack[EmbedKeywords]) -> list[Vector]: ...
    async def embed(
        self, input: str | Sequence[str], **kwargs: Unpack[EmbedKeywords]
    ) -> Vector | list[Vector]:
        """See :meth:`OllamaProvider.embed`; batches run concurrently (``embed_concurrency`` at once).

        >>> import asyncio
        >>> from ollama_provider.testing import ReplayServer
        >>> server = ReplayServer("cassettes/recorded/api").start()
        >>> provider = AsyncOllamaProvider(server.url)
        >>> texts = ["The sky is blue.", "Grass is green.", "Ollama runs models locally."]
        >>> vectors = asyncio.run(provider.embed(texts, model="all-minilm:latest"))
        >>> [len(vector) for vector in vectors]
        [384, 384, 384]
        >>> asyncio.run(provider.close()); server.stop()
        """
        model, batch_size = kwargs.pop("model", None), kwargs.pop("batch_size", None)
        texts, single = self._embed_texts(input, model)
        spread = await self._transport.spread(model or self.config.model) if len(texts) > 1 else 1
        parts = self._embed_batches(texts, batch_size, spread)
        gate = asyncio.Semaphore(max(spread, self.config.embed_concurrency))

        async def run(offset: int, batch: list[str]) -> list[Vector]:
            async with gate:
                return await adrive(
                    steps.embed_batch(self.config, offset, batch, model=model, **kwargs), self._run
                )

        results = await asyncio.gather(*(run(offset, batch) for offset, batch in parts))
        vectors = [v for batch_vectors in results for v in batch_vectors]
        return vectors[0] if single else vectors

    async def list_models(self) -> list[ModelInfo]:
        """See :meth:`OllamaProvider.list_models`.

        >>> import asyncio
        >>> from ollama_provider.testing import ReplayServer
        >>> server = ReplayServer("cassettes/recorded/api").start()
        >>> provider = AsyncOllamaProvider(server.url)
        >>> [model.model for model in asyncio.run(provider.list_models())]
        ['all-minilm:latest', 'smollm2-tools-parallel:135m', 'smollm2-think:135m', 'smollm2-tools:135m',
         'smollm2:135m', 'gemma3:270m']
        >>> asyncio.run(provider.close()); server.stop()
        """
        return await self._listed(calls.list_models())

    async def list_running(self) -> list[RunningModel]:
        """See :meth:`OllamaProvider.list_running`.

        >>> import asyncio
        >>> from ollama_provider.testing import ReplayServer
        >>> server = ReplayServer("cassettes/recorded/api").start()
        >>> provider = AsyncOllamaProvider(server.url)
        >>> [model.name for model in asyncio.run(provider.list_running())]
        ['smollm2:135m', 'gemma3:270m']
        >>> asyncio.run(provider.close()); server.stop()
        """
        return await self._listed(calls.list_running())

    async def show_model(self, name: str, *, verbose: bool | None = None) -> ShowResponse:
        """See :meth:`OllamaProvider.show_model`.

        >>> import asyncio
        >>> from ollama_provider.testing import ReplayServer
        >>> server = ReplayServer("cassettes/recorded/api").start()
        >>> provider = AsyncOllamaProvider(server.url)
        >>> info = asyncio.run(provider.show_model("all-minilm:latest"))
        >>> info.capabilities, info.context_length, info.details.family
        (['embedding'], 512, 'bert')
        >>> asyncio.run(provider.close()); server.stop()
        """
        shown = await self._run(calls.show_model(name, verbose=verbose))
        self._capabilities[name] = steps.reported_capabilities(shown)  # a later image check needs no request
        return shown

    async def delete_model(self, name: str, *, host: str | None = None) -> None:
        """See :meth:`OllamaProvider.delete_model`.

        >>> import asyncio
        >>> from ollama_provider.testing import ReplayServer
        >>> server = ReplayServer("cassettes/recorded/api").start()
        >>> provider = AsyncOllamaProvider(server.url)
        >>> asyncio.run(provider.copy_model("smollm2:135m", "smollm2-copy:test"))
        >>> asyncio.run(provider.delete_model("smollm2-copy:test"))
        >>> asyncio.run(provider.delete_model("smollm2-copy:test"))
        Traceback (most recent call last):
        ...
        ollama_provider.errors.ModelNotFoundError: model 'smollm2-copy:test' not found (...)
        >>> asyncio.run(provider.close()); server.stop()
        """
        self._acted(*await self._on_hosts(calls.delete_model(name), host))

    async def copy_model(self, source: str, destination: str, *, host: str | None = None) -> None:
        """See :meth:`OllamaProvider.copy_model`.

        >>> import asyncio
        >>> from ollama_provider.testing import ReplayServer
        >>> server = ReplayServer("cassettes/recorded/api").start()
        >>> provider = AsyncOllamaProvider(server.url)
        >>> async def copy_and_clean_up():
        ...     await provider.copy_model("smollm2:135m", "smollm2-copy:test")
        ...     await provider.delete_model("smollm2-copy:test")
        >>> asyncio.run(copy_and_clean_up())
        >>> asyncio.run(provider.close()); server.stop()
        """
        self._acted(*await self._on_hosts(calls.copy_model(source, destination), host))

    @overload
    async def pull_model(
        self,
        name: str,
        *,
        host: str | None = ...,
        progress: ProgressCallback | None = ...,
        stream: Literal[False] = False,
        insecure: bool | None = ...,
    ) -> ProgressResponse: ...
    @overload
    async def pull_model(
        self,
        name: str,
        *,
        host: str | None = ...,
        progress: ProgressCallback | None = ...,
        stream: Literal[True],
        insecure: bool | None = ...,
    ) -> AsyncStream[ProgressResponse]: ...
    async def pull_model(
        self,
        name: str,
        *,
        host: str | None = None,
        progress: ProgressCallback | None = None,
        stream: bool = False,
        insecure: bool | None = None,
    ) -> ProgressResponse | AsyncStream[ProgressResponse]:
        """See :meth:`OllamaProvider.pull_model`.

        >>> import asyncio
        >>> from ollama_provider.testing import ReplayServer
        >>> server = ReplayServer("cassettes/recorded/api").start()
        >>> provider = AsyncOllamaProvider(server.url)
        >>> async def pull(name):
        ...     updates = await provider.pull_model(name, insecure=True, stream=True)
        ...     async for update in updates:
        ...         print(update.status)
        >>> asyncio.run(pull("127.0.0.1:5000/library/smollm2:135m"))
        pulling manifest
        pulling 941f309b54ca
        pulling bce10c1ae51c
        pulling f02dd72bb242
        pulling 4157c46799c1
        verifying sha256 digest
        writing manifest
        success
        >>> asyncio.run(provider.close()); server.stop()
        """
        chunks = self._progress_on_hosts(
            calls.pull_model(name, insecure=insecure), host, progress, resume=True
        )
        return AsyncStream(chunks) if stream else await _alast(chunks)

    async def push_model(
        self, name: str, *, progress: ProgressCallback | None = None, insecure: bool | None = None
    ) -> ProgressResponse:
        """See :meth:`OllamaProvider.push_model`.

        >>> import asyncio
        >>> from ollama_provider.testing import ReplayServer
        >>> server = ReplayServer("cassettes/recorded/api").start()
        >>> provider = AsyncOllamaProvider(server.url)
        >>> updates = []
        >>> name = "127.0.0.1:5000/library/smollm2:135m"  # a registry on this machine
        >>> asyncio.run(provider.push_model(name, insecure=True, progress=updates.append)).status
        'success'
        >>> updates[0].status, len(updates)
        ('retrieving manifest', 13)
        >>> asyncio.run(provider.close()); server.stop()
        """
        return await _alast(self._progress(self._stream(calls.push_model(name, insecure=insecure)), progress))

    async def create_model(
        self, name: str, *, host: str | None = None, progress: ProgressCallback | None = None, **spec: Any
    ) -> ProgressResponse:
        """See :meth:`OllamaProvider.create_model`.

        >>> import asyncio
        >>> from ollama_provider.testing import ReplayServer
        >>> server = ReplayServer("cassettes/recorded/api").start()
        >>> provider = AsyncOllamaProvider(server.url)
        >>> asyncio.run(
        ...     provider.create_model(
        ...         "smollm2-pirate:test",
        ...         from_="smollm2:135m",
        ...         system="You talk like a pirate.",
        ...         parameters={"temperature": 0.2},
        ...     )
        ... ).status
        'success'
        >>> asyncio.run(provider.delete_model("smollm2-pirate:test"))
        >>> asyncio.run(provider.close()); server.stop()
        """
        call = calls.create_model(name, **spec)
        return await _alast(self._progress_on_hosts(call, host, progress, resume=False))

    @staticmethod
    async def _progress(
        chunks: AsyncIterator[ProgressResponse], progress: ProgressCallback | None
    ) -> AsyncIterator[ProgressResponse]:
        async for chunk in chunks:
            if progress is not None:
                progress(chunk)
            yield chunk

    async def ensure_model(
        self,
        name: str,
        *,
        pull: bool = False,
        progress: ProgressCallback | None = None,
        insecure: bool | None = None,
    ) -> str:
        """See :meth:`OllamaProvider.ensure_model`.

        >>> import asyncio
        >>> from ollama_provider.testing import ReplayServer
        >>> server = ReplayServer("cassettes/recorded/api").start()
        >>> provider = AsyncOllamaProvider(server.url)
        >>> asyncio.run(provider.ensure_model("all-minilm"))
        'all-minilm:latest'
        >>> asyncio.run(provider.close()); server.stop()
        """
        found = await adrive(steps.installed_name(self.config, name, pull=pull), self._listed)
        if found is None:
            await self.pull_model(name, progress=progress, insecure=insecure)
        return found or name

    async def blob_exists(self, digest: str, *, host: str | None = None) -> bool:
        """See :meth:`OllamaProvider.blob_exists`.

        >>> import asyncio
        >>> from ollama_provider.testing import ReplayServer
        >>> server = ReplayServer("cassettes/recorded/api").start()
        >>> provider = AsyncOllamaProvider(server.url)
        >>> asyncio.run(provider.blob_exists("sha256:" + "0" * 64))
        False
        >>> asyncio.run(provider.close()); server.stop()
        """
        return _every_host_has(*await self._on_hosts(calls.blob_exists(digest), host))

    async def version(self) -> str:
        """See :meth:`OllamaProvider.version`.

        >>> import asyncio
        >>> from ollama_provider.testing import ReplayServer
        >>> server = ReplayServer("cassettes/recorded/api").start()
        >>> provider = AsyncOllamaProvider(server.url)
        >>> asyncio.run(provider.version())
        '0.33.0-rc2'
        >>> asyncio.run(provider.close()); server.stop()
        """
        return await self._run(calls.version())

    async def request(self, method: str, path: str, json: dict[str, Any] | None = None) -> Any:
        """See :meth:`OllamaProvider.request`.

        >>> import asyncio
        >>> from ollama_provider.testing import ReplayServer
        >>> server = ReplayServer("cassettes/recorded/api").start()
        >>> provider = AsyncOllamaProvider(server.url)
        >>> asyncio.run(provider.request("GET", "/api/version"))
        {'version': '0.33.0-rc2'}
        >>> asyncio.run(provider.close()); server.stop()
        """
        return await self._run(calls.raw_request(method, path, json))

    async def check_health(self) -> HealthStatus:
        """See :meth:`OllamaProvider.check_health`.

        >>> import asyncio
        >>> from ollama_provider.testing import ReplayServer
        >>> server = ReplayServer("cassettes/recorded/api").start()
        >>> provider = AsyncOllamaProvider(server.url)
        >>> health = asyncio.run(provider.check_health())
        >>> health.healthy, health.version, health.models
        (True, '0.33.0-rc2', 6)
        >>> asyncio.run(provider.close()); server.stop()
        """
        if len(self.hosts) == 1:
            return await adrive(steps.check_health(self.health), self._run)
        installed: list[str] = []
        per_host = await asyncio.gather(
            *(
                adrive(steps.check_health(transport.health, installed), transport.request)
                for transport in self._transport.transports.values()
            )
        )
        return self._summary(list(per_host), installed)

    async def close(self) -> None:
        """Close the pooled connections (awaitable). Idempotent; a later call opens new ones.

        Each event loop's client is also closed when that loop ends (e.g. when ``asyncio.run`` returns).
        Prefer ``async with AsyncOllamaProvider(...) as provider:`` (see the class example).

        >>> import asyncio
        >>> provider = AsyncOllamaProvider("127.0.0.1:11434")
        >>> asyncio.run(provider.close())
        """
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
