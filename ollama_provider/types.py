"""Typed requests and responses of the Ollama API.

Plain slotted dataclasses: cheap to build per stream chunk, easy to read, and comparable in tests.
Chunks of a stream have the same type as the whole response (``ChatResponse``, ``GenerateResponse``).

>>> from ollama_provider.types import Message, ToolCall, ToolCallFunction
>>> call = ToolCall(ToolCallFunction("get_weather", {"city": "Paris"}, index=0), id="call_1")
>>> Message("assistant", "", tool_calls=[call]).to_dict()["tool_calls"][0]["function"]["arguments"]
{'city': 'Paris'}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import Any, Literal

Role = Literal["system", "user", "assistant", "tool"]
FinishReason = Literal["stop", "length", "tool_calls", "load", "unload"]
HealthState = Literal["healthy", "degraded", "unhealthy"]

_NS = 1e9


@dataclass(slots=True)
class ToolCallFunction:
    """The function part of a tool call. ``arguments`` is always a dict."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    index: int | None = None


@dataclass(slots=True)
class ToolCall:
    """A tool call as the server returns it; ``id`` is opaque and may be missing."""

    function: ToolCallFunction
    id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        function: dict[str, Any] = {"name": self.function.name, "arguments": self.function.arguments}
        if self.function.index is not None:
            function["index"] = self.function.index
        out: dict[str, Any] = {"function": function}
        if self.id is not None:
            out["id"] = self.id
        return out


@dataclass(slots=True)
class Message:
    """A chat message. ``images`` holds base64 strings once normalised for the wire."""

    role: str
    content: str = ""
    thinking: str | None = None
    images: list[Any] | None = None
    tool_calls: list[ToolCall] | None = None
    tool_name: str | None = None
    tool_call_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.thinking:
            out["thinking"] = self.thinking
        if self.images:
            out["images"] = list(self.images)
        if self.tool_calls:
            out["tool_calls"] = [call.to_dict() for call in self.tool_calls]
        if self.tool_name is not None:
            out["tool_name"] = self.tool_name
        if self.tool_call_id is not None:
            out["tool_call_id"] = self.tool_call_id
        return out


@dataclass(slots=True)
class TokenLogprob:
    """Log probability of one generated token, with its most likely alternatives."""

    token: str
    logprob: float
    bytes: list[int] | None = None
    top_logprobs: list[TokenLogprob] | None = None


