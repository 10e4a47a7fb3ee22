"""Tool definitions: JSON-schema dicts, pydantic models, or plain Python functions.

A function becomes a tool from its type hints and its docstring (Google, NumPy or Sphinx style
argument descriptions):

>>> def get_weather(city: str, unit: str = "celsius") -> str:
...     '''Get the current weather for a city.
...
...     Args:
...         city: City name.
...         unit: "celsius" or "fahrenheit".
...     '''
...     return "sunny"
>>> tool = to_tool(get_weather)
>>> tool["function"]["name"], tool["function"]["parameters"]["required"]
('get_weather', ['city'])
>>> tool["function"]["parameters"]["properties"]["city"]
{'type': 'string', 'description': 'City name.'}
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import re
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any

from .errors import InvalidRequestError

_SCALARS: dict[Any, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    type(None): "null",
}
_PARAM_LINE = re.compile(r"^\s*[*]{0,2}(\w+)\s*(?:\(([^)]*)\))?\s*:\s*(.*)$")
_SPHINX_PARAM = re.compile(r"^\s*:param\s+(?:[^:]*\s)?(\w+)\s*:\s*(.*)$")
_SECTION = re.compile(
    r"^\s*(Args|Arguments|Parameters|Params|Returns?|Raises|Yields|Examples?|Notes?)\s*:?\s*$"
)


def json_schema_for(annotation: Any) -> dict[str, Any]:
    """JSON schema of a Python type annotation (the subset tools need)."""
    if annotation is inspect.Parameter.empty or annotation is Any:
        return {}
    if annotation in _SCALARS:
        return {"type": _SCALARS[annotation]}
    if hasattr(annotation, "model_json_schema"):  # pydantic model
        schema: dict[str, Any] = annotation.model_json_schema()
        return schema
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return {"type": "string", "enum": [m.value for m in annotation]}
    if dataclasses.is_dataclass(annotation) and isinstance(annotation, type):
        hints = typing.get_type_hints(annotation)
        return _object_schema({f.name: hints[f.name] for f in dataclasses.fields(annotation)}, set(), {})
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Literal:
        return {"enum": list(args)}
    if origin in (typing.Union, types.UnionType):
        non_null = [a for a in args if a is not type(None)]
        if len(non_null) == 1:
            return json_schema_for(non_null[0])
        return {"anyOf": [json_schema_for(a) for a in args]}
    if origin is typing.Annotated:
        return json_schema_for(args[0])
    if origin in (list, set, frozenset, tuple) or annotation in (list, set, tuple):
        item = args[0] if args and origin is not tuple else (args[0] if len(args) == 2 else Any)
        return {"type": "array", "items": json_schema_for(item)}
    if origin in (dict, Mapping) or annotation is dict:
        return {"type": "object"}
    if typing.is_typeddict(annotation):
        hints = typing.get_type_hints(annotation)
        return _object_schema(hints, set(getattr(annotation, "__required_keys__", hints)), {})
    raise InvalidRequestError(f"cannot describe type {annotation!r} as JSON schema for a tool")


def _object_schema(hints: Mapping[str, Any], required: set[str], docs: Mapping[str, str]) -> dict[str, Any]:
    properties = {}
    for name, hint in hints.items():
        prop = json_schema_for(hint)
        if name in docs:
            prop = {**prop, "description": docs[name]}
        properties[name] = prop
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = [name for name in hints if name in required]
    return schema


def parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """Split a docstring into its summary and per-argument descriptions."""
    if not doc:
        return "", {}
    lines = inspect.cleandoc(doc).splitlines()
    summary_lines: list[str] = []
    params: dict[str, str] = {}
    section, current = None, None
    for line in lines:
        sphinx = _SPHINX_PARAM.match(line)
        if sphinx:
            current, params[sphinx.group(1)] = sphinx.group(1), sphinx.group(2).strip()
            section = "params"
            continue
        header = _SECTION.match(line)
        if header:
            section = (
                "params"
                if header.group(1).startswith("Param") or header.group(1).startswith("Arg")
                else "other"
            )
            current = None
            continue
        if section is None:
            summary_lines.append(line)
        elif section == "params" and set(line.strip()) <= {"-"} and line.strip():
            continue  # NumPy underline
        elif section == "params":
            match = _PARAM_LINE.match(line)
            indent = len(line) - len(line.lstrip())
            if match and (current is None or indent <= 4):
                current, params[match.group(1)] = match.group(1), match.group(3).strip()
            elif current and line.strip():
                params[current] = (params[current] + " " + line.strip()).strip()
    summary = " ".join(part.strip() for part in " ".join(summary_lines).split("\n")).strip()
    return " ".join(summary.split()), params


def function_to_tool(func: Callable[..., Any]) -> dict[str, Any]:
    """Tool definition of a Python function, from its signature, type hints and docstring."""
    description, docs = parse_docstring(func.__doc__)
    try:
        hints = typing.get_type_hints(func)
    except Exception as exc:  # unresolvable forward references
        raise InvalidRequestError(f"cannot read the type hints of tool {func.__name__!r}: {exc}") from exc
    signature = inspect.signature(func)
    params = {
        name: hints.get(name, Any)
        for name, p in signature.parameters.items()
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and name not in ("self", "cls")
    }
    required = {name for name in params if signature.parameters[name].default is inspect.Parameter.empty}
    return {
        "type": "function",
        "function": {
            "name": func.__name__,
            "description": description,
            "parameters": _object_schema(params, required, docs),
        },
    }


def to_tool(tool: Any) -> dict[str, Any]:
    """Normalise one tool: a ``{"type": "function", ...}`` dict, a pydantic model class or a function."""
    if isinstance(tool, Mapping):
        function = tool.get("function", tool if "name" in tool else None)
        if not isinstance(function, Mapping) or not isinstance(function.get("name"), str):
            raise InvalidRequestError(
                "a tool dict needs {'type': 'function', 'function': {'name': ..., 'parameters': {...}}}"
            )
        return {"type": tool.get("type", "function"), "function": dict(function)}
    if isinstance(tool, type) and hasattr(tool, "model_json_schema"):
        schema = dict(tool.model_json_schema())
        description = schema.pop("description", None) or (inspect.getdoc(tool) or "")
        schema.pop("title", None)
        return {
            "type": "function",
            "function": {"name": tool.__name__, "description": description, "parameters": schema},
        }
    if callable(tool):
        return function_to_tool(tool)
    raise InvalidRequestError(
        f"unsupported tool {tool!r}: give a JSON-schema dict, a pydantic model or a function"
    )
