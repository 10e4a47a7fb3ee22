"""Building an ``Ollama`` from plain arguments without running pydantic validation again.

Validating the ~20 fields of a LlamaIndex LLM (its own and the base classes': callback manager, prompt
functions, program mode...) costs more than everything else in a construction. When every argument is
a plain value that validation would keep as it is (a ``str`` for a ``str`` field, ``None``...), the
result of validation is known in advance: the first such construction is validated as usual and its
state kept as a template; later ones copy the template, put in their own values, and call the default
factories (a fresh ``CallbackManager``, a fresh ``additional_kwargs`` dict) as validation would.

The first fast build is compared with the validated instance (every field, the set of fields given,
private attributes); if they differ in any way (a new pydantic or llama-index-core), every later
construction is validated as before. Subclasses and any argument outside the plain forms below always
take the validating path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from llama_index.core.bridge.pydantic import BaseModel

_set_state = object.__setattr__


_THINKING_LEVELS = ("low", "medium", "high")


def plain_arguments(
    model: Any,
    base_url: Any,
    temperature: Any,
    context_window: Any,
    request_timeout: Any,
    prompt_key: Any,
    json_mode: Any,
    additional_kwargs: Any,
    is_function_calling_model: Any,
    keep_alive: Any,
    thinking: Any,
    headers: Any,
    retries: Any,
) -> bool:
    """True when validation would store every argument exactly as given (``additional_kwargs=None``
    becomes ``{}``). Exact types only: an ``int`` for a ``float`` field, a ``bool`` for an ``int`` one,
    a ``str`` subclass or any dict or headers take the validating path."""
    return (
        type(model) is str
        and (base_url is None or type(base_url) is str)
        and (temperature is None or type(temperature) is float)
        and type(context_window) is int
        and (request_timeout is None or type(request_timeout) is float)
        and type(prompt_key) is str
        and type(json_mode) is bool
        and additional_kwargs is None
        and (is_function_calling_model is None or type(is_function_calling_model) is bool)
        and (keep_alive is None or type(keep_alive) is float or type(keep_alive) is str)
        and (
            thinking is None
            or type(thinking) is bool
            or (type(thinking) is str and thinking in _THINKING_LEVELS)
        )
        and headers is None
        and type(retries) is int
        and retries >= 0  # the field's constraint: a negative count takes the validating path
    )


class FastConstruction:
    """Per class: the template state, learned from the first validated construction of plain arguments."""

    def __init__(self, cls: type[BaseModel]) -> None:
        self.cls = cls
        self.state: dict[str, Any] | None = None
        self.fields_set: set[str] = set()
        self.factories: dict[str, Callable[[], Any]] = {}
        self.enabled = True

    def ready_for(self, instance: BaseModel) -> bool:
        """Fast builds apply to the class itself (a subclass may add fields or validators)."""
        return self.enabled and type(instance) is self.cls

    def build(self, instance: BaseModel, values: dict[str, Any], private: dict[str, Any]) -> bool:
        """Set ``instance``'s state from the template; False when there is no template yet."""
        if self.state is None:
            return False
        state = {**self.state, **values}
        for name, factory in self.factories.items():
            state[name] = factory()
        _set_state(instance, "__dict__", state)
        _set_state(instance, "__pydantic_fields_set__", set(self.fields_set))
        _set_state(instance, "__pydantic_extra__", None)
        _set_state(instance, "__pydantic_private__", private)
        return True

    def learn(self, validated: BaseModel, values: dict[str, Any], private: dict[str, Any]) -> None:
        """Keep ``validated`` (built from plain ``values``) as the template, if a fast build matches it."""
        if self.state is not None or not self.enabled:
            return
        fields = type(validated).model_fields
        self.factories = {
            name: info.default_factory  # type: ignore[misc]  # factories here take no arguments
            for name, info in fields.items()
            if info.default_factory is not None and name not in values
        }
        self.state = dict(validated.__dict__)
        self.fields_set = set(validated.model_fields_set)
        copy = self.cls.__new__(self.cls)
        self.build(copy, values, dict(private))
        self.enabled = _same_state(copy, validated)
        if not self.enabled:
            self.state = None


def _same_state(built: BaseModel, validated: BaseModel) -> bool:
    try:
        ours, theirs = dict(built.__dict__), dict(validated.__dict__)
        fresh = [name for name, info in type(validated).model_fields.items() if info.default_factory]
        for name in fresh:  # freshly made objects (e.g. a CallbackManager) are equal by type and content
            a, b = ours.pop(name, None), theirs.pop(name, None)
            if type(a) is not type(b) or getattr(a, "__dict__", a) != getattr(b, "__dict__", b):
                return False
        return (
            ours == theirs
            and list(built.__dict__) == list(validated.__dict__)
            and built.model_fields_set == validated.model_fields_set
            and built.__pydantic_extra__ == validated.__pydantic_extra__
            and built.__pydantic_private__ == validated.__pydantic_private__
        )
    except Exception:  # anything unexpected: validate every time
        return False
