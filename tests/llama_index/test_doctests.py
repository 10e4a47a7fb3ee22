"""Run the adapter's doctests under their real dotted names (pyproject's testpaths say why).

Doctests are documentation: they show the bundled recordings' answers on purpose (``docs``).
"""

from __future__ import annotations

import doctest
import importlib

import pytest

pytestmark = pytest.mark.docs

MODULES = [
    "llama_index.llms.ollama_provider.base",
    "llama_index.llms.ollama_provider.messages",
    "llama_index.llms.ollama_provider.model_info",
    "llama_index.llms.ollama_provider.prebuilt",
    "llama_index.llms.ollama_provider.request",
    "llama_index.llms.ollama_provider.responses",
    "llama_index.llms.ollama_provider.structured",
    "llama_index.embeddings.ollama_provider.base",
    "llama_index.embeddings.ollama_provider.providers",
]


@pytest.mark.parametrize("name", MODULES)
def test_module_doctests_pass(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)

    assert result.attempted > 0, f"{name} has no doctest examples"
    assert result.failed == 0
