"""Load vcrpy cassettes and match requests on what Ollama actually reads from them.

Pure logic with no network I/O and no provider imports: the replay server, the test suite's vcrpy
setup and anyone writing tools around cassettes share it.

Two requests are "the same" for Ollama when they agree on the method, the path and the body keys
that change the answer: ``model``, ``messages``, ``prompt``, ``input``, ``tools``, ``format`` and
``think`` (plus ``stream`` on the routes that stream). Host, port, scheme, headers, ``options`` and
every other body key are ignored, so harmless differences (another seed, a ``keep_alive``, an extra
option the official integrations add) do not break replay.

>>> key = request_key("POST", "http://127.0.0.1:11434/api/chat",
...                   b'{"model": "smollm2:135m", "messages": [], "tools": [], "options": {"seed": 1}}')
>>> key == request_key("POST", "/api/chat", '{"stream": true, "model": "smollm2:135m"}')
True
>>> key.path, key.body
('/api/chat', '{"model":"smollm2:135m","stream":true}')
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import orjson

from .._names import canonical_name

__all__ = [
    "MATCHED_BODY_KEYS",
    "STREAMING_PATHS",
    "Interaction",
    "RequestKey",
    "canonical_json",
    "iter_cassette_files",
    "load_cassette",
    "load_cassette_dir",
    "normalize_model_name",
    "request_key",
    "semantic_body",
    "semantic_body_matcher",
]

#: Body keys that decide what Ollama answers; everything else in a request body is ignored.
MATCHED_BODY_KEYS: tuple[str, ...] = ("model", "messages", "prompt", "input", "tools", "format", "think")

#: Routes whose ``stream`` flag changes the answer (NDJSON vs one JSON object). Elsewhere the
#: server never reads ``stream``, so it is left out of the key there.
STREAMING_PATHS: frozenset[str] = frozenset(
    {"/api/generate", "/api/chat", "/api/pull", "/api/push", "/api/create"}
)

# Values Ollama treats exactly like a missing key (Go zero values / nil slices).
_EMPTY_MEANS_MISSING = frozenset({"tools", "messages", "prompt", "input"})


def canonical_json(value: Any) -> str:
    """Serialise *value* deterministically: sorted keys, no whitespace, UTF-8 kept as is.

    >>> canonical_json({"b": [1, {"d": None, "c": "é"}], "a": True})
    '{"a":true,"b":[1,{"c":"é","d":null}]}'
    """
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode("utf-8")


def normalize_model_name(name: str) -> str:
    """Spell a model name the way Ollama resolves it (see :func:`ollama_provider._names.canonical_name`).

    >>> normalize_model_name("All-MiniLM")
    'all-minilm:latest'
    >>> normalize_model_name("127.0.0.1:5000/library/smollm2")
    '127.0.0.1:5000/library/smollm2:latest'
    """
    name = name.strip()
    return canonical_name(name) if name else name


def _drop_nulls(value: Any) -> Any:
    """Remove ``null`` members recursively: Go decodes ``null`` and a missing key alike."""
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def semantic_body(path: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """Reduce a decoded JSON request body to the keys that decide Ollama's answer.

    ``"tools": []``, ``"prompt": ""``, ``"messages": []`` and ``null`` values count as missing; a
    missing ``stream`` means ``true`` on streaming routes; model names are normalised.

    >>> semantic_body("/api/generate", {"model": "gemma3:270m", "prompt": "hi", "options": {"seed": 1}})
    {'model': 'gemma3:270m', 'prompt': 'hi', 'stream': True}
    >>> semantic_body("/api/embed", {"model": "all-minilm", "input": ["a"], "stream": False, "dimensions": 8})
    {'model': 'all-minilm:latest', 'input': ['a']}
    >>> semantic_body("/api/embed", {"model": "all-minilm", "input": "a"})["input"]
    ['a']
    """
    kept: dict[str, Any] = {}
    for key in MATCHED_BODY_KEYS:
        value = _drop_nulls(body.get(key))
        if value is None or (key in _EMPTY_MEANS_MISSING and value in ("", [])):
            continue
        if key == "model" and isinstance(value, str):
            value = normalize_model_name(value)
        elif key == "input" and isinstance(value, str):
            value = [value]  # Ollama embeds "x" and ["x"] alike
        kept[key] = value
    if path in STREAMING_PATHS:
        stream = body.get("stream")
        kept["stream"] = True if stream is None else bool(stream)
    return kept


@dataclass(frozen=True)
class RequestKey:
    """What identifies a request for replay: method, path and the canonical semantic body.

    ``body`` is the canonical JSON of :func:`semantic_body` for JSON bodies, ``""`` for an empty
    body, and ``sha256:<hex>`` of the raw bytes for a body that is not a JSON object (blob uploads).
    ``model`` repeats the normalised model name (``None`` without one) for error messages.
    """

    method: str
    path: str
    body: str
    model: str | None = field(default=None, compare=False)

    def describe(self) -> str:
        """A one-line human description, used in "no recording matches" messages.

        >>> RequestKey("GET", "/api/tags", "").describe()
        'GET /api/tags'
        """
        return f"{self.method} {self.path}" + (f" {self.body}" if self.body else "")


def _body_bytes(body: bytes | str | None) -> bytes:
    if body is None:
        return b""
    return body.encode("utf-8") if isinstance(body, str) else body


def decode_json_object(body: bytes | str | None) -> dict[str, Any] | None:
    """Decode *body* as a JSON object, or return ``None`` when it is empty or anything else.

    >>> decode_json_object(b'{"a": 1}'), decode_json_object(b"[1]"), decode_json_object(b"x")
    ({'a': 1}, None, None)
    """
    raw = _body_bytes(body)
    if not raw.strip():
        return None
    try:
        decoded = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return decoded if isinstance(decoded, dict) else None


def request_key(method: str, uri_or_path: str, body: bytes | str | None) -> RequestKey:
    """Build the :class:`RequestKey` of one request. *uri_or_path* may be a full URL or a path.

    >>> request_key("get", "http://localhost:11434/api/tags", None)
    RequestKey(method='GET', path='/api/tags', body='', model=None)
    >>> request_key("POST", "/api/blobs/sha256:00", b"\\x00raw").body[:7]
    'sha256:'
    """
    path = urlsplit(uri_or_path).path or "/"
    raw = _body_bytes(body)
    decoded = decode_json_object(raw)
    if decoded is not None:
        semantic = semantic_body(path, decoded)
        model = semantic.get("model")
        return RequestKey(
            method.upper(), path, canonical_json(semantic), model if isinstance(model, str) else None
        )
    if not raw.strip():
        return RequestKey(method.upper(), path, "")
    return RequestKey(method.upper(), path, "sha256:" + hashlib.sha256(raw).hexdigest())


class _VcrRequestLike(Protocol):
    """The part of ``vcr.request.Request`` the matcher reads."""

    @property
    def method(self) -> str: ...

    @property
    def path(self) -> str: ...

    @property
    def body(self) -> Any: ...


def _vcr_body(request: _VcrRequestLike) -> bytes:
    # vcrpy keeps bytes in ``body`` except for file-like or iterator bodies, which it exposes
    # as fresh BytesIO / iterator objects on each access; ``body_bytes`` (vcrpy >= 8) joins them.
    materialised = getattr(request, "body_bytes", None)
    body = materialised if materialised is not None else request.body
    if body is None or isinstance(body, bytes | str):
        return _body_bytes(body)
    if hasattr(body, "read"):
        data = body.read()
        return _body_bytes(data)
    return b"".join(_body_bytes(part) for part in body)


def semantic_body_matcher(r1: _VcrRequestLike, r2: _VcrRequestLike) -> None:
    """vcrpy matcher: raise ``AssertionError`` unless both bodies are semantically equal.

    Register it with ``vcr.register_matcher("semantic_body", semantic_body_matcher)`` and use
    ``match_on=["method", "path", "semantic_body"]``.

    >>> from types import SimpleNamespace as Req
    >>> semantic_body_matcher(Req(method="POST", path="/api/chat", body=b'{"model": "m", "tools": []}'),
    ...                       Req(method="POST", path="/api/chat", body=b'{"model": "m:latest"}'))
    >>> semantic_body_matcher(Req(method="POST", path="/api/chat", body=b'{"model": "m"}'),
    ...                       Req(method="POST", path="/api/chat", body=b'{"model": "n"}'))
    Traceback (most recent call last):
    AssertionError: {"model":"m:latest","stream":true} != {"model":"n:latest","stream":true}
    """
    key1 = request_key(r1.method, r1.path, _vcr_body(r1))
    key2 = request_key(r2.method, r2.path, _vcr_body(r2))
    if key1.body != key2.body:
        raise AssertionError(f"{key1.body} != {key2.body}")


@dataclass(frozen=True)
class Interaction:
    """One recorded request and its answer, as stored in a vcrpy cassette."""

    method: str
    uri: str
    request_body: bytes
    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    source: str = ""
    index: int = 0

    @property
    def key(self) -> RequestKey:
        """The request's :class:`RequestKey`."""
        return request_key(self.method, self.uri, self.request_body)

    @property
    def path(self) -> str:
        """The request path (``/api/chat``), without host or query."""
        return urlsplit(self.uri).path or "/"

    def header(self, name: str) -> str | None:
        """The first response header called *name* (case-insensitive), or ``None``."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)


def _as_bytes(value: Any) -> bytes:
    if value is None:
        return b""
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8")


def _response_body(body: Any) -> bytes:
    # vcrpy stores ``{"string": ...}``; some serialisers write ``{"base64_string": ...}``.
    if isinstance(body, Mapping):
        if "string" in body:
            return _as_bytes(body["string"])
        if "base64_string" in body:
            import base64

            return base64.b64decode(body["base64_string"])
        return b""
    return _as_bytes(body)


def _flatten_headers(headers: Mapping[str, Any] | None) -> tuple[tuple[str, str], ...]:
    pairs: list[tuple[str, str]] = []
    for name, values in (headers or {}).items():
        for value in values if isinstance(values, list) else [values]:
            pairs.append((str(name), str(value)))
    return tuple(pairs)


def parse_cassette(text: str, source: str = "") -> list[Interaction]:
    """Parse the YAML text of a vcrpy cassette (format ``version: 1``).

    >>> text = '''
    ... interactions:
    ... - request: {method: GET, uri: 'http://127.0.0.1:11434/api/version', body: ''}
    ...   response:
    ...     status: {code: 200, message: OK}
    ...     headers: {content-type: [application/json; charset=utf-8]}
    ...     body: {string: '{"version":"0.33.0-rc2"}'}
    ... version: 1
    ... '''
    >>> [(i.method, i.path, i.status, i.body) for i in parse_cassette(text)]
    [('GET', '/api/version', 200, b'{"version":"0.33.0-rc2"}')]
    """
    import yaml  # imported here so that importing this module stays cheap

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = yaml.load(text, Loader=loader)
    if not isinstance(data, Mapping) or data.get("version") != 1:
        raise ValueError(f"{source or 'cassette'}: not a vcrpy cassette with 'version: 1'")
    interactions: list[Interaction] = []
    for index, entry in enumerate(data.get("interactions") or []):
        request, response = entry["request"], entry["response"]
        status = response.get("status") or {}
        interactions.append(
            Interaction(
                method=str(request["method"]).upper(),
                uri=str(request["uri"]),
                request_body=_as_bytes(request.get("body")),
                status=int(status.get("code", 200)),
                reason=str(status.get("message", "")),
                headers=_flatten_headers(response.get("headers")),
                body=_response_body(response.get("body")),
                source=source,
                index=index,
            )
        )
    return interactions


def load_cassette(path: str | Path) -> list[Interaction]:
    """Load every interaction of one vcrpy YAML cassette file, in recorded order."""
    path = Path(path)
    return parse_cassette(path.read_text(encoding="utf-8"), source=str(path))


def iter_cassette_files(directory: str | Path) -> Iterator[Path]:
    """Every ``*.yaml`` file under *directory*, recursively, in a stable (sorted) order."""
    yield from sorted(Path(directory).rglob("*.yaml"))


def load_cassette_dir(directory: str | Path) -> list[Interaction]:
    """Load all cassettes under *directory* (recursively), file by file in sorted order; a path to
    one cassette file loads that file alone (to replay one recorded session and nothing else)."""
    directory = Path(directory)
    if directory.is_file():
        return load_cassette(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"cassette directory not found: {directory}")
    interactions: list[Interaction] = []
    for path in iter_cassette_files(directory):
        interactions.extend(load_cassette(path))
    return interactions


def group_by_key(interactions: Iterable[Interaction]) -> dict[RequestKey, list[Interaction]]:
    """Group interactions by :class:`RequestKey`, keeping recorded order inside each group."""
    groups: dict[RequestKey, list[Interaction]] = {}
    for interaction in interactions:
        groups.setdefault(interaction.key, []).append(interaction)
    return groups

def bundled_recordings() -> Path | None:
    """The recorded Ollama sessions shipped with the repository (``cassettes/recorded``), if found.

    Looked up in ``$OLLAMA_PROVIDER_CASSETTES``, next to the package (a source checkout) and in the
    current directory.

    >>> bundled_recordings().name
    'recorded'
    """
    candidates = [
        os.environ.get("OLLAMA_PROVIDER_CASSETTES"),
        Path(__file__).resolve().parents[2] / "cassettes" / "recorded",
        Path.cwd() / "cassettes" / "recorded",
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return None
