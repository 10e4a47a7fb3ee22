"""Where the server is and how to reach it: the settings every LangChain class shares.

The adapter never builds an HTTP client itself. It turns these settings into an
:class:`~ollama_provider.OllamaConfig` and lets the core own pooling, retries and timeouts.
Providers are built on first use and cached on the instance, so constructing a model is cheap
(no client, no I/O) and one async provider serves every event loop (the core keeps one HTTP
client per loop).

>>> settings = _OllamaConnection(base_url="http://user:secret@gpu-box:8080", max_retries=0)
>>> config = settings._config(asynchronous=False)
>>> config.base_url, config.retries, dict(config.request_headers)["Authorization"].startswith("Basic ")
('http://gpu-box:8080', 0, True)
>>> settings._sync_provider is None  # nothing built until a call needs it
True
"""

from __future__ import annotations

import os
from typing import Any, cast

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from ollama_provider import (
    AsyncOllamaProvider,
    ModelNotFoundError,
    OllamaConfig,
    OllamaConnectionError,
    OllamaError,
    OllamaProvider,
    OllamaTimeoutError,
)
from ollama_provider.config import DEFAULT_FIRST_CHUNK_TIMEOUT, DEFAULT_HOST, resolve_hosts
from ollama_provider.integrations import built_once, redact_url, redacted, without_userinfo

#: Constructor arguments that may carry credentials: never written by ``dumpd``/``dumps``.
SECRET_FIELDS = ("headers", "client_kwargs", "sync_client_kwargs", "async_client_kwargs")


def _host_from_env() -> str | None:
    return os.environ.get("OLLAMA_HOST") or None


def scrub_serialized(serialized: Any) -> Any:
    """A ``to_json()`` result without what may hold credentials (headers, client kwargs, userinfo)."""
    kwargs = serialized.get("kwargs")
    if isinstance(kwargs, dict):
        for name in SECRET_FIELDS:
            kwargs.pop(name, None)
        if kwargs.get("base_url"):
            kwargs["base_url"] = without_userinfo(kwargs["base_url"])
    return serialized


def _ollama_cause(error: ValidationError) -> OllamaError | None:
    """The core error behind a validator's ``ValueError`` (see ``validate_model_on_init``), if any."""
    for detail in error.errors():
        cause = getattr(detail.get("ctx", {}).get("error"), "__cause__", None)
        if isinstance(cause, OllamaError):
            return cause
    return None


def _official_wording(model: str, error: OllamaError) -> str:
    """``langchain-ollama``'s words for a failed ``validate_model_on_init``, then ours."""
    if isinstance(error, ModelNotFoundError):
        return f"Model `{model}` not found in Ollama: {error}"
    if isinstance(error, (OllamaConnectionError, OllamaTimeoutError)):
        return f"Failed to connect to Ollama: {error}"
    return f"Received an error from the Ollama API: {error}"


