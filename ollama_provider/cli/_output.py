"""Terminal output of the ``ollama-provider`` command: JSON for scripts, rich text for people.

Also the one place where core errors become exit codes and messages a user can act on.

>>> from datetime import timezone
>>> to_jsonable({"when": datetime(2026, 1, 2, tzinfo=timezone.utc), "sizes": (1, 2)})
{'when': '2026-01-02T00:00:00+00:00', 'sizes': [1, 2]}
>>> human_size(45_949_364), human_size(None)
('45.9 MB', '-')
>>> exit_code_for(ModelNotFoundError("model 'x' not found", model="x")) == ExitCode.MODEL_NOT_FOUND
True
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from datetime import datetime
from enum import IntEnum
from typing import Any

from rich.console import Console

from ..errors import (
    ContextLengthError,
    InvalidRequestError,
    InvalidResponseError,
    ModelNotFoundError,
    OllamaConnectionError,
    OllamaError,
    OllamaTimeoutError,
    ServerBusyError,
    UnsupportedCapabilityError,
)

__all__ = [
    "ExitCode",
    "Output",
    "describe_error",
    "error_hint",
    "exit_code_for",
    "human_duration",
    "human_size",
    "to_jsonable",
]


class ExitCode(IntEnum):
    """Exit statuses of ``ollama-provider`` (documented in the README and ``docs/cli.md``).

    >>> int(ExitCode.UNREACHABLE), int(ExitCode.INTERRUPTED)
    (3, 130)
    """

    OK = 0
    ERROR = 1  # the server answered with an error, or something else went wrong
    USAGE = 2  # bad arguments or an invalid request (caught before any I/O)
    UNREACHABLE = 3  # no Ollama at the host, or it timed out
    MODEL_NOT_FOUND = 4  # the model is not installed: pull it
    UNSUPPORTED = 5  # the model cannot do that (tools, thinking, images, embeddings)
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT, the shell convention)


def exit_code_for(error: BaseException) -> ExitCode:
    """The exit status for an error raised by the core.

    >>> exit_code_for(OllamaConnectionError("refused")) == ExitCode.UNREACHABLE
    True
    >>> exit_code_for(InvalidRequestError("bad name")) == ExitCode.USAGE
    True
    """
    if isinstance(error, KeyboardInterrupt):
        return ExitCode.INTERRUPTED
    if isinstance(error, (OllamaConnectionError, OllamaTimeoutError)):
        return ExitCode.UNREACHABLE
    if isinstance(error, ModelNotFoundError):
        return ExitCode.MODEL_NOT_FOUND
    if isinstance(error, UnsupportedCapabilityError):
        return ExitCode.UNSUPPORTED
    if isinstance(error, InvalidRequestError):
        return ExitCode.USAGE
    return ExitCode.ERROR


def error_hint(error: BaseException, host: str) -> str | None:
    """What the user can do about *error*, or ``None`` when the message already says it.

    >>> print(error_hint(ModelNotFoundError("gone", model="qwen2.5:7b"), "http://127.0.0.1:11434"))
    Pull it first: ollama-provider pull qwen2.5:7b (or: ollama pull qwen2.5:7b)
    """
    if isinstance(error, OllamaConnectionError):
        return (
            f"No Ollama answered at {host}. Start it with `ollama serve` (or open the Ollama app), "
            "or point --host / OLLAMA_HOST at a running server. To try things offline, serve the "
            "recordings with `ollama-provider replay` and use --host http://127.0.0.1:11434."
        )
    if isinstance(error, OllamaTimeoutError):
        return (
            f"Ollama at {host} did not answer in time. A large model can take minutes to load on "
            "first use: try again, or raise --timeout."
        )
    if isinstance(error, ModelNotFoundError) and error.model:
        return f"Pull it first: ollama-provider pull {error.model} (or: ollama pull {error.model})"
    if isinstance(error, UnsupportedCapabilityError):
        return "Check what the model supports with: ollama-provider show MODEL (see 'capabilities')."
    if isinstance(error, ContextLengthError):
        return "Shorten the input, or allow truncation (the server's default)."
    if isinstance(error, ServerBusyError):
        return "The server is overloaded; it was retried already. Wait a moment and try again."
    if isinstance(error, InvalidResponseError):
        return f"{host} does not speak the Ollama API: is --host / OLLAMA_HOST the right address?"
    return None


def to_jsonable(value: Any) -> Any:
    """Core dataclasses, datetimes and containers as plain JSON-serialisable values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    return value


def human_size(size: int | float | None) -> str:
    """Bytes in decimal units, as Ollama's own CLI shows them.

    >>> human_size(1_500), human_size(3_400_000_000)
    ('1.5 KB', '3.4 GB')
    """
    if size is None:
        return "-"
    amount = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if amount < 1000 or unit == "TB":
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1000
    raise AssertionError("unreachable")


def human_duration(seconds: float | None) -> str:
    """A short duration for people.

    >>> human_duration(0.0123), human_duration(2.5), human_duration(None)
    ('12 ms', '2.50 s', '-')
    """
    if seconds is None:
        return "-"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


class Output:
    """Where the command writes: JSON on stdout for scripts (``--json``), or rich text for people.

    Errors and side notes go to stderr so that stdout stays the answer (pipe-friendly).

    >>> out = Output(json_mode=True)
    >>> out.json({"ok": True})
    {"ok": true}
    """

    def __init__(self, *, json_mode: bool = False, stdout: Console | None = None) -> None:
        self.json_mode = json_mode
        self.console = stdout or Console(highlight=False, soft_wrap=False)
        self.errors = Console(stderr=True, highlight=False, soft_wrap=True)  # messages stay greppable

    def json(self, value: Any) -> None:
        """Print *value* as one line of JSON (ready for ``jq``)."""
        print(json.dumps(to_jsonable(value), ensure_ascii=False), flush=True)

    def note(self, text: str) -> None:
        """A side remark for people (stderr; silent in ``--json`` mode).

        >>> Output(json_mode=True).note("not shown")
        """
        if not self.json_mode:
            self.errors.print(text, style="dim", markup=False)

    def error(self, error: BaseException, host: str) -> ExitCode:
        """Report *error* (JSON on stdout with ``--json``, else text on stderr); return its exit code.

        >>> Output(json_mode=True).error(OllamaConnectionError("refused"), "http://h:1") == 3
        {"error": "refused", "type": "OllamaConnectionError", "hint": "No Ollama ...", "exit_code": 3}
        True
        """
        code = exit_code_for(error)
        hint = error_hint(error, host)
        message = str(error) or type(error).__name__
        if self.json_mode:
            self.json({"error": message, "type": type(error).__name__, "hint": hint, "exit_code": int(code)})
        else:
            self.errors.print(f"Error: {message}", style="bold red", markup=False)
            if hint:
                self.errors.print(hint, markup=False)
        return code


def describe_error(error: OllamaError) -> str:
    """``Type: message``, for step reports that must not stop the program.

    >>> describe_error(OllamaTimeoutError("read timed out"))
    'OllamaTimeoutError: read timed out'
    """
    return f"{type(error).__name__}: {error}"
