"""Configuration: where the server is, how long to wait, how often to retry.

Host resolution follows the Ollama CLI's ``OLLAMA_HOST`` rules (explicit argument > ``OLLAMA_HOST`` >
``http://127.0.0.1:11434``):

>>> resolve_host("example.com")
'http://example.com:11434'
>>> resolve_host("https://example.com/ollama")
'https://example.com:443/ollama'
>>> resolve_host("0.0.0.0:8080")
'http://127.0.0.1:8080'
>>> resolve_host("[::1]")
'http://[::1]:11434'

Several servers are a comma-separated list (or a list), each entry in any of those forms:

>>> resolve_hosts("gpu-1,gpu-2:8080")
('http://gpu-1:11434', 'http://gpu-2:8080')
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any
from urllib.parse import urlsplit

from ._secrets import basic_auth, redact_url, redacted
from .errors import InvalidRequestError

DEFAULT_HOST = "http://127.0.0.1:11434"
DEFAULT_PORT = 11434
#: How long a request may wait for its first chunk by default: a queue on the server (another
#: client's generation, ``OLLAMA_NUM_PARALLEL``) or a cold model load (``OLLAMA_LOAD_TIMEOUT`` is 5m).
DEFAULT_FIRST_CHUNK_TIMEOUT = 300.0
#: How long a pool's housekeeping request (a host's model lists, a probe) may take: these answer in
#: milliseconds on a working server, busy or not, so a host silent for this long is unwell.
DEFAULT_PROBE_TIMEOUT = 2.0
#: Seconds over which a host back from ejection grows from a tenth of a share to a full one.
DEFAULT_SLOW_START = 10.0
#: The hedging delay that follows each host's observed latency (its 95th percentile).
HEDGE_AT_P95 = "p95"
_SCHEME_PORTS = {"http": 80, "https": 443}


def resolve_host(host: str | None = None) -> str:
    """Turn a host as the Ollama CLI accepts it into a base URL (``scheme://host:port[/path]``)."""
    raw = host if host is not None else os.environ.get("OLLAMA_HOST", "")
    raw = raw.strip().strip("\"'").strip()
    if not raw:
        return DEFAULT_HOST
    has_scheme = "://" in raw
    if not has_scheme:
        userinfo, at, address = raw.rpartition("@")
        if address.count(":") > 1 and not address.startswith("["):  # a bare IPv6 address such as ::1
            address = f"[{address}]"
        raw = f"http://{userinfo}{at}{address}"
    try:
        parts = urlsplit(raw)
    except ValueError as error:  # e.g. "[not-an-ip]", "[::1"
        raise InvalidRequestError(f"malformed Ollama host {redact_url(raw)!r}: {error}") from None
    scheme = parts.scheme.lower()
    if scheme not in _SCHEME_PORTS:
        raise InvalidRequestError(f"unsupported scheme in Ollama host {redact_url(raw)!r}: use http or https")
    hostname = parts.hostname or ""
    if hostname == "ollama.com":
        scheme = "https"
    try:
        port = parts.port
    except ValueError:  # out of range or not a number: the CLI falls back to the default
        port = None
    if port is None:
        port = _SCHEME_PORTS[scheme] if has_scheme or hostname == "ollama.com" else DEFAULT_PORT
    if hostname in ("", "0.0.0.0"):
        hostname = "127.0.0.1"
    elif hostname == "::":
        hostname = "::1"
    if ":" in hostname:
        hostname = f"[{hostname}]"
    path = parts.path.rstrip("/")
    return f"{scheme}://{hostname}:{port}{path}"


_NUMBER = (int, float)
#: What each field takes (``None`` listed where it is allowed): checked first, so a wrong type
#: gets a TypeError naming the field instead of a failure deep inside the transport.
_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "host": (str, type(None)),
    "hosts": (str, Sequence, type(None)),
    "timeout": (*_NUMBER, type(None)),
    "first_chunk_timeout": (*_NUMBER, type(None)),
    "connect_timeout": _NUMBER,
    "retries": (int,),
    "backoff_base": _NUMBER,
    "backoff_max": _NUMBER,
    "max_connections": (int,),
    "max_keepalive_connections": (int,),
    "headers": (Mapping,),
    "keep_alive": (str, *_NUMBER, type(None)),
    "model": (str, type(None)),
    "embed_batch_size": (int,),
    "embed_concurrency": (int,),
    "max_in_flight_per_host": (int, type(None)),
    "probe_timeout": _NUMBER,
    "slow_start": _NUMBER,
    "hedge_after": (*_NUMBER, str, type(None)),
    "trust_env": (bool,),
    "client_kwargs": (Mapping,),
}
#: Fields whose values may hold credentials: reprs and errors show them redacted (see secrets.py).
_SECRET_FIELDS = frozenset({"host", "hosts", "headers", "client_kwargs"})
_INT_MINIMUMS = {
    "retries": 0,
    "max_connections": 1,
    "max_keepalive_connections": 0,
    "embed_batch_size": 1,
    "embed_concurrency": 1,
    "max_in_flight_per_host": 1,
}


