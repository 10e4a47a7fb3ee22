"""Per-call keyword arguments of a LlamaIndex chat -> the keyword arguments of the core's ``chat``.

LlamaIndex passes ``tools``, ``format``, ``think`` and ``llm_kwargs`` through ``**kwargs``. Known
core keywords are passed on; model options (``num_predict``, ``seed``, ``stop``...) are merged into
``options`` over the LLM's own; anything else is dropped (LlamaIndex components sometimes pass
arguments meant for other providers, e.g. ``tool_choice``) with a debug log.

>>> build_chat_kwargs({"think": False, "num_predict": 8, "tool_choice": "auto"},
...                   options={"temperature": 0.0}, thinking=True, json_mode=False, keep_alive=None)
{'tools': None, 'format': None, 'think': False, 'options': {'temperature': 0.0, 'num_predict': 8}}
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from typing import Any

from ollama_provider import Options

logger = logging.getLogger(__name__)

_CORE_KEYWORDS = ("keep_alive", "logprobs", "top_logprobs")
_OPTION_NAMES = frozenset(f.name for f in dataclasses.fields(Options)) - {"extra"}


def build_chat_kwargs(
    call_kwargs: Mapping[str, Any],
    *,
    options: Mapping[str, Any],
    thinking: bool | str | None,
    json_mode: bool,
    keep_alive: float | str | None,
) -> dict[str, Any]:
    """``call_kwargs`` win over the LLM's settings; ``think=False`` per call is honoured."""
    extra = dict(call_kwargs)
    merged_options = {k: v for k, v in options.items() if v is not None}
    merged_options.update(extra.pop("options", None) or {})
    out: dict[str, Any] = {
        "tools": extra.pop("tools", None),
        "format": extra.pop("format", "json" if json_mode else None),
        "think": extra.pop("think", thinking),
    }
    if keep_alive is not None:
        out["keep_alive"] = keep_alive
    for key in _CORE_KEYWORDS:
        if key in extra:
            out[key] = extra.pop(key)
    for key in [k for k in extra if k in _OPTION_NAMES]:
        merged_options[key] = extra.pop(key)
    if extra:
        logger.debug("ignoring chat arguments Ollama does not take: %s", sorted(extra))
    out["options"] = merged_options
    return out
