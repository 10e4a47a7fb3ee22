"""Let ``langchain_core.load.load(..., allowed_objects="all")`` rebuild our classes.

Since langchain-core 1.x, ``load`` only rebuilds classes on its allowlist, which it derives from
``ALL_SERIALIZABLE_MAPPINGS`` in ``langchain_core.load.load`` ("all" = the partner integrations it
knows). A third-party integration is not on that list, so importing this package adds its own
classes to it. ``allowed_objects="core"`` (the default) still refuses them, as it should; and the
package must be imported before ``load`` runs (the allowlist is checked before any import).
"""

from __future__ import annotations

import importlib

_load_module = importlib.import_module("langchain_core.load.load")  # the module, not the function

CLASS_PATHS: tuple[tuple[str, ...], ...] = (
    ("langchain_ollama_provider", "chat_models", "ChatOllama"),
    ("langchain_ollama_provider", "llms", "OllamaLLM"),
)


def register_serializable_classes() -> None:
    """Add our class paths to the "all" allowlist (idempotent)."""
    mappings = getattr(_load_module, "ALL_SERIALIZABLE_MAPPINGS", None)
    if not isinstance(mappings, dict):  # another langchain-core layout: nothing to extend
        return
    for path in CLASS_PATHS:
        mappings.setdefault(path, path)
    # load() caches the allowlist per mode on first use: extend a cache built before our import.
    cache = getattr(_load_module, "_default_class_paths_cache", None)
    if isinstance(cache, dict) and "all" in cache:
        cache["all"].update(CLASS_PATHS)
