"""Every error answer in the run's recordings, whichever release made them, raises the error its words call for.

The recordings of each supported release (``cassettes/recorded``: 0.33; ``cassettes/releases/0.12.11``)
hold the servers' real error answers. Each is mapped here through the core (status + body -> error) and
must land on the class its words call for in :data:`WORDINGS`. A wording no entry knows fails the test:
a new release (or a new scenario) brought words the client has not been taught, and they must be
classified, not left to the generic :class:`OllamaResponseError` by accident.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import yaml

from ollama_provider import (
    ContextLengthError,
    ModelNotFoundError,
    OllamaResponseError,
    ServerBusyError,
    UnsupportedCapabilityError,
)
from ollama_provider._protocol import error_from_response

from ..recordings import Exchange, recordings_dir, to_exchange

#: The server's words (a regex searched in the error message) and the class they call for; the first
#: entry that matches decides. Spellings of 0.12.11 and 0.33.0-rc2, as recorded.
WORDINGS: list[tuple[str, type[OllamaResponseError]]] = [
    (r"server busy", ServerBusyError),
    (r"^model ['\"][^'\"]+['\"] not found", ModelNotFoundError),
    (r"exceeds (the|maximum) context length", ContextLengthError),
    (
        r"does not support (tools|thinking|insert|chat|generate|completion|embeddings)",
        UnsupportedCapabilityError,
    ),
    (r'^think value "[a-z]+" is not supported for this model$', UnsupportedCapabilityError),
    (
        r"^Multimodal data provided, but model does not support multimodal requests",
        UnsupportedCapabilityError,
    ),
    # Plain response errors: nothing more precise to say about them.
    (r"^(invalid model name|model is required)$", OllamaResponseError),  # 0.33 | 0.12: a malformed name
    (r"^time: missing unit in duration", OllamaResponseError),
    (r"^option \"[a-z_]+\" must be of type", OllamaResponseError),
    (r"^pull model manifest: ", OllamaResponseError),  # a registry that cannot be reached
    (r"^404 page not found$|^405 method not allowed$|^404 not found$", OllamaResponseError),  # routes
]


def _error_answers() -> Iterator[tuple[str, Exchange]]:
    """Every recorded answer with an error status, with the cassette it is in."""
    root = recordings_dir()
    for path in sorted(root.rglob("*.yaml")):
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
        if not isinstance(data, dict) or data.get("version") != 1:
            continue
        for item in data["interactions"]:
            if int(item["response"]["status"]["code"]) >= 400:
                request = item["request"]
                yield (
                    str(path.relative_to(root)),
                    to_exchange(request["method"], request["uri"], request.get("body"), item["response"]),
                )


def test_every_recorded_error_answer_raises_the_error_its_words_call_for() -> None:
    checked, unknown, wrong = 0, [], []
    for name, exchange in _error_answers():
        if exchange.method == "HEAD":  # a HEAD answer has no body: its status is the answer (blob_exists)
            continue
        error = error_from_response(exchange.status, exchange.body.encode(), model="m")
        expected = next((cls for words, cls in WORDINGS if re.search(words, error.message)), None)
        if expected is None:
            unknown.append(f"{name}: {exchange.status} {error.message!r}")
        elif type(error) is not expected:
            wrong.append(f"{name}: {error.message!r} -> {type(error).__name__}, not {expected.__name__}")
        checked += 1

    assert not unknown, "error words no entry of WORDINGS knows (classify them):\n" + "\n".join(unknown)
    assert not wrong, "\n".join(wrong)
    assert checked >= 10  # the recordings hold the failure scenarios of tests/recorded/test_api_errors.py