@dataclass(slots=True, frozen=True)
class Usage:
    """Token counts of one answer (``prompt_tokens`` counts cached prompt tokens too)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(slots=True, frozen=True)
class Timings:
    """Server-side durations of one answer, in seconds."""

    total: float = 0.0
    load: float = 0.0
    prompt_eval: float = 0.0
    eval: float = 0.0
    eval_count: int = 0

    @property
    def tokens_per_second(self) -> float | None:
        """Generation speed (``eval_count / eval_duration``), ``None`` when nothing was generated."""
        return self.eval_count / self.eval if self.eval > 0 else None


@dataclass(slots=True)
class _Metrics:
    """Fields shared by the final chunk of chat and generate (all omitempty on the wire)."""

    total_duration: int = 0
    load_duration: int = 0
    prompt_eval_count: int = 0
    prompt_eval_duration: int = 0
    eval_count: int = 0
    eval_duration: int = 0

    @property
    def usage(self) -> Usage:
        return Usage(self.prompt_eval_count, self.eval_count)

    @property
    def timings(self) -> Timings:
        return Timings(
            self.total_duration / _NS,
            self.load_duration / _NS,
            self.prompt_eval_duration / _NS,
            self.eval_duration / _NS,
            self.eval_count,
        )


@dataclass(slots=True)
class ChatResponse(_Metrics):
    """A whole chat answer, or one chunk of a streamed one.

    ``finish_reason`` is normalised: ``"tool_calls"`` when the answer called tools, ``"load"`` /
    ``"unload"`` for the model (un)loading answers to an empty request (never an empty answer).
    """

    model: str = ""
    created_at: str = ""
    message: Message = field(default_factory=lambda: Message("assistant"))
    done: bool = False
    done_reason: str | None = None
    finish_reason: FinishReason | None = None
    logprobs: list[TokenLogprob] | None = None


@dataclass(slots=True)
class GenerateResponse(_Metrics):
    """A whole completion, or one chunk of a streamed one."""

    model: str = ""
    created_at: str = ""
    response: str = ""
    thinking: str | None = None
    done: bool = False
    done_reason: str | None = None
    finish_reason: FinishReason | None = None
    context: list[int] | None = None
    tool_calls: list[ToolCall] | None = None
    logprobs: list[TokenLogprob] | None = None


@dataclass(slots=True)
class EmbedResponse:
    """Embeddings of one request; each vector is L2-normalised by the server."""

    model: str
    embeddings: list[list[float]]
    total_duration: int = 0
    load_duration: int = 0
    prompt_eval_count: int = 0


@dataclass(slots=True)
class ModelDetails:
    format: str = ""
    family: str = ""
    families: list[str] | None = None
    parameter_size: str = ""
    quantization_level: str = ""
    parent_model: str = ""
    #: ``None`` when the server does not list it: unknown, not zero. Ollama 0.12's ``/api/tags``
    #: lists neither length; ``show_model(name).context_length`` has it on every release.
    context_length: int | None = None
    embedding_length: int | None = None


@dataclass(slots=True)
class ModelInfo:
    """An installed model, as listed by ``/api/tags``."""

    name: str
    model: str = ""
    modified_at: datetime | None = None
    size: int = 0
    digest: str = ""
    details: ModelDetails = field(default_factory=ModelDetails)
    #: ``None`` when the listing does not say (Ollama 0.12's ``/api/tags``): unknown, not "none".
    #: ``show_model(name).capabilities`` says on every release; :meth:`completed` fills them in.
    capabilities: list[str] | None = None
    #: The base URLs of the servers that have it (several with a pool of hosts); where, not what:
    #: left out of comparisons.
    hosts: list[str] = field(default_factory=list, compare=False)

    def completed(self, shown: ShowResponse) -> ModelInfo:
        """A copy with what the listing left unknown (context and embedding length, capabilities)
        taken from the model's ``show`` answer; what the listing said is kept.

        >>> listed = ModelInfo("smollm2:135m")  # as Ollama 0.12 lists it: no lengths, no capabilities
        >>> shown = ShowResponse(model_info={"general.architecture": "llama", "llama.context_length": 8192,
        ...     "llama.embedding_length": 576}, capabilities=["completion", "tools"])
        >>> full = listed.completed(shown)
        >>> full.details.context_length, full.details.embedding_length, full.capabilities
        (8192, 576, ['completion', 'tools'])
        """
        details = self.details
        embedding = details.embedding_length
        if embedding is None:
            value = shown.model_info.get(f"{shown.model_info.get('general.architecture')}.embedding_length")
            embedding = int(value) if isinstance(value, (int, float)) else shown.details.embedding_length
        return replace(
            self,
            details=replace(
                details,
                context_length=details.context_length
                if details.context_length is not None
                else shown.context_length,
                embedding_length=embedding,
            ),
            capabilities=self.capabilities if self.capabilities is not None else (shown.capabilities or None),
        )


@dataclass(slots=True)
class RunningModel:
    """A model loaded in memory, as listed by ``/api/ps``."""

    name: str
    model: str = ""
    size: int = 0
    size_vram: int = 0
    digest: str = ""
    details: ModelDetails = field(default_factory=ModelDetails)
    expires_at: datetime | None = None
    context_length: int | None = None
    #: The base URLs of the servers that have it loaded (several with a pool of hosts).
    hosts: list[str] = field(default_factory=list, compare=False)


@dataclass(slots=True)
class ShowResponse:
    """Details of one model (``/api/show``)."""

    modelfile: str = ""
    parameters: str = ""
    template: str = ""
    system: str = ""
    license: str = ""
    details: ModelDetails = field(default_factory=ModelDetails)
    model_info: dict[str, Any] = field(default_factory=dict)
    #: Empty only when the server does not list them (before Ollama 0.6): every model has at least
    #: ``completion`` or ``embedding``, so an empty list means unknown.
    capabilities: list[str] = field(default_factory=list)
    modified_at: datetime | None = None
    messages: list[Message] | None = None

    @property
    def context_length(self) -> int | None:
        """The model's training context, from ``model_info`` (``<arch>.context_length``)."""
        arch = self.model_info.get("general.architecture")
        value = self.model_info.get(f"{arch}.context_length") if arch else None
        if value is None:
            value = next((v for k, v in self.model_info.items() if k.endswith(".context_length")), None)
        return int(value) if isinstance(value, (int, float)) else self.details.context_length

    @property
    def parameter_values(self) -> dict[str, list[str]]:
        """``parameters`` (a text of ``key  value`` lines) as a dict of lists (``stop`` repeats)."""
        values: dict[str, list[str]] = {}
        for line in self.parameters.splitlines():
            key, _, value = line.strip().partition(" ")
            if key:
                values.setdefault(key, []).append(value.strip().strip('"'))
        return values


