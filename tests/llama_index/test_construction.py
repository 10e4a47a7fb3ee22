"""Ollama built from plain arguments skips re-validation: the result must be what validation gives."""

from __future__ import annotations

from typing import Any

import pytest
from llama_index.core.bridge.pydantic import ValidationError
from llama_index.core.callbacks import CallbackManager, LlamaDebugHandler
from llama_index.llms.ollama_provider import Ollama
from llama_index.llms.ollama_provider.base import _FAST_CONSTRUCTION

from ollama_provider import OllamaProvider

PLAIN_CASES: list[dict[str, Any]] = [
    {"model": "llama3.2"},
    {"model": "llama3.2", "base_url": "http://gpu:11434", "request_timeout": 300.0, "temperature": 0.0},
    {"model": "qwen3", "thinking": "high", "keep_alive": "5m", "context_window": 8192, "json_mode": True},
    {
        "model": "qwen3",
        "thinking": False,
        "keep_alive": 30.0,
        "is_function_calling_model": True,
        "retries": 0,
    },
    {"model": "m", "request_timeout": None, "prompt_key": "p", "is_function_calling_model": False},
]


def _validated(**arguments: Any) -> Ollama:
    """What pydantic validation builds, bypassing the fast path."""

    class Validated(Ollama):  # a subclass always takes the validating path
        pass

    instance: Ollama = Validated(**arguments)
    instance.__class__ = Ollama
    return instance


def _state(llm: Ollama) -> tuple[dict[str, Any], set[str], Any, Any]:
    fields = {k: v for k, v in llm.__dict__.items() if k != "callback_manager"}
    return fields, set(llm.model_fields_set), llm.__pydantic_extra__, llm.__pydantic_private__


@pytest.mark.parametrize("arguments", PLAIN_CASES)
def test_plain_arguments_give_the_state_validation_gives(arguments: dict[str, Any]) -> None:
    Ollama(model="teach-the-template")
    fast = Ollama(**arguments)

    assert _FAST_CONSTRUCTION.enabled
    assert _state(fast) == _state(_validated(**arguments))
    assert list(fast.__dict__) == list(_validated(**arguments).__dict__)
    assert isinstance(fast.callback_manager, CallbackManager)


def test_each_instance_gets_its_own_mutable_state() -> None:
    first, second = Ollama(model="m"), Ollama(model="m")

    first.additional_kwargs["seed"] = 1
    first.callback_manager.add_handler(LlamaDebugHandler())

    assert second.additional_kwargs == {}
    assert second.callback_manager.handlers == []
    assert first.model_fields_set == second.model_fields_set
    assert first.model_fields_set is not second.model_fields_set


def test_shared_providers_and_client_kwargs_are_kept_on_the_fast_path() -> None:
    provider = OllamaProvider("http://box:1")
    Ollama(model="m")
    llm = Ollama(model="m", provider=provider, client_kwargs={"verify": False})

    assert llm.provider is provider
    assert llm._client_kwargs == {"verify": False}


def test_arguments_that_are_not_plain_are_still_validated() -> None:
    Ollama(model="m")

    assert Ollama(model="m", temperature=1).temperature == 1.0  # int -> float by pydantic
    assert Ollama(model="m", headers={"Authorization": "x"}).headers == {"Authorization": "x"}
    assert Ollama(model="m", additional_kwargs={"seed": 4}).additional_kwargs == {"seed": 4}
    assert Ollama(model="m", system_prompt="Be brief.").system_prompt == "Be brief."
    with pytest.raises(ValidationError):
        Ollama(model=["not", "a", "name"])  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        Ollama(model="m", thinking="extreme")  # type: ignore[arg-type]


def test_subclasses_take_the_validating_path() -> None:
    class Custom(Ollama):
        extra_setting: int = 3

    assert Custom(model="m").extra_setting == 3
