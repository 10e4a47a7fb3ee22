"""The OpenTelemetry GenAI semantic conventions for Ollama calls: names and attribute values, pure.

Followed: the GenAI conventions of OpenTelemetry semantic conventions v1.41.0 (status:
development), with ``gen_ai.provider.name`` (not the older ``gen_ai.system``) and
``gen_ai.usage.input_tokens`` / ``output_tokens``. Used by :mod:`._otel`; nothing here
imports OpenTelemetry, so it is tested and documented without it.

>>> from ollama_provider import OllamaConfig, _calls as calls
>>> call = calls.chat(OllamaConfig(), "Hi", model="llama3.2", stream=True, temperature=0.2)
>>> operation = operation_name(call)
>>> operation, span_name(operation, call.model)
('chat', 'chat llama3.2')
>>> request_attributes(call, operation)["gen_ai.request.temperature"]
0.2
>>> server_attributes("http://gpu-1:11434")
{'server.address': 'gpu-1', 'server.port': 11434}
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import orjson

from .._protocol import Call
from ..types import ChatResponse, EmbedResponse, GenerateResponse, Message

#: Longest error message written in a log line or a span event (a proxy may answer a whole HTML page).
REASON_LENGTH = 200

def reason(error: BaseException) -> str:
    """``Type: message``, cut to :data:`REASON_LENGTH` characters, on one line.

    >>> reason(ConnectionError("refused\\nby peer"))
    'ConnectionError: refused by peer'
    """
    text = " ".join(str(error).split())
    if len(text) > REASON_LENGTH:
        text = text[: REASON_LENGTH - 1] + "…"
    return f"{type(error).__name__}: {text}" if text else type(error).__name__

SEMCONV_VERSION = "1.41.0"
SCHEMA_URL = f"https://opentelemetry.io/schemas/{SEMCONV_VERSION}"
PROVIDER_NAME = "ollama"
#: The generic switch of OpenTelemetry's Python GenAI instrumentations: ``true`` records prompts and
#: completions on the spans (``gen_ai.input.messages``, ``gen_ai.output.messages``...). Off by default.
CAPTURE_CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
_CAPTURE_VALUES = frozenset({"true", "1", "span_only", "span_and_event"})

#: ``gen_ai.operation.name`` by API path: the conventions' names where one applies, else our method's.
OPERATIONS = {
    "/api/chat": "chat",
    "/api/generate": "text_completion",
    "/api/embed": "embeddings",
    "/api/pull": "pull_model",
    "/api/push": "push_model",
    "/api/create": "create_model",
    "/api/copy": "copy_model",
    "/api/delete": "delete_model",
    "/api/show": "show_model",
    "/api/tags": "list_models",
    "/api/ps": "list_running",
    "/api/version": "version",
}
GENERATION = frozenset({"chat", "text_completion"})
#: ``options`` keys reported as request attributes (Ollama name -> attribute).
_OPTION_ATTRIBUTES = {
    "temperature": "gen_ai.request.temperature",
    "top_p": "gen_ai.request.top_p",
    "top_k": "gen_ai.request.top_k",
    "seed": "gen_ai.request.seed",
    "num_predict": "gen_ai.request.max_tokens",
    "frequency_penalty": "gen_ai.request.frequency_penalty",
    "presence_penalty": "gen_ai.request.presence_penalty",
    "stop": "gen_ai.request.stop_sequences",
}


def operation_name(call: Call[Any]) -> str:
    """``chat``, ``text_completion``, ``embeddings``, or the model-management method's name."""
    name = OPERATIONS.get(call.path)
    if name is not None:
        return name
    return "blob_exists" if call.path.startswith("/api/blobs/") else "request"


def span_name(operation: str, model: str | None) -> str:
    """``{gen_ai.operation.name} {gen_ai.request.model}``, or the operation alone without a model."""
    return f"{operation} {model}" if model else operation


