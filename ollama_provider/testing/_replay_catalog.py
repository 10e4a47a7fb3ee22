"""Decide which recorded answer a replayed request gets (pure logic, no sockets).

:class:`ReplayCatalog` indexes interactions by :class:`~ollama_provider.testing._cassettes.RequestKey` and
turns a request into a :class:`ReplayAnswer`, including the Ollama-shaped answers for requests that
nothing recorded matches. The HTTP server in :mod:`ollama_provider.testing._replay` only writes them out.

>>> from ollama_provider.testing._cassettes import parse_cassette
>>> catalog = ReplayCatalog(parse_cassette('''
... interactions:
... - request: {method: POST, uri: 'http://127.0.0.1:11434/api/generate',
...             body: '{"model": "m:1b", "prompt": "hi", "stream": false}'}
...   response: {status: {code: 200, message: OK}, headers: {content-type: [application/json]},
...              body: {string: '{"response":"hello","done":true}'}}
... version: 1
... '''))
>>> catalog.answer("POST", "/api/generate", b'{"model": "m:1b", "prompt": "hi", "stream": false}').body
b'{"response":"hello","done":true}'
>>> catalog.answer("POST", "/api/generate", b'{"model": "nope", "prompt": "hi"}').body
b'{"error":"model \\'nope\\' not found"}'
>>> catalog.answer("GET", "/api/nothing-here", b"").body
b'404 page not found'
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ._cassettes import (
    MATCHED_BODY_KEYS,
    Interaction,
    RequestKey,
    canonical_json,
    decode_json_object,
    load_cassette_dir,
    normalize_model_name,
    request_key,
    semantic_body,
)

__all__ = ["INFO_PATHS", "OLLAMA_ROUTES", "ReplayAnswer", "ReplayCatalog"]

#: Routes that take no request body and describe the server; any recorded answer will do.
INFO_PATHS: frozenset[str] = frozenset({"/", "/api/version", "/api/tags", "/api/ps", "/api/status"})

#: The native routes of Ollama 0.33 and their methods, so that an unrecorded request on a real
#: route gets a JSON error (or 405) rather than the plain-text "404 page not found".
OLLAMA_ROUTES: Mapping[str, frozenset[str]] = {
    "/": frozenset({"GET", "HEAD"}),
    "/api/version": frozenset({"GET", "HEAD"}),
    "/api/tags": frozenset({"GET", "HEAD"}),
    "/api/ps": frozenset({"GET"}),
    "/api/status": frozenset({"GET"}),
    "/api/generate": frozenset({"POST"}),
    "/api/chat": frozenset({"POST"}),
    "/api/embed": frozenset({"POST"}),
    "/api/embeddings": frozenset({"POST"}),
    "/api/show": frozenset({"POST"}),
    "/api/pull": frozenset({"POST"}),
    "/api/push": frozenset({"POST"}),
    "/api/create": frozenset({"POST"}),
    "/api/copy": frozenset({"POST"}),
    "/api/delete": frozenset({"DELETE"}),
}
# Routes where a model missing from the recordings means "not installed" (404 model not found);
# pull, push, create and copy name models that need not exist yet.
_MODEL_MUST_EXIST = frozenset(
    {"/api/generate", "/api/chat", "/api/embed", "/api/embeddings", "/api/show", "/api/delete"}
)
_BLOB_PREFIX = "/api/blobs/"
_BLOB_METHODS = frozenset({"HEAD", "POST"})

# Headers describing the recorded connection or framing; the server writes its own.
_HOP_HEADERS = frozenset({"content-length", "transfer-encoding", "connection", "date", "keep-alive"})
_JSON = "application/json; charset=utf-8"


@dataclass(frozen=True)
class ReplayAnswer:
    """An HTTP answer ready to be written: status, headers, body and how to frame it.

    ``chunked`` answers are sent with chunked transfer encoding, one :meth:`chunks` item per
    chunk (one NDJSON line per chunk for streams). ``head_length`` is the ``Content-Length``
    to announce for a ``HEAD`` request (the length of the body a ``GET`` would get).
    ``interaction`` is the recording served, ``None`` for a synthesised error.
    """

    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    chunked: bool = False
    head_length: int | None = None
    interaction: Interaction | None = None

    @property
    def content_type(self) -> str | None:
        """The ``Content-Type`` header, if any."""
        return next((v for k, v in self.headers if k.lower() == "content-type"), None)

    @property
    def is_ndjson(self) -> bool:
        """True for a streamed NDJSON answer (``application/x-ndjson``)."""
        return "ndjson" in (self.content_type or "")

    def chunks(self, max_chunk: int = 64 * 1024) -> list[bytes]:
        """Split the body the way it is sent: NDJSON line by line, anything else in slices."""
        if self.is_ndjson:
            return [line for line in self.body.splitlines(keepends=True) if line]
        return [self.body[i : i + max_chunk] for i in range(0, len(self.body), max_chunk)]

    @classmethod
    def from_interaction(cls, interaction: Interaction) -> ReplayAnswer:
        """Replay *interaction*'s response as it was recorded."""
        kept = tuple((k, v) for k, v in interaction.headers if k.lower() not in _HOP_HEADERS)
        recorded_length = interaction.header("content-length")
        return cls(
            status=interaction.status,
            reason=interaction.reason,
            headers=kept,
            body=interaction.body,
            chunked=(interaction.header("transfer-encoding") or "").lower() == "chunked",
            head_length=int(recorded_length) if recorded_length else len(interaction.body),
            interaction=interaction,
        )

    @classmethod
    def json_error(cls, status: int, message: str) -> ReplayAnswer:
        """Ollama's error shape: ``{"error": message}`` as JSON.

        >>> ReplayAnswer.json_error(404, "model 'x' not found").body
        b'{"error":"model \\'x\\' not found"}'
        """
        body = orjson.dumps({"error": message})
        return cls(status, _reason(status), (("content-type", _JSON),), body, head_length=len(body))

    @classmethod
    def text(cls, status: int, text: str, *extra_headers: tuple[str, str]) -> ReplayAnswer:
        """A plain-text answer, as gin writes for unknown routes and wrong methods."""
        body = text.encode("utf-8")
        headers = (("content-type", "text/plain"), *extra_headers)
        return cls(status, _reason(status), headers, body, head_length=len(body))


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _body_without_matched_keys(body: Mapping[str, Any] | None) -> dict[str, Any]:
    """The keys the semantic key ignores, with ``options`` spread as ``options.NAME``."""
    rest: dict[str, Any] = {}
    for key, value in (body or {}).items():
        if key in MATCHED_BODY_KEYS or key == "stream" or value is None:
            continue
        if key == "options" and isinstance(value, dict):
            rest.update({f"options.{name}": v for name, v in value.items() if v is not None})
        else:
            rest[key] = value
    return rest


