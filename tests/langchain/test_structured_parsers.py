"""Structured output never quietly becomes None: a missing tool call or a non-object answer raises."""

from __future__ import annotations

import pytest
from langchain_core.exceptions import OutputParserException
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration
from langchain_ollama_provider._structured import (
    StrictJsonOutputParser,
    StrictKeyToolsParser,
    StrictPydanticToolsParser,
)
from pydantic import BaseModel


class Person(BaseModel):
    name: str


def answer(text: str, tool_calls: list[dict[str, object]] | None = None) -> list[ChatGeneration]:
    return [ChatGeneration(message=AIMessage(content=text, tool_calls=tool_calls or []))]


@pytest.mark.parametrize(
    "parser",
    [
        StrictPydanticToolsParser(tools=[Person], first_tool_only=True),
        StrictKeyToolsParser(key_name="Person", first_tool_only=True),
    ],
)
def test_a_missing_tool_call_raises_with_the_models_text(parser: object) -> None:
    with pytest.raises(OutputParserException, match="no tool call; it answered: 'I like cake'"):
        parser.parse_result(answer("I like cake"))  # type: ignore[attr-defined]
    assert parser.parse_result(answer("I like", None), partial=True) is None  # type: ignore[attr-defined]


def test_a_present_tool_call_is_parsed() -> None:
    call = {"name": "Person", "args": {"name": "Ada"}, "id": "call_1"}
    assert StrictPydanticToolsParser(tools=[Person], first_tool_only=True).parse_result(
        answer("", [call])
    ) == Person(name="Ada")
    assert StrictKeyToolsParser(key_name="Person", first_tool_only=True).parse_result(answer("", [call])) == {
        "name": "Ada"
    }


def test_json_must_be_an_object() -> None:
    with pytest.raises(OutputParserException, match="expected a JSON object"):
        StrictJsonOutputParser().parse_result(answer("[1, 2]"))
    assert StrictJsonOutputParser().parse_result(answer('{"a": 1}')) == {"a": 1}