def capture_content(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether prompts and completions go on spans (:data:`CAPTURE_CONTENT_ENV`).

    >>> capture_content({}), capture_content({CAPTURE_CONTENT_ENV: "True"})
    (False, True)
    """
    return environ.get(CAPTURE_CONTENT_ENV, "").strip().lower() in _CAPTURE_VALUES


def common_attributes(call: Call[Any], operation: str) -> dict[str, Any]:
    """What spans and metrics share: operation, provider, requested model."""
    attributes: dict[str, Any] = {"gen_ai.operation.name": operation, "gen_ai.provider.name": PROVIDER_NAME}
    if call.model:
        attributes["gen_ai.request.model"] = call.model
    return attributes


def request_attributes(call: Call[Any], operation: str) -> dict[str, Any]:
    """The span's attributes known before sending: the common ones plus sampling settings."""
    attributes = common_attributes(call, operation)
    body = call.body or {}
    if operation in GENERATION:
        attributes["gen_ai.request.stream"] = call.stream is not None
        options = body.get("options") or {}
        for key, name in _OPTION_ATTRIBUTES.items():
            value = options.get(key)
            if value is not None:
                attributes[name] = list(value) if key == "stop" else value
        if body.get("format") is not None:
            attributes["gen_ai.output.type"] = "json"
    elif operation == "embeddings":
        inputs = body.get("input")
        attributes["ollama_provider.embed.inputs"] = len(inputs) if isinstance(inputs, list) else 1
        if body.get("dimensions") is not None:
            attributes["gen_ai.embeddings.dimension.count"] = body["dimensions"]
    return attributes


def response_attributes(answer: Any) -> dict[str, Any]:
    """What an answer (or a stream's final chunk) tells: response model, finish reason, usage."""
    if isinstance(answer, (ChatResponse, GenerateResponse)):
        attributes: dict[str, Any] = {}
        if answer.model:
            attributes["gen_ai.response.model"] = answer.model
        finish = answer.finish_reason or answer.done_reason
        if finish:
            attributes["gen_ai.response.finish_reasons"] = [finish]
        if answer.done:  # usage is only on the final chunk
            attributes["gen_ai.usage.input_tokens"] = answer.prompt_eval_count
            attributes["gen_ai.usage.output_tokens"] = answer.eval_count
        return attributes
    if isinstance(answer, EmbedResponse):
        attributes = {"gen_ai.usage.input_tokens": answer.prompt_eval_count}
        if answer.model:
            attributes["gen_ai.response.model"] = answer.model
        if answer.embeddings:
            attributes["gen_ai.embeddings.dimension.count"] = len(answer.embeddings[0])
        return attributes
    return {}


def token_counts(answer: Any) -> list[tuple[str, int]]:
    """``(gen_ai.token.type, count)`` pairs for ``gen_ai.client.token.usage``."""
    if isinstance(answer, (ChatResponse, GenerateResponse)) and answer.done:
        return [("input", answer.prompt_eval_count), ("output", answer.eval_count)]
    if isinstance(answer, EmbedResponse):
        return [("input", answer.prompt_eval_count)]
    return []


@functools.lru_cache(maxsize=64)
def _server(base_url: str) -> tuple[str, int | None]:
    parts = urlsplit(base_url)
    return parts.hostname or base_url, parts.port


def server_attributes(base_url: str) -> dict[str, Any]:
    """``server.address`` and ``server.port`` of a base URL (which never holds userinfo)."""
    address, port = _server(base_url)
    attributes: dict[str, Any] = {"server.address": address}
    if port is not None:
        attributes["server.port"] = port
    return attributes


def error_type(error: BaseException) -> str:
    """``error.type``: the class name of the error (the :class:`OllamaError` tree, listed in the README)."""
    return type(error).__qualname__


# -- content: recorded only when the user opted in (capture_content) ------------------------------
def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _parts(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    if message.get("role") == "tool":
        return [
            {
                "type": "tool_call_response",
                "id": message.get("tool_call_id"),
                "response": message.get("content"),
            }
        ]
    parts: list[dict[str, Any]] = []
    if message.get("thinking"):
        parts.append({"type": "reasoning", "content": message["thinking"]})
    if message.get("content"):
        parts.append({"type": "text", "content": message["content"]})
    for call in message.get("tool_calls") or ():
        function = call.get("function", {})
        parts.append(
            {
                "type": "tool_call",
                "id": call.get("id"),
                "name": function.get("name"),
                "arguments": function.get("arguments"),
            }
        )
    return parts


def input_content(call: Call[Any], operation: str) -> dict[str, str]:
    """``gen_ai.input.messages`` (and ``gen_ai.system_instructions`` of a generate), as JSON strings.
    Images are left out (only their text parts are recorded)."""
    body = call.body or {}
    if operation == "chat":
        messages = [{"role": m.get("role"), "parts": _parts(m)} for m in body.get("messages") or ()]
        return {"gen_ai.input.messages": _json(messages)}
    if operation == "text_completion":
        content = {
            "gen_ai.input.messages": _json(
                [{"role": "user", "parts": _parts({"content": body.get("prompt")})}]
            )
        }
        if body.get("system"):
            content["gen_ai.system_instructions"] = _json([{"type": "text", "content": body["system"]}])
        return content
    return {}


class OutputCollector:
    """The answer of a stream, put together chunk by chunk (only when content is recorded)."""

    def __init__(self) -> None:
        self.content: list[str] = []
        self.thinking: list[str] = []
        self.tool_calls: list[dict[str, Any]] = []

    def add(self, chunk: Any) -> None:
        message = _message_of(chunk)
        if message is None:
            return
        if message.content:
            self.content.append(message.content)
        if message.thinking:
            self.thinking.append(message.thinking)
        for call in message.tool_calls or ():
            self.tool_calls.append(
                {
                    "id": call.id,
                    "function": {"name": call.function.name, "arguments": call.function.arguments},
                }
            )

    def message(self) -> dict[str, Any]:
        return {
            "content": "".join(self.content),
            "thinking": "".join(self.thinking),
            "tool_calls": self.tool_calls,
        }


def _message_of(answer: Any) -> Message | None:
    if isinstance(answer, ChatResponse):
        return answer.message
    if isinstance(answer, GenerateResponse):
        return Message("assistant", answer.response, thinking=answer.thinking, tool_calls=answer.tool_calls)
    return None


def output_content(answer: Any, streamed: OutputCollector | None = None) -> dict[str, str]:
    """``gen_ai.output.messages`` of an answer, or of a stream (``streamed``) ended by ``answer``."""
    if streamed is not None:
        message = streamed.message()
    else:
        collector = OutputCollector()
        collector.add(answer)
        message = collector.message()
    if not isinstance(answer, (ChatResponse, GenerateResponse)):
        return {}
    output = {
        "role": "assistant",
        "parts": _parts(message),
        "finish_reason": answer.finish_reason or answer.done_reason,
    }
    return {"gen_ai.output.messages": _json([output])}
