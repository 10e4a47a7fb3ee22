"""Validation and normalisation of everything a user passes, before any I/O."""

from __future__ import annotations

import base64
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from ollama_provider import (
    InvalidRequestError,
    Message,
    OllamaConfig,
    Options,
    ToolCall,
    ToolCallFunction,
)
from ollama_provider import _calls as calls
from ollama_provider._payloads import (
    build_options,
    check_logprobs,
    decode_arguments,
    encode_image,
    normalise_format,
    normalise_keep_alive,
    normalise_messages,
    normalise_think,
)

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)
CONFIG = OllamaConfig()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("5m", "5m"),
        ("1h30m", "1h30m"),
        ("0", "0"),
        ("-1m", "-1m"),
        (300, 300),
        (-1, -1),
        (2.5, 2.5),
        (timedelta(minutes=2), 120.0),
        (None, None),
    ],
)
def test_keep_alive_accepts_what_the_server_accepts(value: Any, expected: Any) -> None:
    assert normalise_keep_alive(value) == expected


@pytest.mark.parametrize("value", ["300", "five minutes", "5 m", True, [1]])
def test_keep_alive_rejects_what_the_server_rejects(value: Any) -> None:
    with pytest.raises(InvalidRequestError, match="keep_alive"):
        normalise_keep_alive(value)


def test_keep_alive_falls_back_to_the_config_default() -> None:
    body = calls.chat(OllamaConfig(keep_alive="10m"), "hi", model="m").body
    assert body is not None and body["keep_alive"] == "10m"
    body = calls.chat(OllamaConfig(keep_alive="10m"), "hi", model="m", keep_alive=0).body
    assert body is not None and body["keep_alive"] == 0


@pytest.mark.parametrize("value", [True, False, None, "low", "medium", "HIGH", "max"])
def test_think_values(value: Any) -> None:
    result = normalise_think(value)
    assert result == (value.lower() if isinstance(value, str) else value)


def test_think_rejects_unknown_levels() -> None:
    with pytest.raises(InvalidRequestError, match="think"):
        normalise_think("extreme")


class Person(BaseModel):
    name: str
    age: int


def test_format_variants() -> None:
    assert normalise_format("json") == "json"
    assert normalise_format(None) is None and normalise_format("") is None
    schema = normalise_format(Person)
    assert isinstance(schema, dict) and schema["required"] == ["name", "age"]
    assert normalise_format({"type": "object"}) == {"type": "object"}
    with pytest.raises(InvalidRequestError):
        normalise_format(42)


def test_images_from_bytes_path_data_url_and_base64(tmp_path: Path) -> None:
    expected = base64.b64encode(PNG).decode()
    image_file = tmp_path / "pixel.png"
    image_file.write_bytes(PNG)
    assert encode_image(PNG) == expected
    assert encode_image(image_file) == expected
    assert encode_image(str(image_file)) == expected
    assert encode_image("data:image/png;base64," + expected) == expected
    assert encode_image(expected) == expected


@pytest.mark.parametrize(
    "bad", ["not base64 at all!", "data:image/png,rawbytes", 12, Path("/no/such/file.png")]
)
def test_bad_images_fail_before_io(bad: Any) -> None:
    with pytest.raises(InvalidRequestError):
        encode_image(bad)


def test_message_shapes() -> None:
    call = ToolCall(ToolCallFunction("get_weather", {"city": "Paris"}, 0), "call_1")
    messages = normalise_messages(
        [
            {"role": "system", "content": "be brief"},
            Message("user", "hi", images=[PNG]),
            Message("assistant", "", tool_calls=[call]),
            {"role": "tool", "content": "sunny", "tool_name": "get_weather", "tool_call_id": "call_1"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"function": {"name": "f", "arguments": '{"a": 1}'}}],
            },
        ]
    )
    assert messages[1]["images"] == [base64.b64encode(PNG).decode()]
    assert messages[2]["tool_calls"] == [
        {"function": {"name": "get_weather", "arguments": {"city": "Paris"}, "index": 0}, "id": "call_1"}
    ]
    assert messages[3] == {
        "role": "tool",
        "content": "sunny",
        "tool_name": "get_weather",
        "tool_call_id": "call_1",
    }
    assert messages[4]["content"] == "" and messages[4]["tool_calls"][0]["function"]["arguments"] == {"a": 1}


@pytest.mark.parametrize(
    ("messages", "match"),
    [
        ([{"content": "x"}], "role"),
        ([{"role": "", "content": "x"}], "role"),
        ([{"role": 3, "content": "x"}], "role"),
        ([{"role": "assistant", "content": "", "thinking": 3}], "thinking"),
        ([{"role": "user", "content": 3}], "content"),
        ([42], "message 0"),
        ([{"role": "assistant", "content": "", "tool_calls": [{"nope": 1}]}], "tool call"),
    ],
)
def test_wrong_message_shapes_fail_before_io(messages: Any, match: str) -> None:
    with pytest.raises(InvalidRequestError, match=match):
        calls.chat(CONFIG, messages, model="m")


