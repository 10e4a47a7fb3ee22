"""``with_structured_output`` pieces: the JSON schema sent as ``format`` and strict parsers.

The parsers never hand back ``None`` for a finished answer: output that is not the requested
structure raises :class:`~langchain_core.exceptions.OutputParserException` naming what came back.

>>> from typing_extensions import TypedDict
>>> class Person(TypedDict):
...     '''A person.'''
...     name: str
...     age: int
>>> schema_format(Person)["required"]
['name', 'age']
>>> StrictJsonOutputParser().parse('["not", "an", "object"]')
Traceback (most recent call last):
...
langchain_core.exceptions.OutputParserException: expected a JSON object from the model, got: [...]
...
"""

from __future__ import annotations

import warnings
from typing import Any

from langchain_core.exceptions import OutputParserException
from langchain_core.output_parsers import JsonOutputParser
from langchain_core.output_parsers.openai_tools import JsonOutputKeyToolsParser, PydanticToolsParser
from langchain_core.outputs import Generation
from langchain_core.utils.function_calling import convert_to_json_schema
from langchain_core.utils.pydantic import is_basemodel_subclass
from pydantic.v1 import BaseModel as BaseModelV1
from typing_extensions import is_typeddict


def is_pydantic_class(schema: Any) -> bool:
    return isinstance(schema, type) and is_basemodel_subclass(schema)


def schema_format(schema: Any) -> dict[str, Any]:
    """The JSON schema Ollama gets as ``format`` for a pydantic class, TypedDict or schema dict."""
    if is_pydantic_class(schema):
        if issubclass(schema, BaseModelV1):
            return dict(schema.schema())
        return dict(schema.model_json_schema())
    if is_typeddict(schema):
        converted = dict(convert_to_json_schema(schema))
        converted.setdefault("required", list(converted.get("properties", {})))
        return converted
    if isinstance(schema, dict):
        function = schema.get("function", schema)
        if isinstance(function, dict) and "parameters" in function and "name" in function:
            return dict(function["parameters"])  # an OpenAI tool/function description
        return dict(schema)
    raise ValueError(f"unsupported schema {schema!r}: give a pydantic class, a TypedDict or a JSON schema")


def resolve_response_format(format: Any, response_format: Any) -> Any:
    """The ``format`` to send when a call also has an OpenAI-style ``response_format`` (what
    ``langchain.agents`` ``ProviderStrategy`` binds): ``format`` wins; ``{"type": "json_object"}``
    is ``"json"``; ``{"type": "json_schema", "json_schema": {"schema": ...}}`` is that schema. What
    cannot be honoured is ignored with a ``UserWarning``, as ``langchain-ollama`` does.

    >>> envelope = {"name": "Person", "schema": {"type": "object"}}
    >>> resolve_response_format(None, {"type": "json_schema", "json_schema": envelope})
    {'type': 'object'}
    >>> resolve_response_format(None, {"type": "json_object"})
    'json'
    """
    if format is not None:
        warnings.warn(
            "Both 'format' and 'response_format' were given: "
            "'response_format' is ignored in favour of 'format'.",
            UserWarning,
            stacklevel=4,
        )
        return format
    if not isinstance(response_format, dict):
        return _ignored(f"response_format of type {type(response_format).__name__}: expected a dict")
    kind = response_format.get("type")
    if kind == "json_object":
        return "json"
    if kind != "json_schema":
        return _ignored(f"response_format type {kind!r}: expected 'json_object' or 'json_schema'")
    block = response_format.get("json_schema")
    schema = block.get("schema") if isinstance(block, dict) else None
    if not isinstance(schema, dict):
        return _ignored("response_format of type 'json_schema' without a 'json_schema': {'schema': {...}}")
    return schema


def _ignored(what: str) -> None:
    warnings.warn(f"Ignored {what}; no format is sent.", UserWarning, stacklevel=5)
    return None


def _text_of(result: list[Generation]) -> str:
    return result[0].text if result else ""


class StrictJsonOutputParser(JsonOutputParser):
    """JSON parser that insists on an object once the answer is complete."""

    def parse_result(self, result: list[Generation], *, partial: bool = False) -> Any:
        parsed = super().parse_result(result, partial=partial)
        if not partial and not isinstance(parsed, dict):
            text = _text_of(result)
            raise OutputParserException(
                f"expected a JSON object from the model, got: {text}", llm_output=text
            )
        return parsed


class _RequiresToolCall:
    """Raises when the model made no tool call, where LangChain's tool parsers return ``None``."""

    def parse_result(self, result: list[Generation], *, partial: bool = False) -> Any:
        parsed = super().parse_result(result, partial=partial)  # type: ignore[misc]
        if parsed is None and not partial:
            text = _text_of(result)
            raise OutputParserException(
                f"the model made no tool call; it answered: {text!r}", llm_output=text
            )
        return parsed


class StrictPydanticToolsParser(_RequiresToolCall, PydanticToolsParser):
    """Tool-call parser into pydantic objects that never returns ``None`` for a missing call."""


class StrictKeyToolsParser(_RequiresToolCall, JsonOutputKeyToolsParser):
    """Tool-call parser into dicts that never returns ``None`` for a missing call."""
