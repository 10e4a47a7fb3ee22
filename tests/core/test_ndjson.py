"""Incremental NDJSON decoding, whatever the chunking of the bytes."""

from __future__ import annotations

import json
import random

import pytest

from ollama_provider import InvalidResponseError
from ollama_provider._ndjson import NDJSONDecoder

OBJECTS = [{"message": {"content": text}, "done": False} for text in ["café", "東京", "🚀", "", "plain"]] + [
    {"done": True, "done_reason": "stop"}
]
PAYLOAD = b"".join(json.dumps(o, ensure_ascii=False).encode() + b"\n" for o in OBJECTS)


@pytest.mark.parametrize("seed", range(25))
def test_any_split_decodes_the_same(seed: int) -> None:
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, len(PAYLOAD)), rng.randint(1, 20)))
    pieces = [PAYLOAD[a:b] for a, b in zip([0, *cuts], [*cuts, len(PAYLOAD)], strict=True)]
    decoder = NDJSONDecoder()
    decoded = [obj for piece in pieces for obj in decoder.feed(piece)] + decoder.close()
    assert decoded == OBJECTS


def test_byte_by_byte_and_blank_lines() -> None:
    decoder = NDJSONDecoder()
    data = b"\n\r\n" + PAYLOAD.replace(b"\n", b"\n\n")
    decoded = [obj for i in range(len(data)) for obj in decoder.feed(data[i : i + 1])]
    assert decoded == OBJECTS and decoder.close() == []


def test_last_line_without_newline_is_kept() -> None:
    decoder = NDJSONDecoder()
    assert decoder.feed(b'{"a": 1}\n{"b"') == [{"a": 1}]
    assert decoder.feed(b": 2}") == []
    assert decoder.close() == [{"b": 2}]


def test_malformed_line_is_a_typed_error() -> None:
    decoder = NDJSONDecoder()
    with pytest.raises(InvalidResponseError, match="malformed JSON"):
        decoder.feed(b'{"a": 1}\n{oops}\n')
    with pytest.raises(InvalidResponseError):
        NDJSONDecoder().feed(b"\xff\xfe\n")
