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
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .errors import InvalidRequestError

DEFAULT_HOST = "http://127.0.0.1:11434"
DEFAULT_PORT = 11434
_SCHEME_PORTS = {"http": 80, "https": 443}


def resolve_host(host: str | None = None) -> str:
    """Turn a host as the Ollama CLI accepts it into a base URL (``scheme://host:port[/path]``)."""
    raw = host if host is not None else os.environ.get("OLLAMA_HOST", "")
    raw = raw.strip().strip("\"'").strip()
    if not raw:
        return DEFAULT_HOST
    has_scheme = "://" in raw
    if not has_scheme:
        if raw.count(":") > 1 and not raw.startswith("["):  # a bare IPv6 address such as ::1
            raw = f"[{raw}]"
        raw = "http://" + raw
    parts = urlsplit(raw)
    scheme = parts.scheme.lower()
    if scheme not in _SCHEME_PORTS:
        raise InvalidRequestError(f"unsupported scheme in Ollama host {host!r}: use http or https")
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


@dataclass(frozen=True, slots=True)
class OllamaConfig:
    """Everything the transport needs. All times are seconds.

    ``timeout`` is the per-chunk read timeout: a long answer that keeps streaming never times out, a
    server that stalls does. Loading a large model can make the *first* chunk slow (minutes on a cold
    CPU machine): raise ``timeout`` for such models. ``retries`` counts retries after the first attempt.

    >>> cfg = OllamaConfig(host="localhost:8080", retries=0)
    >>> cfg.base_url, cfg.timeout, cfg.retries
    ('http://localhost:8080', 30.0, 0)
    """

    host: str | None = None
    timeout: float | None = 30.0
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
    trust_env: bool = True
    #: Extra keyword arguments for the httpx clients (``verify``, ``cert``, ``transport``, ...).
    client_kwargs: Mapping[str, Any] = field(default_factory=dict)
    base_url: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_url", resolve_host(self.host))
        if self.retries < 0:
            raise InvalidRequestError("retries must be >= 0")
        if self.timeout is not None and self.timeout <= 0:
            raise InvalidRequestError("timeout must be > 0 seconds (or None for no read timeout)")
        if self.connect_timeout <= 0:
            raise InvalidRequestError("connect_timeout must be > 0 seconds")
        if self.embed_batch_size < 1 or self.embed_concurrency < 1:
            raise InvalidRequestError("embed_batch_size and embed_concurrency must be >= 1")
        if self.max_connections < 1:
            raise InvalidRequestError("max_connections must be >= 1")
