"""Request bodies: everything a user passes is checked and normalised here, before any I/O.

>>> normalise_keep_alive("10m"), normalise_keep_alive(300), normalise_keep_alive(timedelta(minutes=1))
('10m', 300, 60.0)
>>> normalise_keep_alive("300")
Traceback (most recent call last):
...
ollama_provider.errors.InvalidRequestError: keep_alive '300' needs a unit ...
>>> normalise_messages("Hi")
[{'role': 'user', 'content': 'Hi'}]
>>> build_options(None, temperature=0, stop="\\n", num_ctx=None)
{'temperature': 0, 'stop': ['\\n']}
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson

from ._names import validate_model_name
from ._tools import json_schema_for, to_tool
from .errors import InvalidRequestError
from .types import Message, Options, ToolCall

ROLES = frozenset({"system", "user", "assistant", "tool"})
THINK_LEVELS = frozenset({"low", "medium", "high", "max"})
_GO_DURATION = re.compile(r"^[-+]?((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+$")
_INT_OPTIONS = (
    "num_ctx",
    "num_predict",
    "num_keep",
    "num_batch",
    "num_thread",
    "top_k",
    "repeat_last_n",
    "seed",
)

KeepAlive = str | int | float | timedelta
MessageLike = Message | Mapping[str, Any]


def normalise_keep_alive(value: KeepAlive | None) -> str | int | float | None:
    """A Go duration string (``"5m"``), seconds as a number, or a timedelta; negative keeps forever."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidRequestError(
            "keep_alive must be a duration like '5m', a number of seconds or a timedelta"
        )
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text == "0" or _GO_DURATION.match(text):
            return text
        raise InvalidRequestError(
            f"keep_alive {value!r} needs a unit (e.g. '{text}s', '5m', '1h'), or pass a number of seconds"
        )
    raise InvalidRequestError(f"keep_alive of type {type(value).__name__} is not supported")


def normalise_think(value: bool | str | None) -> bool | str | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in THINK_LEVELS:
        return value.lower()
    raise InvalidRequestError(f"think must be True, False or one of {sorted(THINK_LEVELS)}, not {value!r}")


def normalise_format(value: Any) -> str | dict[str, Any] | None:
    """``"json"``, a JSON-schema dict, a pydantic model class or a TypedDict; ``None``/``""`` for none."""
    if value is None or value == "":
        return None
    if value == "json":
        return "json"
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, type):
        return json_schema_for(value)
    raise InvalidRequestError(
        f"format must be 'json', a JSON schema dict or a pydantic model class, not {value!r}"
    )


def encode_image(image: Any) -> str:
    """Base64 (no ``data:`` prefix, which the server rejects) from bytes, a path, a data URL or base64."""
    if isinstance(image, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(image)).decode("ascii")
    if isinstance(image, Path):
        return _read_image(image)
    if isinstance(image, str):
        if image.startswith("data:"):
            head, _, data = image.partition(",")
            if ";base64" not in head:
                raise InvalidRequestError("only base64 data URLs are supported for images")
            return _checked_base64(data)
        if len(image) < 4096 and os.path.isfile(image):
            return _read_image(Path(image))
        return _checked_base64(image)
    raise InvalidRequestError(
        f"an image must be bytes, a path, a data URL or base64 text, not {type(image).__name__}"
    )


def _read_image(path: Path) -> str:
    try:
        return base64.b64encode(path.read_bytes()).decode("ascii")
    except OSError as exc:
        raise InvalidRequestError(f"cannot read image {str(path)!r}: {exc}") from exc


def _checked_base64(data: str) -> str:
    data = "".join(data.split())
    try:
        base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidRequestError(
            "an image string must be base64 data (or a path to an existing file, or a data URL)"
        ) from exc
    return data


def decode_arguments(value: Any) -> dict[str, Any]:
    """Tool-call arguments as a dict, whatever form a model or server produced.

    Only the top level is decoded (a string, or a string of a string): string values inside
    the arguments are never re-typed.

    >>> decode_arguments('{"city": "Paris"}'), decode_arguments('"{\\\\"n\\\\": 1}"')
    ({'city': 'Paris'}, {'n': 1})
    >>> decode_arguments({"code": '{"a": 1}'})
    {'code': '{"a": 1}'}
    """
    for _ in range(3):
        if isinstance(value, Mapping):
            return dict(value)
        if value is None or value == "":
            return {}
        if not isinstance(value, (str, bytes)):
            break
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            break
    return {} if value is None else {"value": value}


def normalise_tool_call(call: ToolCall | Mapping[str, Any], index: int) -> dict[str, Any]:
    if isinstance(call, ToolCall):
        return call.to_dict()
    function = call.get("function", call)
    if not isinstance(function, Mapping) or not isinstance(function.get("name"), str):
        raise InvalidRequestError("a tool call needs {'function': {'name': ..., 'arguments': {...}}}")
    out: dict[str, Any] = {
        "function": {
            "name": function["name"],
            "arguments": decode_arguments(function.get("arguments") or call.get("args")),
            "index": function.get("index", index),
        }
    }
    if call.get("id") is not None:
        out["id"] = call["id"]
    return out


