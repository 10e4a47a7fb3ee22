"""LlamaIndex response objects built without validation, from values the adapter already knows are valid.

A streamed answer yields a ``ChatResponse`` holding a ``ChatMessage`` holding a ``TextBlock`` per chunk.
Validating the three costs more than the core spends parsing the chunk, and pydantic's
``model_construct`` (its no-validation constructor) is slower still: it runs a Python loop over every
field. ``build`` sets an instance's state the way ``model_construct`` does, in four C-level steps.

That state layout (``__dict__``, ``__pydantic_fields_set__``, ``__pydantic_extra__``,
``__pydantic_private__``) is pydantic 2's documented instance layout, not a promise: on import, each class
is built both ways and compared, and if anything differs (a new pydantic or llama-index-core, a private
attribute or an "extra" setting added to a class) ``build`` validates instead, so the result is always
what the validating constructor gives.

>>> from llama_index.core.base.llms.types import TextBlock
>>> build(TextBlock, {"block_type": "text", "text": "hi"}, {"text"}) == TextBlock(text="hi")
True
"""

from __future__ import annotations

from typing import Any, TypeVar

from llama_index.core.base.llms.types import ChatMessage, ChatResponse, MessageRole, TextBlock, ThinkingBlock
from llama_index.core.bridge.pydantic import BaseModel

ModelT = TypeVar("ModelT", bound=BaseModel)
_set_state = object.__setattr__


def _unvalidated(cls: type[ModelT], values: dict[str, Any], fields_set: set[str]) -> ModelT:
    instance = cls.__new__(cls)
    _set_state(instance, "__dict__", values)
    _set_state(instance, "__pydantic_fields_set__", fields_set)
    _set_state(instance, "__pydantic_extra__", None)
    _set_state(instance, "__pydantic_private__", None)
    return instance


def _validated(cls: type[ModelT], values: dict[str, Any], fields_set: set[str]) -> ModelT:
    return cls(**{name: values[name] for name in fields_set})


def _same(built: BaseModel, validated: BaseModel) -> bool:
    return (
        built == validated
        and built.__dict__ == validated.__dict__
        and built.model_fields_set == validated.model_fields_set
        and built.__pydantic_extra__ == validated.__pydantic_extra__
        and built.__pydantic_private__ == validated.__pydantic_private__
        and built.model_dump() == validated.model_dump()
    )


def _unvalidated_matches() -> bool:
    """Build every class this adapter builds per chunk both ways; True when they are indistinguishable."""
    try:
        text = {"block_type": "text", "text": "hi"}
        thinking: dict[str, Any] = {
            "block_type": "thinking",
            "content": "hm",
            "num_tokens": None,
            "additional_information": {},
        }
        blocks = [_unvalidated(ThinkingBlock, thinking, {"content"}), _unvalidated(TextBlock, text, {"text"})]
        message = {"role": MessageRole.ASSISTANT, "additional_kwargs": {}, "blocks": blocks}
        response = {
            "message": _unvalidated(ChatMessage, message, {"role", "blocks"}),
            "raw": {"done": False},
            "delta": "hi",
            "logprobs": None,
            "additional_kwargs": {"thinking_delta": None},
        }
        cases: list[tuple[type[BaseModel], dict[str, Any], set[str]]] = [
            (TextBlock, text, {"text"}),
            (ThinkingBlock, thinking, {"content"}),
            (ChatMessage, message, {"role", "blocks"}),
            (ChatResponse, response, set(response)),
        ]
        return all(
            _same(_unvalidated(cls, dict(values), set(names)), _validated(cls, values, names))
            for cls, values, names in cases
        )
    except Exception:  # any surprise in pydantic's internals: validate instead
        return False


#: ``build(cls, values, fields_set)``: ``values`` must hold every field of ``cls``; ``fields_set`` names
#: the ones a validating call would have been given. Values are taken as they are, unchecked.
build = _unvalidated if _unvalidated_matches() else _validated
UNVALIDATED = build is _unvalidated