@dataclass(slots=True)
class ProgressResponse:
    """One progress line of pull, push or create. ``percent`` is of the current layer."""

    status: str
    digest: str | None = None
    total: int | None = None
    completed: int | None = None
    #: The server this update comes from (a pull or create acts on every host of a pool).
    host: str | None = field(default=None, compare=False)

    @property
    def percent(self) -> float | None:
        if not self.total:
            return None
        return 100.0 * (self.completed or 0) / self.total


PullProgress = ProgressResponse


@dataclass(slots=True, frozen=True)
class HealthStatus:
    """The result of :meth:`OllamaProvider.check_health` (never raises; a failure is a status).

    With several hosts it sums them up (``healthy``: all up, ``degraded``: some, ``unhealthy``:
    none) and :attr:`hosts` holds the status of each; a single host's :attr:`hosts` is ``[itself]``.
    """

    status: HealthState
    host: str
    latency: float | None = None
    version: str | None = None
    models: int | None = None
    last_error: str | None = None
    consecutive_failures: int = 0
    checked_at: datetime | None = None
    #: The status of each host of a pool (empty for a single host: see :attr:`hosts`).
    per_host: list[HealthStatus] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return self.status == "healthy"

    @property
    def hosts(self) -> list[HealthStatus]:
        """The status of every host: each has ``.host`` (its base URL) and ``.healthy``."""
        return list(self.per_host) if self.per_host else [self]


@dataclass(slots=True)
class Options:
    """Typed model options; ``extra`` passes anything else through. ``None`` values are not sent.

    >>> Options(temperature=0, num_ctx=4096, extra={"draft_num_predict": 2}).to_dict()
    {'temperature': 0, 'num_ctx': 4096, 'draft_num_predict': 2}
    """

    temperature: float | None = None
    top_k: int | None = None
    top_p: float | None = None
    min_p: float | None = None
    typical_p: float | None = None
    repeat_penalty: float | None = None
    repeat_last_n: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    seed: int | None = None
    stop: list[str] | None = None
    num_ctx: int | None = None
    num_predict: int | None = None
    num_keep: int | None = None
    num_batch: int | None = None
    num_gpu: int | None = None
    main_gpu: int | None = None
    num_thread: int | None = None
    use_mmap: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        out.update(self.extra)
        return {k: v for k, v in out.items() if v is not None}

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Options:
        known = {f.name for f in fields(cls)} - {"extra"}
        return cls(
            **{k: v for k, v in values.items() if k in known},
            extra={k: v for k, v in values.items() if k not in known},
        )
