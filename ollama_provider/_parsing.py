"""Raw JSON objects from the server -> typed responses. Pure functions, shared by sync and async.

>>> chunk = parse_chat({"model": "m", "message": {"role": "assistant", "content": "",
...     "tool_calls": [{"id": "call_1", "function": {"index": 0, "name": "f", "arguments": '{"x": 1}'}}]},
...     "done": True, "done_reason": "stop", "eval_count": 3, "eval_duration": 1_500_000_000})
>>> chunk.message.tool_calls[0].function.arguments, chunk.finish_reason, chunk.usage.completion_tokens
({'x': 1}, 'tool_calls', 3)
>>> chunk.timings.tokens_per_second
2.0
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from ._payloads import decode_arguments
from .errors import InvalidResponseError
from .types import (
    ChatResponse,
    EmbedResponse,
    FinishReason,
    GenerateResponse,
    Message,
    ModelDetails,
    ModelInfo,
    ProgressResponse,
    RunningModel,
    ShowResponse,
    TokenLogprob,
    ToolCall,
    ToolCallFunction,
)

_FINISH: dict[str, FinishReason] = {"stop": "stop", "length": "length", "load": "load", "unload": "unload"}
_TIMESTAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?$")


def parse_timestamp(value: Any) -> datetime | None:
    """RFC 3339 with 0 to 9 fraction digits (Python 3.10's fromisoformat cannot read 9)."""
    if not isinstance(value, str) or not value:
        return None
    match = _TIMESTAMP.match(value)
    if not match:
        return None
    base, fraction, zone = match.groups()
    micro = (fraction or "0")[:6].ljust(6, "0")
    zone = "+00:00" if zone in (None, "Z") else zone
    return datetime.fromisoformat(f"{base}.{micro}{zone}").astimezone(timezone.utc)


def finish_reason(done_reason: str | None, has_tool_calls: bool) -> FinishReason | None:
    if has_tool_calls and done_reason in (None, "stop"):
        return "tool_calls"
    return _FINISH.get(done_reason) if done_reason else None


def parse_tool_calls(raw: Any) -> list[ToolCall] | None:
    if not raw:
        return None
    calls = []
    for position, item in enumerate(raw):
        function = item.get("function") or {}
        index = function.get("index")
        calls.append(
            ToolCall(
                ToolCallFunction(
                    str(function.get("name", "")),
                    decode_arguments(function.get("arguments")),
                    index if isinstance(index, int) else position,
                ),
                item.get("id"),
            )
        )
    return calls


def parse_logprobs(raw: Any) -> list[TokenLogprob] | None:
    if not raw:
        return None
    return [
        TokenLogprob(
            item.get("token", ""),
            item.get("logprob", 0.0),
            item.get("bytes"),
            parse_logprobs(item.get("top_logprobs")),
        )
        for item in raw
    ]


def parse_message(raw: Any) -> Message:
    if not isinstance(raw, dict):
        raise InvalidResponseError(f"expected a message object, got {raw!r}")
    return Message(
        raw.get("role", "assistant"),
        raw.get("content") or "",
        raw.get("thinking") or None,
        raw.get("images"),
        parse_tool_calls(raw.get("tool_calls")),
        raw.get("tool_name"),
        raw.get("tool_call_id"),
    )


def _require_object(raw: Any, what: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise InvalidResponseError(f"expected a JSON object for {what}, got {type(raw).__name__}")
    return raw


Metrics = tuple[int, int, int, int, int, int]
_NO_METRICS: Metrics = (0, 0, 0, 0, 0, 0)


def _metrics(raw: dict[str, Any], done: bool) -> Metrics:
    """The counts and durations, in field order. Only the final chunk has them (all omitempty)."""
    if not done:
        return _NO_METRICS
    get = raw.get
    return (
        get("total_duration", 0),
        get("load_duration", 0),
        get("prompt_eval_count", 0),
        get("prompt_eval_duration", 0),
        get("eval_count", 0),
        get("eval_duration", 0),
    )


def parse_chat(raw: Any) -> ChatResponse:
    raw = _require_object(raw, "a chat response")
    message = parse_message(raw.get("message", {"role": "assistant", "content": ""}))
    done_reason = raw.get("done_reason")
    done = bool(raw.get("done"))
    return ChatResponse(
        *_metrics(raw, done),
        raw.get("model", ""),
        raw.get("created_at", ""),
        message,
        done,
        done_reason,
        finish_reason(done_reason, bool(message.tool_calls)) if done else None,
        parse_logprobs(raw.get("logprobs")),
    )


def parse_generate(raw: Any) -> GenerateResponse:
    raw = _require_object(raw, "a generate response")
    tool_calls = parse_tool_calls(raw.get("tool_calls"))
    done_reason = raw.get("done_reason")
    done = bool(raw.get("done"))
    return GenerateResponse(
        *_metrics(raw, done),
        raw.get("model", ""),
        raw.get("created_at", ""),
        raw.get("response") or "",
        raw.get("thinking") or None,
        done,
        done_reason,
        finish_reason(done_reason, bool(tool_calls)) if done else None,
        raw.get("context"),
        tool_calls,
        parse_logprobs(raw.get("logprobs")),
    )


def parse_embed(raw: Any) -> EmbedResponse:
    raw = _require_object(raw, "an embed response")
    embeddings = raw.get("embeddings")
    if not isinstance(embeddings, list):
        raise InvalidResponseError("the embed response has no 'embeddings' list")
    return EmbedResponse(
        raw.get("model", ""),
        embeddings,
        raw.get("total_duration", 0),
        raw.get("load_duration", 0),
        raw.get("prompt_eval_count", 0),
    )


def parse_details(raw: Any) -> ModelDetails:
    raw = raw or {}
    return ModelDetails(
        raw.get("format", ""),
        raw.get("family", ""),
        raw.get("families"),
        raw.get("parameter_size", ""),
        raw.get("quantization_level", ""),
        raw.get("parent_model", ""),
        raw.get("context_length"),
        raw.get("embedding_length"),
    )


def parse_model_list(raw: Any) -> list[ModelInfo]:
    raw = _require_object(raw, "the model list")
    return [
        ModelInfo(
            item.get("name") or item.get("model", ""),
            item.get("model", ""),
            parse_timestamp(item.get("modified_at")),
            item.get("size", 0),
            item.get("digest", ""),
            parse_details(item.get("details")),
            item.get("capabilities"),
        )
        for item in raw.get("models") or []
    ]


def parse_running(raw: Any) -> list[RunningModel]:
    raw = _require_object(raw, "the running model list")
    return [
        RunningModel(
            item.get("name") or item.get("model", ""),
            item.get("model", ""),
            item.get("size", 0),
            item.get("size_vram", 0),
            item.get("digest", ""),
            parse_details(item.get("details")),
            parse_timestamp(item.get("expires_at")),
            item.get("context_length"),
        )
        for item in raw.get("models") or []
    ]


def parse_show(raw: Any) -> ShowResponse:
    raw = _require_object(raw, "a show response")
    license_text = raw.get("license", "")
    return ShowResponse(
        raw.get("modelfile", ""),
        raw.get("parameters", ""),
        raw.get("template", ""),
        raw.get("system", ""),
        "\n".join(license_text) if isinstance(license_text, list) else license_text,
        parse_details(raw.get("details")),
        raw.get("model_info") or {},
        raw.get("capabilities") or [],
        parse_timestamp(raw.get("modified_at")),
        [parse_message(m) for m in raw["messages"]] if raw.get("messages") else None,
    )


def parse_progress(raw: Any) -> ProgressResponse:
    raw = _require_object(raw, "a progress line")
    return ProgressResponse(raw.get("status", ""), raw.get("digest"), raw.get("total"), raw.get("completed"))


def parse_version(raw: Any) -> str:
    return str(_require_object(raw, "the version").get("version", ""))
