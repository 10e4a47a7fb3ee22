"""What ``LLMMetadata`` needs to know about a model, read once from ``/api/show`` and cached.

The context window is the model's own ``num_ctx`` parameter when its Modelfile sets one (that is what
the server uses), else its training context (``<arch>.context_length``). When ``/api/show`` cannot be
reached the recommended-models table, then LlamaIndex's default, stand in, and a warning is logged:
``metadata`` is read deep inside LlamaIndex pipelines, where an exception would not help anyone; the
chat call that follows reports the real problem.

>>> from ollama_provider import ShowResponse
>>> show = ShowResponse(parameters='num_ctx  2048', capabilities=["completion", "tools"])
>>> facts = ModelFacts.from_show(show)
>>> facts.context_window, facts.supports_tools
(2048, True)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from llama_index.core.constants import DEFAULT_CONTEXT_WINDOW

from ollama_provider import OllamaError, ShowResponse
from ollama_provider.models import recommended

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelFacts:
    context_window: int
    capabilities: frozenset[str] = field(default_factory=frozenset)
    #: False when the facts are a fallback because ``/api/show`` failed.
    from_server: bool = True

    @property
    def supports_tools(self) -> bool:
        return "tools" in self.capabilities

    @classmethod
    def from_show(cls, show: ShowResponse) -> ModelFacts:
        num_ctx = show.parameter_values.get("num_ctx")
        context = int(num_ctx[-1]) if num_ctx and num_ctx[-1].isdigit() else show.context_length
        return cls(context or DEFAULT_CONTEXT_WINDOW, frozenset(show.capabilities))

    @classmethod
    def fallback(cls, model: str, error: OllamaError) -> ModelFacts:
        known = recommended(model)
        context = known.context_length if known else DEFAULT_CONTEXT_WINDOW
        logger.warning(
            "could not read the details of Ollama model %r (%s); assuming a %d-token context window "
            "and tool support. Set context_window= to choose one.",
            model,
            error,
            context,
        )
        # Tools assumed: the official integration does, and a model without them answers with a
        # clear 400 ("does not support tools") that the core turns into UnsupportedCapabilityError.
        return cls(context, frozenset({"completion", "tools"}), from_server=False)
