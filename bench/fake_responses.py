"""Pre-encoded HTTP responses of the fake Ollama: every body is built once per size and then served as bytes.

The point is that the server spends (almost) nothing per chunk, so the benchmark measures client cost.
A stream is a single ``bytes`` object holding the headers and every chunked-encoding frame, which the
server hands to the transport in one write.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache

from bench import payloads

_JSON = "application/json; charset=utf-8"
_NDJSON = "application/x-ndjson"

# Fake but plausible timings (nanoseconds), present on the final chunk like on a real server.
_METRICS = {
    "total_duration": 1_234_567_890,
    "load_duration": 12_345_678,
    "prompt_eval_count": 26,
    "prompt_eval_duration": 23_456_789,
}


def _dumps(obj: object) -> bytes:
    # Compact separators, as Go's encoding/json writes them.
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def http_response(status: str, content_type: str, body: bytes, *, keep_alive: bool = True) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        + ("" if keep_alive else "Connection: close\r\n")
        + "\r\n"
    )
    return head.encode() + body


def _chunked_stream(lines: list[bytes]) -> bytes:
    """One HTTP/1.1 chunked response with one chunk frame per NDJSON line, as Ollama flushes per token."""
    head = f"HTTP/1.1 200 OK\r\nContent-Type: {_NDJSON}\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
    frames = [b"%x\r\n%b\r\n" % (len(line), line) for line in lines]
    return head + b"".join(frames) + b"0\r\n\r\n"


def _final_fields(n_chunks: int) -> dict[str, object]:
    return {
        "done": True,
        "done_reason": "stop",
        **_METRICS,
        "eval_count": max(n_chunks - 1, 0),
        "eval_duration": 1_000_000 * n_chunks,
    }


def _chat_line(model: str, content: str) -> bytes:
    return _dumps(
        {
            "model": model,
            "created_at": payloads.CREATED_AT,
            "message": {"role": "assistant", "content": content},
            "done": False,
        }
    )


def _generate_line(model: str, text: str) -> bytes:
    return _dumps({"model": model, "created_at": payloads.CREATED_AT, "response": text, "done": False})


@lru_cache(maxsize=64)
def chat(model: str, stream: bool) -> bytes:
    n_chunks = payloads.size_from_model(model, payloads.DEFAULT_CHUNKS)
    final = {
        "model": model,
        "created_at": payloads.CREATED_AT,
        "message": {"role": "assistant", "content": ""},
        **_final_fields(n_chunks),
    }
    if not stream:
        final["message"] = {"role": "assistant", "content": payloads.expected_text(n_chunks)}
        return http_response("200 OK", _JSON, _dumps(final))
    # Each distinct token line is encoded once and reused: 16 encodes however long the stream.
    token_lines = [_chat_line(model, t) + b"\n" for t in payloads.TOKENS]
    lines = [token_lines[i % len(token_lines)] for i in range(n_chunks - 1)]
    return _chunked_stream([*lines, _dumps(final) + b"\n"])


@lru_cache(maxsize=64)
def generate(model: str, stream: bool) -> bytes:
    n_chunks = payloads.size_from_model(model, payloads.DEFAULT_CHUNKS)
    final = {
        "model": model,
        "created_at": payloads.CREATED_AT,
        "response": "",
        **_final_fields(n_chunks),
        "context": list(range(1, 33)),
    }
    if not stream:
        final["response"] = payloads.expected_text(n_chunks)
        return http_response("200 OK", _JSON, _dumps(final))
    token_lines = [_generate_line(model, t) + b"\n" for t in payloads.TOKENS]
    lines = [token_lines[i % len(token_lines)] for i in range(n_chunks - 1)]
    return _chunked_stream([*lines, _dumps(final) + b"\n"])


@lru_cache(maxsize=16)
def _vectors(dim: int) -> tuple[bytes, ...]:
    """A few distinct L2-normalised vectors, printed with float32 precision like Ollama's Go encoder."""
    vectors = []
    for seed in range(16):
        raw = [math.sin(seed * 7.3 + i * 0.61) for i in range(dim)]
        norm = math.sqrt(sum(v * v for v in raw)) or 1.0
        vectors.append(("[" + ",".join(f"{v / norm:.9g}" for v in raw) + "]").encode())
    return tuple(vectors)


@lru_cache(maxsize=32)
def embed(model: str, n_inputs: int) -> bytes:
    dim = payloads.size_from_model(model, payloads.DEFAULT_EMBED_DIM)
    vectors = _vectors(dim)
    joined = b",".join(vectors[i % len(vectors)] for i in range(n_inputs))
    # Reopen the object to splice the big array in without re-encoding it.
    head = _dumps({"model": model})[:-1]
    tail = _dumps({"total_duration": 14_143_917, "load_duration": 1_019_500, "prompt_eval_count": n_inputs})
    body = head + b',"embeddings":[' + joined + b"]," + tail[1:]
    return http_response("200 OK", _JSON, body)


def _model_entry(name: str) -> dict[str, object]:
    return {
        "name": name,
        "model": name,
        "modified_at": payloads.CREATED_AT,
        "size": 397_821_319,
        "digest": "a" * 64,
        "details": {
            "parent_model": "",
            "format": "gguf",
            "family": "qwen2",
            "families": ["qwen2"],
            "parameter_size": "494.03M",
            "quantization_level": "Q4_K_M",
        },
    }


@lru_cache(maxsize=64)
def show(model: str) -> bytes:
    body = {
        "license": "",
        "modelfile": f"FROM {model}\n",
        "parameters": 'stop                           "<|im_end|>"',
        "template": "{{ .Prompt }}",
        "details": _model_entry(model)["details"],
        "model_info": {
            "general.architecture": "qwen2",
            "general.parameter_count": 494032768,
            "qwen2.context_length": 32768,
            "qwen2.embedding_length": 896,
        },
        "capabilities": ["completion", "tools"],
        "modified_at": payloads.CREATED_AT,
    }
    return http_response("200 OK", _JSON, _dumps(body))


@lru_cache(maxsize=1)
def tags() -> bytes:
    models = [_model_entry(payloads.chat_model(payloads.DEFAULT_CHUNKS)), _model_entry(payloads.EMBED_MODEL)]
    return http_response("200 OK", _JSON, _dumps({"models": models}))


@lru_cache(maxsize=1)
def version() -> bytes:
    return http_response("200 OK", _JSON, _dumps({"version": "0.33.0-rc2"}))


@lru_cache(maxsize=1)
def root() -> bytes:
    return http_response("200 OK", "text/plain; charset=utf-8", b"Ollama is running")


def not_found(*, keep_alive: bool = True) -> bytes:
    # Ollama (gin) answers unknown routes in plain text, not JSON.
    return http_response("404 Not Found", "text/plain", b"404 page not found", keep_alive=keep_alive)


def error(status: str, message: str, *, keep_alive: bool = True) -> bytes:
    return http_response(status, _JSON, _dumps({"error": message}), keep_alive=keep_alive)


def stats(connections: int, requests: int, cpu_s: float) -> bytes:
    body = {"connections": connections, "requests": requests, "cpu_s": cpu_s}
    return http_response("200 OK", _JSON, _dumps(body))
