"""The requests of the recorded ``api/`` scenarios, spelled the way a user of the core would write them.

Every value here is copied from ``cassettes/recorded/api/scenarios.json``: a test sends exactly what
the recording sent (same model, messages, prompt, input, tools, format, think, and the recorded
options, which matching ignores but a re-record needs to reproduce the scenario).

>>> from ollama_provider._tools import to_tool
>>> to_tool(get_weather) == WEATHER_TOOL
True
>>> base64.b64encode(ONE_PIXEL_PNG).decode() == ONE_PIXEL_PNG_BASE64
True
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from typing import Any

SMOLLM = "smollm2:135m"
SMOLLM_TOOLS = "smollm2-tools:135m"
SMOLLM_PARALLEL = "smollm2-tools-parallel:135m"
SMOLLM_THINK = "smollm2-think:135m"
GEMMA = "gemma3:270m"
MINILM = "all-minilm:latest"
MISSING = "no-such-model:1b"

#: The sampling options of nearly every generation scenario (greedy, reproducible).
GREEDY: dict[str, Any] = {"temperature": 0, "seed": 42}


def get_weather(city: str) -> str:
    """Get the current weather for a city

    Args:
        city: City name
    """
    return f"sunny in {city}"


#: The tool every tool scenario offers, as recorded (``to_tool(get_weather)`` gives the same dict).
WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "City name"}},
            "required": ["city"],
        },
    },
}

#: The structured-output schema that makes the small tools model produce one call.
ONE_CALL_FORMAT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "enum": ["get_weather"]},
        "arguments": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
    "required": ["name", "arguments"],
}

#: The schema that makes the parallel tools model produce exactly two calls.
TWO_CALLS_FORMAT: dict[str, Any] = {
    "type": "array",
    "minItems": 2,
    "maxItems": 2,
    "items": {
        "type": "object",
        "properties": {
            "name": {"type": "string", "enum": ["get_weather"]},
            "arguments": {
                "type": "object",
                "properties": {"city": {"type": "string", "enum": ["Paris", "Tokyo"]}},
                "required": ["city"],
            },
        },
        "required": ["name", "arguments"],
    },
}

#: The JSON schema of the structured-output scenarios.
PERSON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
}

ONE_PIXEL_PNG_BASE64 = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)
#: The 1x1 PNG of the image scenarios, as the bytes a user would read from a file.
ONE_PIXEL_PNG = base64.b64decode(ONE_PIXEL_PNG_BASE64)

#: 2000 words: longer than all-minilm's 512-token context.
LONG_TEXT = "word " * 2000


def think_history(question: str) -> list[dict[str, Any]]:
    """The few-shot history of the thinking scenarios (earlier turns carry their thinking)."""
    return [
        {"role": "user", "content": "What is 2 + 2?"},
        {
            "role": "assistant",
            "thinking": "The user asks for 2 plus 2. Two plus two is four.",
            "content": "4",
        },
        {"role": "user", "content": "What is 3 + 5?"},
        {
            "role": "assistant",
            "thinking": "The user asks for 3 plus 5. Three plus five is eight.",
            "content": "8",
        },
        {"role": "user", "content": question},
    ]


def l2_norm(vector: Sequence[float]) -> float:
    """Euclidean length of a vector (Ollama's embeddings are normalised to 1).

    >>> l2_norm([3.0, 4.0])
    5.0
    """
    return math.sqrt(sum(x * x for x in vector))
