"""Raw server objects -> typed responses, on shapes taken from the real recordings."""

from __future__ import annotations

from datetime import datetime, timezone

from ollama_provider._parsing import (
    finish_reason,
    parse_chat,
    parse_generate,
    parse_model_list,
    parse_running,
    parse_show,
    parse_timestamp,
)


def test_timestamps_with_any_number_of_fraction_digits() -> None:
    assert parse_timestamp("2026-11-26T17:28:31.220505799Z") == datetime(
        2026, 11, 26, 17, 28, 31, 220505, timezone.utc
    )
    assert parse_timestamp("2026-11-26T17:28:31Z") == datetime(2026, 11, 26, 17, 28, 31, tzinfo=timezone.utc)
    assert parse_timestamp("2026-11-26T18:28:31.5+01:00") == datetime(
        2026, 11, 26, 17, 28, 31, 500000, timezone.utc
    )
    assert parse_timestamp("yesterday") is None and parse_timestamp(None) is None


def test_finish_reason_normalisation() -> None:
    assert finish_reason("stop", False) == "stop"
    assert finish_reason("stop", True) == "tool_calls"
    assert finish_reason(None, True) == "tool_calls"
    assert finish_reason("length", True) == "length"
    assert finish_reason("load", False) == "load" and finish_reason("unload", False) == "unload"
    assert finish_reason(None, False) is None and finish_reason("weird", False) is None


def test_load_and_unload_answers_are_not_empty_answers() -> None:
    loaded = parse_generate({"model": "m", "response": "", "done": True, "done_reason": "load"})
    assert loaded.finish_reason == "load" and loaded.usage.total_tokens == 0
    unloaded = parse_chat(
        {"model": "m", "message": {"role": "assistant", "content": ""}, "done": True, "done_reason": "unload"}
    )
    assert unloaded.finish_reason == "unload"


def test_missing_metrics_default_to_zero_and_chunks_have_no_finish_reason() -> None:
    chunk = parse_chat({"model": "m", "message": {"role": "assistant", "content": "x"}, "done": False})
    assert chunk.finish_reason is None and chunk.eval_count == 0 and chunk.timings.tokens_per_second is None


def test_tool_call_without_id_or_index_gets_its_position() -> None:
    response = parse_chat(
        {
            "message": {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {"function": {"name": "a", "arguments": {"x": 1}}},
                    {"function": {"name": "b", "arguments": "{}"}},
                ],
            },
            "done": True,
        }
    )
    calls = response.message.tool_calls
    assert calls is not None
    assert [(c.id, c.function.index, c.function.arguments) for c in calls] == [
        (None, 0, {"x": 1}),
        (None, 1, {}),
    ]


def test_model_lists_and_show() -> None:
    models = parse_model_list(
        {
            "models": [
                {
                    "name": "a:latest",
                    "model": "a:latest",
                    "size": 3,
                    "modified_at": "2026-11-26T17:26:43.868523446Z",
                    "details": {"family": "bert", "parameter_size": "22M"},
                    "capabilities": ["embedding"],
                }
            ]
        }
    )
    assert models[0].details.family == "bert" and models[0].capabilities == ["embedding"]
    assert parse_model_list({"models": None}) == [] and parse_running({"models": []}) == []
    show = parse_show(
        {
            "parameters": 'stop "<|im_end|>"\nstop "<|im_start|>"\ntemperature 0',
            "model_info": {"general.architecture": "llama", "llama.context_length": 8192},
            "license": ["MIT", "Apache"],
            "capabilities": ["completion"],
        }
    )
    assert show.context_length == 8192
    assert show.parameter_values == {"stop": ["<|im_end|>", "<|im_start|>"], "temperature": ["0"]}
    assert show.license == "MIT\nApache"
    assert parse_show({"details": {"context_length": 2048}}).context_length == 2048