def test_roles_outside_the_usual_four_pass_through() -> None:
    # Some chat templates read roles of their own (a "control" message turns thinking on); the
    # server takes any role name, so only the shape is checked.
    body = calls.chat(
        CONFIG, [{"role": "control", "content": "thinking"}, {"role": "USER", "content": "hi"}], model="m"
    ).body
    assert body is not None
    assert body["messages"] == [{"role": "control", "content": "thinking"}, {"role": "user", "content": "hi"}]


def test_empty_thinking_is_sent_back_as_given() -> None:
    messages = normalise_messages(
        [{"role": "assistant", "content": "4", "thinking": ""}, {"role": "assistant", "content": "5"}]
    )
    assert messages == [
        {"role": "assistant", "content": "4", "thinking": ""},
        {"role": "assistant", "content": "5"},
    ]


@pytest.mark.parametrize(
    ("top_logprobs", "logprobs"), [(-1, True), (21, True), (2.5, True), (True, True), (3, False)]
)
def test_contradictory_or_out_of_range_top_logprobs_fail(top_logprobs: Any, logprobs: bool) -> None:
    with pytest.raises(InvalidRequestError, match="top_logprobs"):
        check_logprobs(top_logprobs, logprobs)


def test_top_logprobs_in_range_pass() -> None:
    for top in (None, 0, 5, 20):
        check_logprobs(top, True)
    check_logprobs(None, False)


def test_options_merge_and_validation() -> None:
    merged = build_options(Options(temperature=0.5, seed=1, extra={"min_p": 0.1}), temperature=0, stop="END")
    assert merged == {"temperature": 0, "seed": 1, "min_p": 0.1, "stop": ["END"]}
    assert build_options({"num_ctx": 2048, "top_k": None}) == {"num_ctx": 2048}
    for bad in (
        {"num_ctx": -1},
        {"num_ctx": 0},
        {"num_ctx": "4096"},
        {"num_predict": -5},
        {"temperature": -1},
        {"seed": 1.5},
    ):
        with pytest.raises(InvalidRequestError):
            build_options(bad)


def test_decode_arguments_tolerates_encodings_but_keeps_string_values() -> None:
    assert decode_arguments({"a": 1}) == {"a": 1}
    assert decode_arguments('{"a": 1}') == {"a": 1}
    assert decode_arguments('"{\\"a\\": 1}"') == {"a": 1}  # double-encoded
    assert decode_arguments(None) == {} and decode_arguments("") == {}
    assert decode_arguments({"code": '{"not": "decoded"}'}) == {"code": '{"not": "decoded"}'}
    assert decode_arguments("plain text") == {"value": "plain text"}
    assert decode_arguments("[1, 2]") == {"value": [1, 2]}


@pytest.mark.parametrize("name", ["", "  ", None, "bad name!", "a/b/c/d:tag!", "-leading", "x" * 81])
def test_invalid_model_names_fail_before_io(name: Any) -> None:
    with pytest.raises(InvalidRequestError):
        calls.chat(CONFIG, "hi", model=name)


def test_model_falls_back_to_the_configured_default() -> None:
    body = calls.generate(OllamaConfig(model="llama3.2"), "hi").body
    assert body is not None and body["model"] == "llama3.2"


def test_generate_rejects_raw_with_template_and_bad_prompts() -> None:
    with pytest.raises(InvalidRequestError, match="raw"):
        calls.generate(CONFIG, "x", model="m", raw=True, system="s")
    with pytest.raises(InvalidRequestError, match="prompt"):
        calls.generate(CONFIG, ["x"], model="m")  # type: ignore[arg-type]


def test_embed_inputs_and_dimensions() -> None:
    assert calls.embed_inputs("a") == (["a"], True)
    assert calls.embed_inputs(("a", "b")) == (["a", "b"], False)
    with pytest.raises(InvalidRequestError, match="input 1"):
        calls.embed_inputs(["a", 2])  # type: ignore[list-item]
    with pytest.raises(InvalidRequestError):
        calls.embed_inputs(b"bytes")  # type: ignore[arg-type]
    for bad in (0, -3, True, 1.5):
        with pytest.raises(InvalidRequestError, match="dimensions"):
            calls.embed(CONFIG, ["a"], model="m", dimensions=bad)  # type: ignore[arg-type]
    assert calls.batches(["a", "b", "c"], 2) == [(0, ["a", "b"]), (2, ["c"])]


def test_top_logprobs_range() -> None:
    with pytest.raises(InvalidRequestError, match="top_logprobs"):
        calls.chat(CONFIG, "hi", model="m", top_logprobs=21)
    body = calls.chat(CONFIG, "hi", model="m", logprobs=True, top_logprobs=2).body
    assert body is not None and (body["logprobs"], body["top_logprobs"]) == (True, 2)


def test_create_model_needs_a_source() -> None:
    with pytest.raises(InvalidRequestError, match="from_"):
        calls.create_model("new:model")
    body = calls.create_model(
        "pirate:test", from_="smollm2:135m", system="Arr", parameters={"temperature": 0.2}
    ).body
    assert body == {
        "model": "pirate:test",
        "from": "smollm2:135m",
        "system": "Arr",
        "parameters": {"temperature": 0.2},
        "stream": True,
    }


def test_raw_request_path_must_be_absolute() -> None:
    with pytest.raises(InvalidRequestError):
        calls.raw_request("GET", "api/version")
