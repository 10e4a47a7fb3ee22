"""Tools from functions, pydantic models and dicts."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Annotated, Literal, Optional, TypedDict

import pytest
from pydantic import BaseModel, Field

from ollama_provider import InvalidRequestError
from ollama_provider._tools import json_schema_for, parse_docstring, to_tool


class Unit(enum.Enum):
    C = "celsius"
    F = "fahrenheit"


def forecast(
    city: str,
    days: int = 3,
    unit: Unit = Unit.C,
    hourly: Optional[bool] = None,  # noqa: UP045
    tags: list[str] | None = None,
    mode: Literal["fast", "exact"] = "fast",
) -> str:
    """Forecast the weather.

    Args:
        city: The city to look up,
            spelled in English.
        days: How many days.
        unit: Temperature unit.
    """
    return ""


def test_function_tool_schema() -> None:
    tool = to_tool(forecast)
    function = tool["function"]
    assert tool["type"] == "function" and function["name"] == "forecast"
    assert function["description"] == "Forecast the weather."
    params = function["parameters"]
    assert params["required"] == ["city"]
    assert params["properties"]["city"] == {
        "type": "string",
        "description": "The city to look up, spelled in English.",
    }
    assert params["properties"]["days"]["type"] == "integer"
    assert params["properties"]["unit"]["enum"] == ["celsius", "fahrenheit"]
    assert params["properties"]["hourly"] == {"type": "boolean"}
    assert params["properties"]["tags"] == {"type": "array", "items": {"type": "string"}}
    assert params["properties"]["mode"] == {"enum": ["fast", "exact"]}


def test_sphinx_and_numpy_docstrings() -> None:
    assert parse_docstring("Add.\n\n:param a: first\n:param int b: second")[1] == {
        "a": "first",
        "b": "second",
    }
    numpy_doc = "Add.\n\nParameters\n----------\na : int\n    first number\n"
    summary, params = parse_docstring(numpy_doc)
    assert summary == "Add." and "a" in params


class Lookup(BaseModel):
    """Look a word up."""

    word: str = Field(description="the word")


def test_pydantic_model_tool() -> None:
    function = to_tool(Lookup)["function"]
    assert function["name"] == "Lookup" and function["description"] == "Look a word up."
    assert function["parameters"]["properties"]["word"]["description"] == "the word"
    assert "title" not in function["parameters"]


def test_dict_tools_pass_through_and_are_checked() -> None:
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}
    assert to_tool(tool) == tool
    assert to_tool({"name": "g", "parameters": {}})["function"]["name"] == "g"
    with pytest.raises(InvalidRequestError):
        to_tool({"type": "function", "function": {"parameters": {}}})
    with pytest.raises(InvalidRequestError):
        to_tool(42)


class Point(TypedDict):
    x: int
    y: int


@dataclass
class Box:
    width: float


def test_schema_of_containers_and_records() -> None:
    assert json_schema_for(Point) == {
        "type": "object",
        "properties": {"x": {"type": "integer"}, "y": {"type": "integer"}},
        "required": ["x", "y"],
    }
    assert json_schema_for(Box)["properties"] == {"width": {"type": "number"}}
    assert json_schema_for(dict[str, int]) == {"type": "object"}
    assert json_schema_for(Annotated[int, "meta"]) == {"type": "integer"}
    assert json_schema_for(int | str) == {"anyOf": [{"type": "integer"}, {"type": "string"}]}
    with pytest.raises(InvalidRequestError):
        json_schema_for(complex)
