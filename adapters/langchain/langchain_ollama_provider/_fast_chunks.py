"""Build the plain text chunks of a stream without re-validating what we already know is valid.

A streamed answer is mostly chunks that carry a piece of text (and maybe thinking or logprobs): no
tool calls, no usage, not the last one. Building those through pydantic validation runs
langchain-core's ``AIMessageChunk`` validators (tool-call back-compat, tool-call parsing, the
``ChatGenerationChunk`` text setter), which do nothing for such a chunk but cost about three
quarters of its construction time and are paid once per token. Here the instance is filled with
exactly what validation would have produced: the field values of a validated template, fresh
mutable containers, and the same ``model_fields_set``.

That relies on the layout of a pydantic v2 instance (``__dict__`` plus ``__pydantic_fields_set__``,
``__pydantic_extra__`` and ``__pydantic_private__``). :data:`FAST_CHUNKS` checks at import time that a
chunk built here equals the validated one field for field; if a future langchain-core or pydantic
changes the layout (a new mutable field, private attributes), it is ``False`` and every chunk goes
through validation as before.

>>> chunk = text_chunk("Hello", {}, None)
>>> chunk.text, chunk.message.content, chunk.message.tool_call_chunks, chunk.message.chunk_position
('Hello', 'Hello', [], None)
>>> chunk == validated_text_chunk("Hello", {}, None)
True
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessageChunk
from langchain_core.outputs import ChatGenerationChunk

# Mutable fields that need a fresh container per chunk (all others hold immutable defaults).
_FRESH_LISTS = ("tool_calls", "invalid_tool_calls", "tool_call_chunks")
_FRESH_DICTS = ("response_metadata",)

_new = object.__new__
_set = object.__setattr__


def validated_text_chunk(
    content: str, additional: dict[str, Any], info: dict[str, Any] | None
) -> ChatGenerationChunk:
    """The reference construction (what :func:`text_chunk` must equal)."""
    return ChatGenerationChunk(
        message=AIMessageChunk(
            content=content,
            additional_kwargs=additional,
            tool_call_chunks=[],
            usage_metadata=None,
            chunk_position=None,
        ),
        generation_info=info,
    )


# A validated chunk gives the field values, and the ``model_fields_set`` (the arguments passed, plus
# ``text``, which a validator assigns) that every fast chunk copies.
_TEMPLATE = validated_text_chunk("", {}, None)
_MESSAGE_DEFAULTS = dict(_TEMPLATE.message.__dict__)
_MESSAGE_FIELDS_SET = frozenset(_TEMPLATE.message.model_fields_set)
_GENERATION_DEFAULTS = dict(_TEMPLATE.__dict__)
_GENERATION_FIELDS_SET = frozenset(_TEMPLATE.model_fields_set)


def _fast_text_chunk(
    content: str, additional: dict[str, Any], info: dict[str, Any] | None
) -> ChatGenerationChunk:
    fields = _MESSAGE_DEFAULTS.copy()
    fields["content"] = content
    fields["additional_kwargs"] = additional
    fields["response_metadata"] = {}
    fields["tool_calls"] = []
    fields["invalid_tool_calls"] = []
    fields["tool_call_chunks"] = []
    message = _new(AIMessageChunk)
    _set(message, "__dict__", fields)
    _set(message, "__pydantic_fields_set__", set(_MESSAGE_FIELDS_SET))
    _set(message, "__pydantic_extra__", {})
    _set(message, "__pydantic_private__", None)
    generation_fields = _GENERATION_DEFAULTS.copy()
    generation_fields["message"] = message
    generation_fields["text"] = content
    generation_fields["generation_info"] = info
    generation = _new(ChatGenerationChunk)
    _set(generation, "__dict__", generation_fields)
    _set(generation, "__pydantic_fields_set__", set(_GENERATION_FIELDS_SET))
    _set(generation, "__pydantic_extra__", None)
    _set(generation, "__pydantic_private__", None)
    return generation


def _layout(model: Any) -> tuple[Any, ...]:
    return (
        type(model),
        model.__dict__,
        model.model_fields_set,
        model.__pydantic_extra__,
        model.__pydantic_private__,
    )


def _fast_path_is_exact() -> bool:
    """Whether the fast construction reproduces validation exactly on this langchain-core/pydantic."""
    mutable = {
        name
        for name, value in _MESSAGE_DEFAULTS.items()
        if isinstance(value, (list, dict, set)) and name not in ("content", "additional_kwargs")
    }
    if mutable != {*_FRESH_LISTS, *_FRESH_DICTS}:
        return False
    if any(
        isinstance(value, (list, dict, set))
        for name, value in _GENERATION_DEFAULTS.items()
        if name != "message"
    ):
        return False
    try:
        samples = [("tok", {}, None), ("", {"reasoning_content": "hm"}, {"logprobs": [{"token": "a"}]})]
        for sample in samples:
            fast, slow = _fast_text_chunk(*sample), validated_text_chunk(*sample)
            if _layout(fast) != _layout(slow) or _layout(fast.message) != _layout(slow.message):
                return False
            if fast.message.text != slow.message.text:
                return False
    except Exception:  # any surprise in a new layout: keep validating
        return False
    return True


#: True when :func:`text_chunk` skips validation (checked once, at import).
FAST_CHUNKS = _fast_path_is_exact()

#: Build the chunk of a text/thinking/logprobs delta: no tool calls, no usage, not the last chunk.
text_chunk = _fast_text_chunk if FAST_CHUNKS else validated_text_chunk