def _check_types(config: OllamaConfig) -> None:
    for name, types in _FIELD_TYPES.items():
        value = getattr(config, name)
        if isinstance(value, types) and (bool in types or not isinstance(value, bool)):
            continue
        expected = " or ".join("None" if t is type(None) else t.__name__ for t in types)
        shown = "" if name in _SECRET_FIELDS else f": {value!r}"  # its value may hold a credential
        raise TypeError(f"OllamaConfig {name} must be {expected}, not {type(value).__name__}{shown}")


def resolve_hosts(hosts: str | Sequence[str] | None = None) -> tuple[str, ...]:
    """The base URLs of one or several servers: a comma-separated string, a list, or ``None``
    (``OLLAMA_HOST``, itself possibly a list, else the default). Duplicates are dropped, order kept."""
    if hosts is None:
        hosts = os.environ.get("OLLAMA_HOST", "")
    if isinstance(hosts, str):
        entries = hosts.split(",") if "," in hosts else [hosts]
    elif isinstance(hosts, Sequence):
        entries = list(hosts)
    else:
        raise TypeError(f"hosts must be a string or a list of strings, not {type(hosts).__name__}")
    urls: dict[str, None] = {}
    for entry in entries:
        if not isinstance(entry, str):
            raise TypeError(f"each host must be a string, not {type(entry).__name__}")
        if "," in entry or (not entry.strip() and len(entries) > 1):
            raise InvalidRequestError(
                f"empty or malformed entry {redact_url(entry)!r} in the hosts {redact_url(hosts)!r}"
            )
        urls[resolve_host(entry)] = None
    if not urls:
        raise InvalidRequestError("hosts is empty: give at least one Ollama server")
    return tuple(urls)


