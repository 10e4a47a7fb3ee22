"""The two providers are twins: every public method has the same parameters in both, and the keywords
of chat / generate / embed are written once (``ChatKeywords`` ...) and are what the request builders take.

A keyword added to one provider only, or to the typed keywords but not to the builder (or the reverse),
fails here.
"""

from __future__ import annotations

import inspect
from typing import Any, get_type_hints

import pytest
from typing_extensions import get_overloads

from ollama_provider import AsyncOllamaProvider, AsyncProvider, OllamaProvider, Options, Provider
from ollama_provider import _calls as calls
from ollama_provider.provider import ChatKeywords, EmbedKeywords, GenerateKeywords

PUBLIC = sorted(
    name for name, member in vars(OllamaProvider).items() if callable(member) and not name.startswith("_")
)


def parameters(function: Any) -> list[tuple[str, Any, Any, Any]]:
    """Name, kind, default and annotation (as written) of each parameter."""
    return [
        (p.name, p.kind, p.default, str(p.annotation).replace("AsyncStream", "Stream"))
        for p in inspect.signature(function).parameters.values()
    ]


@pytest.mark.parametrize("name", PUBLIC)
def test_each_method_has_the_same_parameters_in_both_providers(name: str) -> None:
    sync, asynchronous = getattr(OllamaProvider, name), getattr(AsyncOllamaProvider, name)
    assert inspect.iscoroutinefunction(asynchronous) or inspect.isasyncgenfunction(asynchronous), name
    assert parameters(sync) == parameters(asynchronous)
    assert [parameters(o) for o in get_overloads(sync)] == [
        parameters(o) for o in get_overloads(asynchronous)
    ]


def test_the_async_provider_has_no_method_the_sync_one_lacks() -> None:
    public = {name for name in vars(AsyncOllamaProvider) if not name.startswith("_")}
    assert public - set(PUBLIC) == set()


def builder_keywords(builder: Any) -> set[str]:
    signature = inspect.signature(builder)
    named = {p.name for p in signature.parameters.values() if p.kind is p.KEYWORD_ONLY}
    if any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values()):  # the common sampling options
        named |= {name for name in get_type_hints(Options) if not name.startswith("_")}
    return named


@pytest.mark.parametrize(
    ("keywords", "builder", "own"),
    [
        (ChatKeywords, calls.chat, {"stream"}),
        (GenerateKeywords, calls.generate, {"stream"}),
        (EmbedKeywords, calls.embed, {"batch_size"}),
    ],
    ids=["chat", "generate", "embed"],
)
def test_the_typed_keywords_are_what_the_request_builder_takes(
    keywords: Any, builder: Any, own: set[str]
) -> None:
    typed = set(keywords.__optional_keys__)
    taken = builder_keywords(builder)
    assert typed - taken <= own, f"typed but not taken by the builder: {sorted(typed - taken - own)}"
    named_by_builder = {
        p.name for p in inspect.signature(builder).parameters.values() if p.kind is p.KEYWORD_ONLY
    }
    assert named_by_builder - typed <= own, f"taken but not typed: {sorted(named_by_builder - typed - own)}"


@pytest.mark.parametrize(
    ("protocol", "provider"), [(Provider, OllamaProvider), (AsyncProvider, AsyncOllamaProvider)]
)
def test_the_provider_satisfies_its_protocol_method_by_method(protocol: Any, provider: Any) -> None:
    for name in ("chat", "generate", "embed", "list_models", "show_model", "check_health", "close"):
        wanted = {
            p for p in inspect.signature(getattr(protocol, name)).parameters if p not in ("kwargs", "self")
        }
        offered = inspect.signature(getattr(provider, name)).parameters
        takes_kwargs = any(p.kind is p.VAR_KEYWORD for p in offered.values())
        assert all(p in offered or takes_kwargs for p in wanted), (name, wanted, list(offered))