def normalise_message(message: MessageLike, position: int) -> dict[str, Any]:
    if isinstance(message, Message):
        raw: Mapping[str, Any] = message.to_dict()
        if message.images:
            raw = {**raw, "images": message.images}
    elif isinstance(message, Mapping):
        raw = message
    else:
        raise InvalidRequestError(
            f"message {position} must be a dict like {{'role': 'user', 'content': '...'}} or a Message, "
            f"not {type(message).__name__}"
        )
    role = raw.get("role")
    if not isinstance(role, str) or not role.strip():
        raise InvalidRequestError(
            f"message {position} needs a role (a string such as {sorted(ROLES)}), not {role!r}"
        )
    # Roles outside the usual four go through as given: some chat templates read their own
    # (e.g. a "control" message that switches thinking on), as the server accepts any role name.
    role = role.lower() if role.lower() in ROLES else role
    content = raw.get("content")
    if content is None:
        content = ""
    if not isinstance(content, str):
        raise InvalidRequestError(
            f"message {position} content must be a string, not {type(content).__name__}"
        )
    out: dict[str, Any] = {"role": role, "content": content}
    thinking = raw.get("thinking")
    if thinking is not None:  # "" too: an earlier answer's (empty) thinking goes back as it was
        if not isinstance(thinking, str):
            raise InvalidRequestError(
                f"message {position} thinking must be a string, not {type(thinking).__name__}"
            )
        out["thinking"] = thinking
    if raw.get("images"):
        out["images"] = [encode_image(image) for image in raw["images"]]
    if raw.get("tool_calls"):
        out["tool_calls"] = [normalise_tool_call(call, i) for i, call in enumerate(raw["tool_calls"])]
    for key in ("tool_name", "tool_call_id"):
        if raw.get(key) is not None:
            out[key] = raw[key]
    return out


def normalise_messages(messages: str | MessageLike | Sequence[MessageLike] | None) -> list[dict[str, Any]]:
    """Validate and serialise chat messages. A bare string is one user message."""
    if messages is None:
        return []
    if isinstance(messages, str):
        return [{"role": "user", "content": messages}]
    if isinstance(messages, (Message, Mapping)):
        messages = [messages]
    if not isinstance(messages, Iterable):
        raise InvalidRequestError("messages must be a list of messages")
    return [normalise_message(message, i) for i, message in enumerate(messages)]


def build_options(options: Options | Mapping[str, Any] | None, **common: Any) -> dict[str, Any]:
    """Merge ``options=`` with the common keyword options (keywords win).

    ``None`` means "not set", in ``options=`` as in keywords: it is never sent, so the model's own
    default (from its Modelfile, else the server's) applies.

    >>> build_options({"temperature": None, "seed": 7}, num_ctx=None)
    {'seed': 7}
    """
    if isinstance(options, Options):
        merged = options.to_dict()
    elif isinstance(options, Mapping):
        merged = {k: v for k, v in options.items() if v is not None}
    elif options is None:
        merged = {}
    else:
        raise InvalidRequestError("options must be an Options instance or a mapping")
    merged.update((k, v) for k, v in common.items() if v is not None)
    if not merged:
        return merged
    stop = merged.get("stop")
    if isinstance(stop, str):  # the server wants a list and answers 500 to a bare string
        merged["stop"] = [stop]
    for key in _INT_OPTIONS:
        value = merged.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise InvalidRequestError(f"option {key} must be an integer, not {value!r}")
    if merged.get("num_ctx") is not None and merged["num_ctx"] <= 0:
        raise InvalidRequestError(f"num_ctx must be a positive number of tokens, not {merged['num_ctx']}")
    if merged.get("num_predict") is not None and merged["num_predict"] < -2:
        raise InvalidRequestError("num_predict must be >= -2 (-1 = until the model stops)")
    temperature = merged.get("temperature")
    if temperature is not None and (not isinstance(temperature, (int, float)) or temperature < 0):
        raise InvalidRequestError(f"temperature must be a number >= 0, not {temperature!r}")
    return merged


def build_tools(tools: Sequence[Any] | None) -> list[dict[str, Any]] | None:
    if not tools:
        return None
    return [to_tool(tool) for tool in tools]


def put(body: dict[str, Any], **values: Any) -> dict[str, Any]:
    """Add the values that are set (``None`` means "leave it to the server")."""
    body.update((k, v) for k, v in values.items() if v is not None)
    return body


def check_logprobs(top_logprobs: int | None, logprobs: bool | None = None) -> None:
    """``top_logprobs`` is 0..20 (the server's range) and asks for ``logprobs``: with
    ``logprobs=False`` the server would return none, so the contradiction is an error.

    >>> check_logprobs(3, logprobs=False)
    Traceback (most recent call last):
    ...
    ollama_provider.errors.InvalidRequestError: top_logprobs=3 needs logprobs=True ...
    """
    if top_logprobs is None:
        return
    if isinstance(top_logprobs, bool) or not isinstance(top_logprobs, int) or not 0 <= top_logprobs <= 20:
        raise InvalidRequestError(f"top_logprobs must be an integer between 0 and 20, not {top_logprobs!r}")
    if logprobs is False:
        raise InvalidRequestError(
            f"top_logprobs={top_logprobs} needs logprobs=True (it was False): set logprobs=True "
            "or leave top_logprobs out"
        )


def model_or_default(model: str | None, default: str | None) -> str:
    return validate_model_name(model if model is not None else default)