def _distance(a: Mapping[str, Any], b: Mapping[str, Any]) -> int:
    """How many ignored keys differ between two bodies (a missing key differs from any value)."""
    return sum(1 for key in a.keys() | b.keys() if a.get(key, _MISSING) != b.get(key, _MISSING))


_MISSING = object()


def _model_of(body: Mapping[str, Any] | None) -> str | None:
    if not body:
        return None
    for key in ("model", "name"):  # "name" is Ollama's deprecated alias on show/pull/delete
        value = body.get(key)
        if isinstance(value, str) and value:
            return value
    return None


class ReplayCatalog:
    """All recorded interactions, indexed for replay. Thread-safe.

    Choosing among several recordings with the same key (the same request recorded in many
    cassettes): the recordings are grouped by cassette and one cassette is chosen, preferring
    (1) a recording whose whole body (options included) equals the request's, (2) a cassette that
    answered successfully, (3) the closest ignored keys (``keep_alive``, ``options`` ...), (4) the
    cassette with the fewest interactions (the one dedicated to that request), (5) file order.
    That cassette's matching recordings are then served in recorded order, one per request, and
    the last one keeps being served: a recorded ``503`` then ``200`` replays as a retry would see it.
    """

    def __init__(self, interactions: Iterable[Interaction]) -> None:
        self._interactions = list(interactions)
        self._by_key: dict[RequestKey, list[Interaction]] = {}
        self._by_route: dict[tuple[str, str], list[Interaction]] = {}
        self._methods_by_path: dict[str, set[str]] = {}
        self._cassette_sizes: dict[str, int] = {}
        self._known_models: set[str] = set()
        for interaction in self._interactions:
            key = interaction.key
            self._by_key.setdefault(key, []).append(interaction)
            self._by_route.setdefault((key.method, key.path), []).append(interaction)
            self._methods_by_path.setdefault(key.path, set()).add(key.method)
            self._cassette_sizes[interaction.source] = self._cassette_sizes.get(interaction.source, 0) + 1
            self._learn_models(interaction)
        self._served: dict[tuple[int, ...], int] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_directory(cls, directory: str | Path) -> ReplayCatalog:
        """Index every ``*.yaml`` cassette under *directory* (recursively), or the one cassette file."""
        return cls(load_cassette_dir(directory))

    def __len__(self) -> int:
        return len(self._interactions)

    @property
    def interactions(self) -> list[Interaction]:
        """Every recorded interaction, in load order."""
        return list(self._interactions)

    @property
    def known_models(self) -> frozenset[str]:
        """Normalised names of the models the recordings show as installed."""
        return frozenset(self._known_models)

    def _learn_models(self, interaction: Interaction) -> None:
        # A model is "installed" if a recording answered successfully for it or /api/tags listed it.
        if not 200 <= interaction.status < 300:
            return
        model = _model_of(decode_json_object(interaction.request_body))
        if model and interaction.path != "/api/pull":
            self._known_models.add(normalize_model_name(model))
        if interaction.path == "/api/tags":
            listing = decode_json_object(interaction.body) or {}
            for entry in listing.get("models") or []:
                if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                    self._known_models.add(normalize_model_name(entry["name"]))

    def reset(self) -> None:
        """Forget which recordings were served, so sequences (503 then 200) start over."""
        with self._lock:
            self._served.clear()

    def answer(self, method: str, path: str, body: bytes | str | None) -> ReplayAnswer:
        """The answer for one request (recorded, or an Ollama-shaped error when nothing matches)."""
        method = method.upper()
        lookup_method = method
        if method == "HEAD" and ("HEAD", path) not in self._by_route:
            lookup_method = "GET"  # Ollama answers HEAD like GET without a body
        if path in INFO_PATHS:
            candidates = self._by_route.get((lookup_method, path), [])
        else:
            candidates = self._by_key.get(request_key(lookup_method, path, body), [])
        if candidates:
            return ReplayAnswer.from_interaction(self._next_of(self._choose(candidates, body)))
        return self._unmatched(method, path, body)

    def _choose(self, candidates: list[Interaction], body: bytes | str | None) -> list[Interaction]:
        request_body = decode_json_object(body)
        wanted_whole = canonical_json(request_body) if request_body is not None else None
        wanted_rest = _body_without_matched_keys(request_body)
        by_cassette: dict[str, list[Interaction]] = {}
        for interaction in candidates:
            by_cassette.setdefault(interaction.source, []).append(interaction)

        def rank(source: str) -> tuple[bool, bool, int, int, str]:
            group = by_cassette[source]
            recorded = [decode_json_object(i.request_body) for i in group]
            exact = wanted_whole is not None and any(
                r is not None and canonical_json(r) == wanted_whole for r in recorded
            )
            succeeded = any(200 <= i.status < 300 for i in group)
            closest = min(_distance(wanted_rest, _body_without_matched_keys(r)) for r in recorded)
            return (not exact, not succeeded, closest, self._cassette_sizes[source], source)

        return by_cassette[min(by_cassette, key=rank)]

    def _next_of(self, sequence: list[Interaction]) -> Interaction:
        """Serve *sequence* in recorded order, then keep serving its last recording."""
        ident = tuple(id(i) for i in sequence)
        with self._lock:
            position = self._served.get(ident, 0)
            self._served[ident] = position + 1
        return sequence[min(position, len(sequence) - 1)]

    def _route_methods(self, path: str) -> set[str]:
        methods = set(self._methods_by_path.get(path, set()))
        methods |= OLLAMA_ROUTES.get(path, frozenset())
        if path.startswith(_BLOB_PREFIX):
            methods |= _BLOB_METHODS
        return methods

    def _unmatched(self, method: str, path: str, body: bytes | str | None) -> ReplayAnswer:
        methods = self._route_methods(path)
        if not methods:
            return ReplayAnswer.text(404, "404 page not found")
        if method not in methods and not (method == "HEAD" and "GET" in methods):
            return ReplayAnswer.text(405, "405 method not allowed", ("allow", ", ".join(sorted(methods))))
        if path.startswith(_BLOB_PREFIX) and method == "HEAD":
            return ReplayAnswer(404, "Not Found", (), b"", head_length=0)  # blob absent
        decoded = decode_json_object(body)
        if method in ("POST", "DELETE") and decoded is None:
            raw = body.encode() if isinstance(body, str) else (body or b"")
            if not raw.strip():
                return ReplayAnswer.json_error(400, "missing request body")
        model = _model_of(decoded)
        installed = model is None or normalize_model_name(model) in self._known_models
        if path in _MODEL_MUST_EXIST and model is not None and not installed:
            return ReplayAnswer.json_error(404, f"model '{model}' not found")
        return ReplayAnswer.json_error(404, self._no_recording_message(method, path, decoded, model))

    def _no_recording_message(
        self, method: str, path: str, decoded: Mapping[str, Any] | None, model: str | None
    ) -> str:
        wanted = semantic_body(path, decoded or {})
        same_route = [
            i
            for i in self._by_route.get((method, path), [])
            if model is None or i.key.model == normalize_model_name(model)
        ]
        subject = f"{method} {path}" + (f" for model '{model}'" if model else "")
        message = f"replay: no recording matches {subject}"
        if same_route:
            recorded = (semantic_body(path, decode_json_object(i.request_body) or {}) for i in same_route)
            differing = min((sorted(_differing_keys(wanted, r)) for r in recorded), key=len)
            message += (
                f"; {len(same_route)} recording(s) exist for this route and model, the closest differs in "
                + ", ".join(differing)
            )
        return message + " (replay matches model, messages, prompt, input, tools, format, think, stream)"


def _differing_keys(a: Mapping[str, Any], b: Mapping[str, Any]) -> set[str]:
    return {key for key in a.keys() | b.keys() if a.get(key, _MISSING) != b.get(key, _MISSING)}