class _OllamaConnection(BaseModel):
    """Connection settings, named as in the official ``langchain-ollama`` package."""

    model_config = ConfigDict(populate_by_name=True, arbitrary_types_allowed=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if args:  # pydantic would say "BaseModel.__init__() takes 1 positional argument"
            name = type(self).__name__
            raise TypeError(
                f"{name} takes keyword arguments only, e.g. {name}(model='llama3.2', "
                f"base_url='http://127.0.0.1:11434'); got a positional {type(args[0]).__name__}"
            )
        try:
            super().__init__(**kwargs)
        except ValidationError as error:
            # A failed validate_model_on_init is a ValueError (a pydantic ValidationError), as in
            # langchain-ollama; the core's typed error stays reachable as its cause.
            cause = _ollama_cause(error)
            if cause is None:
                raise
            raise error from cause

    base_url: str | list[str] | None = None
    """Ollama's address (``OLLAMA_HOST`` forms accepted; ``http://user:pw@host`` adds Basic auth).
    Several servers, comma-separated or as a list, make a pool: each request goes to one that is up
    and has the model (see the core's ``OllamaConfig.hosts``).
    ``None``: the ``OLLAMA_HOST`` environment variable as it was at construction, else
    ``http://127.0.0.1:11434`` (see :attr:`host`)."""

    client_kwargs: dict[str, Any] | None = Field(default_factory=dict)
    """Extra keyword arguments for the httpx clients (``verify``, ``transport``, ``headers``...)."""

    sync_client_kwargs: dict[str, Any] | None = Field(default_factory=dict)
    """Like ``client_kwargs``, for the synchronous client only."""

    async_client_kwargs: dict[str, Any] | None = Field(default_factory=dict)
    """Like ``client_kwargs``, for the asynchronous client only."""

    headers: dict[str, str] | None = None
    """HTTP headers sent with every request (e.g. a reverse proxy's ``Authorization``)."""

    timeout: float | None = Field(
        default=None, gt=0, validation_alias=AliasChoices("timeout", "request_timeout")
    )
    """Read timeout in seconds, per streamed chunk (alias ``request_timeout``). ``None`` keeps the
    core's default (30 s); raise it for big models whose first token is slow to come."""

    first_chunk_timeout: float | None = Field(default=None, gt=0)
    """Seconds to wait for the first chunk of an answer, as given (also below ``timeout``), while the
    request may sit in a busy server's queue or wait for a model to load. ``None`` keeps the core's
    default (``OllamaConfig.first_chunk_timeout``, 300 s), or ``timeout`` when that is longer."""

    max_retries: int | None = Field(default=None, ge=0)
    """Retries after the first attempt for connection failures and busy servers (core default 3)."""

    # Read at construction like the official client does, so a later change of the environment
    # does not move an existing model to another server.
    _env_host: str | None = PrivateAttr(default_factory=_host_from_env)
    _sync_provider: OllamaProvider | None = PrivateAttr(default=None)
    _async_provider: AsyncOllamaProvider | None = PrivateAttr(default=None)

    def __repr_args__(self) -> Any:
        # repr() and str() (and LangChain's dumps of what it cannot serialise, which embeds the repr)
        # name the headers and client options but never show their values or a URL's user:password@.
        for name, value in super().__repr_args__():
            if name == "base_url" and value:
                value = redact_url(value)
            elif name in SECRET_FIELDS and value:
                value = redacted(value)
            yield name, value

    @property
    def host(self) -> str:
        """The base URL requests go to (``base_url``, else ``OLLAMA_HOST``, else the default); with
        several hosts, their base URLs comma-separated."""
        return ",".join(resolve_hosts(self._hosts()))

    def _hosts(self) -> str:
        hosts = self.base_url or self._env_host or DEFAULT_HOST
        return hosts if isinstance(hosts, str) else ",".join(hosts)

    def _config(self, *, asynchronous: bool) -> OllamaConfig:
        httpx_kwargs = dict(self.client_kwargs or {})
        httpx_kwargs.update((self.async_client_kwargs if asynchronous else self.sync_client_kwargs) or {})
        # A user:password@ in base_url becomes a Basic Authorization header in the core, unless
        # these headers carry one.
        headers = {**dict(httpx_kwargs.pop("headers", None) or {}), **(self.headers or {})}
        settings: dict[str, Any] = {"headers": headers, "client_kwargs": httpx_kwargs}
        if self.timeout is not None:
            settings["timeout"] = self.timeout
        if self.first_chunk_timeout is not None:
            settings["first_chunk_timeout"] = self.first_chunk_timeout
        elif self.timeout is not None and self.timeout > DEFAULT_FIRST_CHUNK_TIMEOUT:
            # A long request_timeout (raised for a slow model) waits that long for the first chunk too.
            settings["first_chunk_timeout"] = self.timeout
        if self.max_retries is not None:
            settings["retries"] = self.max_retries
        return OllamaConfig(host=self._hosts(), **settings)

    def _check_model(self, model: str) -> None:
        """Fail as ``langchain-ollama`` does when the model is missing or the server unreachable: with a
        ``ValueError`` (wrapped by pydantic into a ``ValidationError``), the core's error as its cause."""
        try:
            self.provider.ensure_model(model)
        except OllamaError as error:
            self.provider.close()  # the object is not built: its connections go with it
            self._sync_provider = None
            raise ValueError(_official_wording(model, error)) from error

    @property
    def provider(self) -> OllamaProvider:
        """The synchronous core provider (built on first use, then reused)."""
        # Read through __pydantic_private__: each plain read of a private attribute goes through
        # pydantic's __getattr__ (~2 us), and this runs on every request.
        private = cast("dict[str, Any]", self.__pydantic_private__)
        return built_once(
            private, "_sync_provider", lambda: OllamaProvider(config=self._config(asynchronous=False))
        )

    @property
    def async_provider(self) -> AsyncOllamaProvider:
        """The asynchronous core provider (built on first use; works across event loops)."""
        private = cast("dict[str, Any]", self.__pydantic_private__)
        return built_once(
            private, "_async_provider", lambda: AsyncOllamaProvider(config=self._config(asynchronous=True))
        )
