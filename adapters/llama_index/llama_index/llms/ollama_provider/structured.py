"""Structured output: a pydantic class -> a JSON-schema ``format``, and the answer back -> an instance.

>>> from pydantic import BaseModel
>>> class Person(BaseModel):
...     name: str
...     age: int
>>> parse_structured(Person, '{"name": "Ada", "age": 36}')
Person(name='Ada', age=36)
>>> parse_structured(Person, '{"name": "Ada"')
Traceback (most recent call last):
...
llama_index.llms.ollama_provider.structured.StructuredOutputError: the model's answer is not a valid ...
"""

from __future__ import annotations

from typing import Any, TypeVar

from llama_index.core.bridge.pydantic import BaseModel, ValidationError

ModelT = TypeVar("ModelT", bound=BaseModel)
_SHOWN_CHARS = 300


class StructuredOutputError(ValueError):
    """The model answered, but its text does not validate against the requested class.

    ``text`` is the model's whole answer; ``output_cls`` the class asked for. A ``ValueError`` so
    that code written for other LlamaIndex LLMs keeps catching it.
    """

    def __init__(self, output_cls: type[BaseModel], text: str, error: ValidationError) -> None:
        shown = text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS] + "..."
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in error.errors()
        )
        super().__init__(
            f"the model's answer is not a valid {output_cls.__name__}: {problems}. "
            f"Answer was: {shown!r}. Small models often stop early: raise num_predict or use a larger model."
        )
        self.output_cls = output_cls
        self.text = text


def json_schema_format(output_cls: type[BaseModel]) -> dict[str, Any]:
    """The ``format`` sent to Ollama: the class's JSON schema (what the official integration sends)."""
    return output_cls.model_json_schema()


def parse_structured(output_cls: type[ModelT], text: str) -> ModelT:
    try:
        return output_cls.model_validate_json(text or "")
    except ValidationError as error:
        raise StructuredOutputError(output_cls, text, error) from error
