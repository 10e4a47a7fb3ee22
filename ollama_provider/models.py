"""Model management helpers and the recommended-models table.

>>> installed = ["llama3.2:latest", "qwen2.5:7b", "all-minilm:latest"]
>>> find_model(installed, "LLAMA3.2")
'llama3.2:latest'
>>> closest_models(installed, "qwen2.5:8b")
['qwen2.5:7b']
>>> recommended("qwen2.5:7b").context_length
131072
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

from ._names import canonical_name
from .types import ModelInfo, RunningModel


@dataclass(frozen=True, slots=True)
class RecommendedModel:
    name: str
    parameter_size: str
    context_length: int
    use_case: str


RECOMMENDED_MODELS: tuple[RecommendedModel, ...] = (
    RecommendedModel("qwen2.5:0.5b", "0.5B", 32_768, "fastest; a booster or fallback for simple tasks"),
    RecommendedModel("qwen2.5:3b", "3B", 32_768, "fast local tasks"),
    RecommendedModel("qwen2.5:7b", "7B", 131_072, "general agents"),
    RecommendedModel("qwen2.5:14b", "14B", 131_072, "complex reasoning"),
    RecommendedModel("llama3.2:3b", "3B", 131_072, "tool calling"),
)


def recommended(name: str) -> RecommendedModel | None:
    """The table's entry for ``name`` (any spelling the server would accept), if any."""
    wanted = canonical_name(name)
    return next((m for m in RECOMMENDED_MODELS if canonical_name(m.name) == wanted), None)


def find_model(installed: Iterable[str], name: str) -> str | None:
    """The installed name that the server would use for ``name`` (case-insensitive, ``:latest`` implied)."""
    wanted = canonical_name(name)
    return next((m for m in installed if canonical_name(m) == wanted), None)


def closest_models(installed: Iterable[str], name: str, limit: int = 3) -> list[str]:
    """Installed names close to ``name``, best first: other tags of the same model, then similar names."""
    names = list(installed)
    base_of = {m: canonical_name(m).split(":")[0] for m in names}
    wanted = canonical_name(name).split(":")[0]
    similar = difflib.get_close_matches(wanted, set(base_of.values()), n=limit, cutoff=0.6)
    ranked = sorted(
        (m for m in names if base_of[m] in similar),
        key=lambda m: similar.index(base_of[m]),
    )
    return ranked[:limit]


Listed = TypeVar("Listed", ModelInfo, RunningModel)


def merge_listings(listings: Iterable[tuple[str, list[Listed]]]) -> list[Listed]:
    """The models of several hosts as one list: each model once (the first host's entry), with
    ``hosts`` naming every host that listed it, in the order of the hosts.

    >>> a = ("http://a:11434", [ModelInfo("llama3.2:latest"), ModelInfo("all-minilm:latest")])
    >>> b = ("http://b:11434", [ModelInfo("llama3.2:latest")])
    >>> [(m.name, m.hosts) for m in merge_listings([a, b])]
    [('llama3.2:latest', ['http://a:11434', 'http://b:11434']), ('all-minilm:latest', ['http://a:11434'])]
    """
    merged: dict[str, Listed] = {}
    for host, models in listings:
        for model in models:
            entry = merged.setdefault(canonical_name(model.name), model)
            if host not in entry.hosts:
                entry.hosts.append(host)
    return list(merged.values())
