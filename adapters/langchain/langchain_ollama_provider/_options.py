"""Generation settings shared by ``ChatOllama`` and ``OllamaLLM`` (names of ``langchain-ollama``).

Per-call keyword arguments override the instance: ``model.invoke(x, temperature=0.2, max_tokens=5)``.

>>> settings = _GenerationSettings(model="m", temperature=0, max_tokens=10, stop=["\\n"])
>>> request = settings._request_kwargs(None, {"seed": 7, "keep_alive": "1m"})
>>> request["model"], request["options"], request["keep_alive"]
('m', {'num_predict': 10, 'temperature': 0.0, 'seed': 7, 'stop': ['\\n']}, '1m')
"""

from __future__ import annotations

from typing import Any, Literal, cast

from langchain_core.load.serializable import SerializedConstructor, SerializedNotImplemented
from pydantic import AliasChoices, Field, field_validator

from ollama_provider.integrations import normalise_think, without_userinfo

from ._connection import _OllamaConnection, scrub_serialized

#: Fields that are Ollama ``options``; each may also be given per call.
OPTION_FIELDS = (
    "mirostat",
    "mirostat_eta",
    "mirostat_tau",
    "num_ctx",
    "num_gpu",
    "num_thread",
    "num_predict",
    "repeat_last_n",
    "repeat_penalty",
    "temperature",
    "seed",
    "tfs_z",
    "top_k",
    "top_p",
    "min_p",
)
#: Per-call keyword arguments that mean the same as an option field.
OPTION_ALIASES = {"max_tokens": "num_predict"}
#: Per-call keyword arguments LangChain or callers may pass that Ollama has no use for.
IGNORED_KWARGS = ("strict", "parallel_tool_calls", "ls_structured_output_format")


class _GenerationSettings(_OllamaConnection):
    model: str
    """Model name, e.g. ``"llama3.2"`` or ``"qwen2.5:7b"``."""

    reasoning: bool | str | None = None
    """Thinking: ``True``/``False``/``"low"``/``"medium"``/``"high"``; ``None`` leaves it to the server
    (thinking models then think). Returned thinking is always surfaced, separate from the content."""

    validate_model_on_init: bool = False
    """Check at construction that the model is installed (one request; off by default). A missing
    model or an unreachable server raises a ``ValueError`` (pydantic ``ValidationError``), as in
    ``langchain-ollama``; its ``__cause__`` is the core's ``ModelNotFoundError`` /
    ``OllamaConnectionError``."""

    mirostat: int | None = None
    mirostat_eta: float | None = None
    mirostat_tau: float | None = None
    num_ctx: int | None = None
    """Context window in tokens."""
    num_gpu: int | None = None
    num_thread: int | None = None
    num_predict: int | None = Field(default=None, validation_alias=AliasChoices("num_predict", "max_tokens"))
    """Most tokens to generate (alias ``max_tokens``; ``-1`` = until the model stops)."""
    repeat_last_n: int | None = None
    repeat_penalty: float | None = None
    temperature: float | None = None
    seed: int | None = None
    stop: list[str] | None = None
    """Stop sequences (a per-call ``stop`` replaces these)."""
    tfs_z: float | None = None
    top_k: int | None = None
    top_p: float | None = None
    min_p: float | None = None

    format: Literal["", "json"] | dict[str, Any] | None = None
    """``"json"`` or a JSON schema the answer must follow."""

    keep_alive: int | str | None = None
    """How long the model stays loaded after a call (``"5m"``, seconds, ``-1`` = forever, ``0``)."""

    @field_validator("reasoning")
    @classmethod
    def _valid_reasoning(cls, value: bool | str | None) -> bool | str | None:
        return normalise_think(value)  # an InvalidRequestError is a ValueError: pydantic names the field

    # -- identity and serialisation, shared by the chat model and the LLM ----------------------------
    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model": self.model, "base_url": without_userinfo(self.base_url), "reasoning": self.reasoning}

    @classmethod
    def is_lc_serializable(cls) -> bool:
        return True

    def to_json(self) -> SerializedConstructor | SerializedNotImplemented:
        # The framework base class (next in the MRO) serialises; secrets are removed from its result.
        serialized = cast(Any, super()).to_json()
        return cast(SerializedConstructor | SerializedNotImplemented, scrub_serialized(serialized))

    @property
    def max_tokens(self) -> int | None:
        """The standard LangChain name of ``num_predict``."""
        return self.num_predict

    def _options(self, stop: list[str] | None, overrides: dict[str, Any]) -> dict[str, Any]:
        options = {name: getattr(self, name) for name in OPTION_FIELDS}
        for name in list(overrides):
            target = OPTION_ALIASES.get(name, name)
            if target in OPTION_FIELDS:
                options[target] = overrides.pop(name)
        options["stop"] = stop if stop is not None else self.stop
        if not options["stop"]:  # an empty list would replace the model's own stop tokens
            options["stop"] = None
        options.update(overrides.pop("options", None) or {})
        return {k: v for k, v in options.items() if v is not None}

    def _request_kwargs(self, stop: list[str] | None, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Keyword arguments for the core's ``chat``/``generate`` (consumes what it understands)."""
        for name in IGNORED_KWARGS:
            kwargs.pop(name, None)
        request: dict[str, Any] = {
            "model": kwargs.pop("model", None) or self.model,
            "think": kwargs.pop("reasoning", kwargs.pop("think", self.reasoning)),
            "format": kwargs.pop("format", self.format) or None,
            "keep_alive": kwargs.pop("keep_alive", self.keep_alive),
        }
        request["options"] = self._options(stop, kwargs)
        return request

    def _ls_common(self, stop: list[str] | None, kwargs: dict[str, Any]) -> dict[str, Any]:
        params: dict[str, Any] = {
            "ls_provider": "ollama",
            "ls_model_name": kwargs.get("model") or self.model,
        }
        temperature = kwargs.get("temperature", self.temperature)
        if temperature is not None:  # unset is left out, as langchain-core's own default does
            params["ls_temperature"] = temperature
        max_tokens = kwargs.get("max_tokens", kwargs.get("num_predict", self.num_predict))
        if max_tokens is not None:
            params["ls_max_tokens"] = max_tokens
        if ls_stop := stop or kwargs.get("stop") or self.stop:
            params["ls_stop"] = ls_stop
        return params
