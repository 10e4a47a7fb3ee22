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
from .errors import (
    ContextLengthError,
    InvalidResponseError,
    ModelNotFoundError,
    OllamaError,
    OllamaResponseError,
    UnsupportedCapabilityError,
)
from .models import closest_models, find_model
from .types import HealthStatus, ModelInfo, ShowResponse

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


#: What a provider knows of each model's capabilities (by the name the caller used): the set its
#: ``/api/show`` listed, or ``None`` when the server listed none (unknown: the server decides).
Capabilities = dict[str, frozenset[str] | None]

#: How a missing capability reads in the error: what the caller asked that needs it.
_ASKED = {"vision": "images"}


def reported_capabilities(shown: ShowResponse) -> frozenset[str] | None:
    """The capabilities a ``show`` answer lists; ``None`` when it lists none: every model has at least
    ``completion`` or ``embedding``, so an empty list means a server too old to say (before 0.6), not a
    model that can do nothing."""
    return frozenset(shown.capabilities) if shown.capabilities else None


def check_capabilities(call: Call[Any], known: Capabilities) -> Steps[None]:
    """Before sending ``call``, make sure its model has what the call ``needs`` (images: ``vision``).

    Ollama 0.12 answers 200 to an image for a text-only model and drops the image (0.33 refuses it
    with a 400): the caller would never learn that the model did not see it. The model's ``/api/show``
    says, on both releases; it is asked once per provider and model (``known`` caches it) and only
    for calls that need something, so a plain chat costs no extra request. A model the server does
    not know raises :class:`ModelNotFoundError`, as the call itself would; a server that cannot say
    (no capabilities listed, or an error answer to ``show``) leaves the decision to the server.
    """
    model = call.model
    if not call.needs or model is None:
        return
    if model not in known:
        try:
            shown: ShowResponse = yield calls.show_model(model)
        except ModelNotFoundError:
            raise
        except OllamaResponseError:
            return  # not cached: the next call asks again
        known[model] = reported_capabilities(shown)
    capabilities = known[model]
    if capabilities is None:
        return
    missing = [need for need in call.needs if need not in capabilities]
    if missing:
        asked = ", ".join(
            f"{need} ({_ASKED[need]} were given)" if need in _ASKED else need for need in missing
        )
        listed = ", ".join(sorted(capabilities))
        raise UnsupportedCapabilityError(
            f'"{model}" does not support {asked}: its capabilities are {listed} '
            "(from /api/show; the request was not sent)",
            status_code=400,
        )


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