@dataclass(frozen=True, slots=True)
class OllamaConfig:
    """Everything the transport needs. All times are seconds.

    ``timeout`` is the read timeout between chunks: a long answer that keeps streaming never times
    out, a server that stalls does. The *first* chunk of a chat, generate or embed gets
    ``first_chunk_timeout`` instead, as given (below ``timeout`` too): before it, the request may wait
    in the server's queue behind other clients' generations, or for the model to load (minutes on a
    cold CPU machine), and a non-streamed answer arrives only when it is complete. ``retries``
    counts retries after the first attempt.

    ``hosts`` (or a ``host`` holding commas) names several servers: requests are routed to one that is
    up and has the model, failing over to the next before the first chunk (see the README's "Scaling
    out"); a host that sends nothing within ``first_chunk_timeout`` is one the request leaves, like a
    host that refuses connections. ``max_in_flight_per_host`` caps the requests sent to each server
    at once; ``probe_timeout`` bounds the pool's own requests about a host (model lists, probes);
    ``slow_start`` is how long a host back from an outage takes to get a full share again;
    ``hedge_after`` (seconds, or ``"p95"``: each host's observed 95th percentile) sends a second copy
    of a short request that is safe to repeat (embed, show, version) to another host when the first
    has not answered by then. A host's ``user:password@`` (a reverse proxy's credentials) is sent as
    a Basic ``Authorization`` header, unless ``headers`` has one; it never shows in a repr, a log or
    an error.

    >>> cfg = OllamaConfig(host="localhost:8080", retries=0)
    >>> cfg.base_url, cfg.timeout, cfg.retries
    ('http://localhost:8080', 30.0, 0)
    >>> OllamaConfig(hosts=["gpu-1", "gpu-2"]).base_urls
    ('http://gpu-1:11434', 'http://gpu-2:11434')
    >>> proxied = OllamaConfig(host="https://me:pw@proxy.example/ollama")
    >>> proxied.base_url, proxied.request_headers
    ('https://proxy.example:443/ollama', {'Authorization': 'Basic bWU6cHc='})
    """

    host: str | None = None
    hosts: Sequence[str] | str | None = None
    timeout: float | None = 30.0
    first_chunk_timeout: float | None = DEFAULT_FIRST_CHUNK_TIMEOUT
    connect_timeout: float = 5.0
    retries: int = 3
    backoff_base: float = 0.5
    backoff_max: float = 8.0
    max_connections: int = 32
    max_keepalive_connections: int = 16
    headers: Mapping[str, str] = field(default_factory=dict)
    keep_alive: str | float | None = None
    model: str | None = None
    embed_batch_size: int = 256
    embed_concurrency: int = 4
    max_in_flight_per_host: int | None = None
    probe_timeout: float = DEFAULT_PROBE_TIMEOUT
    slow_start: float = DEFAULT_SLOW_START
    hedge_after: float | str | None = None
    trust_env: bool = True
    #: Extra keyword arguments for the httpx clients (``verify``, ``cert``, ``transport``, ...).
    client_kwargs: Mapping[str, Any] = field(default_factory=dict)
    #: Read-only: every server's base URL, resolved (one entry for a single host).
    base_urls: tuple[str, ...] = field(init=False)
    #: Read-only: the base URL (the comma-joined base URLs when there are several servers).
    base_url: str = field(init=False)
    #: Read-only: what every request carries: ``headers``, and the Basic ``Authorization`` of a
    #: host's ``user:password@`` where ``headers`` has none.
    request_headers: Mapping[str, str] = field(init=False)

    def __post_init__(self) -> None:
        _check_types(self)
        if self.hosts is not None and self.host is not None:
            raise InvalidRequestError("give either host or hosts, not both")
        hosts = self.hosts if self.hosts is not None else self.host
        if hosts is None:
            hosts = os.environ.get("OLLAMA_HOST", "")
        urls = resolve_hosts(hosts)
        object.__setattr__(self, "base_urls", urls)
        object.__setattr__(self, "base_url", ",".join(urls))
        # A host's user:password@ is Basic auth (a reverse proxy's), unless a header says otherwise.
        given = dict(self.headers)
        overridden = any(str(name).lower() == "authorization" for name in given)
        object.__setattr__(self, "request_headers", given if overridden else {**basic_auth(hosts), **given})
        for name in ("timeout", "first_chunk_timeout", "connect_timeout", "probe_timeout"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise InvalidRequestError(f"{name} must be > 0 seconds (or None for no limit), not {value!r}")
        if self.slow_start < 0:
            raise InvalidRequestError(f"slow_start must be >= 0 seconds (0: none), not {self.slow_start!r}")
        hedge = self.hedge_after
        if (isinstance(hedge, str) and hedge != HEDGE_AT_P95) or (
            not isinstance(hedge, (str, type(None))) and hedge <= 0
        ):
            raise InvalidRequestError(
                f"hedge_after must be > 0 seconds, {HEDGE_AT_P95!r} or None (no hedging), not {hedge!r}"
            )
        for name, least in _INT_MINIMUMS.items():
            value = getattr(self, name)
            if value is not None and value < least:
                raise InvalidRequestError(f"{name} must be >= {least}, not {value!r}")

    def __repr__(self) -> str:
        # Headers, client keyword arguments and a host's user:password@ never show (names do).
        shown = []
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name in ("headers", "request_headers", "client_kwargs"):
                text = repr(redacted(value))
            elif item.name in ("host", "hosts") and isinstance(value, str):
                text = repr(redact_url(value))
            elif item.name == "hosts" and value is not None:
                text = str(redact_url(value))
            else:
                text = repr(value)
            shown.append(f"{item.name}={text}")
        return f"OllamaConfig({', '.join(shown)})"

    def for_host(self, base_url: str) -> OllamaConfig:
        """This configuration for one of its servers."""
        return replace(self, host=base_url, hosts=None, headers=self.request_headers)

    def first_read_timeout(self) -> float | None:
        """The read timeout for the first chunk of a request that may wait for the model:
        ``first_chunk_timeout`` as given, whatever ``timeout`` is (``None``: no limit)."""
        return self.first_chunk_timeout
