"""Incremental NDJSON decoding: bytes may be split anywhere, even inside a UTF-8 character.

>>> decoder = NDJSONDecoder()
>>> decoder.feed(b'{"a": 1}\\n{"b": "caf')
[{'a': 1}]
>>> decoder.feed(b'\\xc3\\xa9"}\\n\\n')
[{'b': 'café'}]
>>> decoder.close()
[]
"""

from __future__ import annotations

from typing import Any

import orjson

from .errors import InvalidResponseError

#: A line longer than this is not Ollama talking (the Go client's own limit is 8 MB).
MAX_LINE_BYTES = 64 * 1024 * 1024


def loads(data: bytes | str) -> Any:
    """Decode one JSON document, raising InvalidResponseError (never a JSON library error)."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        shown = data[:200] if isinstance(data, str) else data[:200].decode("utf-8", "replace")
        raise InvalidResponseError(f"malformed JSON from the server: {shown!r}") from exc


class NDJSONDecoder:
    """Feed raw bytes, get back the complete JSON objects they finish. Blank lines are skipped."""

    __slots__ = ("_pending",)

    def __init__(self) -> None:
        self._pending = b""

    def feed(self, data: bytes) -> list[Any]:
        """Decode every line that ``data`` completes."""
        return [loads(line) for line in self.lines(data)]

    def lines(self, data: bytes) -> list[bytes]:
        """The complete, non-blank lines that ``data`` finishes, not yet decoded."""
        if self._pending:
            data = self._pending + data
        if b"\n" not in data:
            self._pending = data
            self._check_size()
            return []
        lines = data.split(b"\n")
        self._pending = lines.pop()
        self._check_size()
        return [line for line in lines if line and not line.isspace()]

    def close(self) -> list[Any]:
        """Decode what is left once the stream has ended (a last line without its newline)."""
        rest, self._pending = self._pending, b""
        return [loads(rest)] if rest.strip() else []

    def _check_size(self) -> None:
        if len(self._pending) > MAX_LINE_BYTES:
            raise InvalidResponseError(f"an NDJSON line exceeded {MAX_LINE_BYTES} bytes")
