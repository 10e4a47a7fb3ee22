"""Operations that take several requests, written once for both providers.

Each operation is a generator that *yields* the :class:`~ollama_provider._protocol.Call` it needs
next and *receives* its answer (or has the call's error thrown into it). :func:`drive` runs such a
generator with blocking I/O and :func:`adrive` with ``await``: the logic is shared, only the
running differs, as with single calls.

>>> def two_versions():
...     first = yield calls.version()
...     second = yield calls.version()
...     return [first, second]
>>> drive(two_versions(), lambda call: "0.33.0")
['0.33.0', '0.33.0']
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from dataclasses import replace
from time import perf_counter
from typing import Any, TypeVar

from . import _calls as calls
from ._health import HealthTracker
from ._protocol import Call
from .config import OllamaConfig
from .errors import ContextLengthError, InvalidResponseError, ModelNotFoundError, OllamaError
from .models import closest_models, find_model
from .types import HealthStatus, ModelInfo

T = TypeVar("T")
Steps = Generator[Call[Any], Any, T]
Vector = list[float]


def drive(steps: Steps[T], run: Callable[[Call[Any]], Any]) -> T:
    """Run ``steps`` with a blocking ``run(call)``; errors of a call are thrown back into the steps."""
    try:
        call = next(steps)
        while True:
            try:
                answer = run(call)
            except OllamaError as error:
                call = steps.throw(error)
            else:
                call = steps.send(answer)
    except StopIteration as done:
        result: T = done.value
        return result


async def adrive(steps: Steps[T], run: Callable[[Call[Any]], Awaitable[Any]]) -> T:
    """:func:`drive` for an awaitable ``run(call)``."""
    try:
        call = next(steps)
        while True:
            try:
                answer = await run(call)
            except OllamaError as error:
                call = steps.throw(error)
            else:
                call = steps.send(answer)
    except StopIteration as done:
        result: T = done.value
        return result


def probe(call: Call[T]) -> Call[T]:
    """The same call, not retried: for checks whose point is to answer quickly."""
    return replace(call, retry=False)


def suggest_models(error: ModelNotFoundError) -> Steps[None]:
    """Fill ``error.suggestions`` with the closest installed names (best effort, one quick request)."""
    if not error.model or error.suggestions:
        return
    try:
        installed: list[ModelInfo] = yield probe(calls.list_models())
    except OllamaError:
        return
    error.suggestions = closest_models((m.name for m in installed), error.model)


def embed_batch(config: OllamaConfig, offset: int, batch: list[str], **options: Any) -> Steps[list[Vector]]:
    """Embed one batch; when an input overflows the context, find which one and name its index."""
    try:
        response = yield calls.embed(config, batch, **options)
    except ContextLengthError as error:
        error.index = offset
        if len(batch) > 1:  # the server does not say which input: ask for each alone
            for i, text in enumerate(batch):
                try:
                    yield calls.embed(config, [text], **options)
                except ContextLengthError:
                    error.index = offset + i
                    break
        raise error from None
    if len(response.embeddings) != len(batch):
        raise InvalidResponseError(
            f"asked for {len(batch)} embeddings, the server returned {len(response.embeddings)}"
        )
    vectors: list[Vector] = response.embeddings
    return vectors


def installed_name(config: OllamaConfig, name: str, *, pull: bool) -> Steps[str | None]:
    """The installed name of ``name``; ``None`` when it must be pulled; else ModelNotFoundError."""
    calls.show_model(name)  # validates the name before any I/O
    installed: list[ModelInfo] = yield calls.list_models()
    names = [m.name for m in installed]
    found = find_model(names, name)
    if found is not None or pull:
        return found
    raise ModelNotFoundError(
        f"model '{name}' is not installed on {config.base_url}",
        model=name,
        suggestions=closest_models(names, name),
    )


def check_health(health: HealthTracker, installed: list[str] | None = None) -> Steps[HealthStatus]:
    """Version, model count and latency, as a status; a failure is reported, never raised.
    The names of the installed models are added to ``installed`` when it is given."""
    started = perf_counter()
    version: str | None = None
    try:
        version = yield probe(calls.version())
        models: list[ModelInfo] = yield probe(calls.list_models())
    except OllamaError as error:
        return health.report(latency=perf_counter() - started, version=version, models=None, error=error)
    if installed is not None:
        installed.extend(model.name for model in models)
    return health.report(latency=perf_counter() - started, version=version, models=len(models), error=None)
