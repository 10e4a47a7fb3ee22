"""Builders of :class:`~ollama_provider._protocol.Call` objects: one per API operation.

Pure functions shared by :class:`OllamaProvider` and :class:`AsyncOllamaProvider`, so that the
two differ only in how they run a call. Every argument is validated here, before any I/O.

>>> call = chat(OllamaConfig(), "Hi", model="llama3.2", stream=True, temperature=0)
>>> call.method, call.path, call.body["messages"], call.body["options"], call.stream is not None
('POST', '/api/chat', [{'role': 'user', 'content': 'Hi'}], {'temperature': 0}, True)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ._names import validate_model_name
from ._parsing import (
    parse_chat,
    parse_embed,
    parse_generate,
    parse_model_list,
    parse_progress,
    parse_running,
    parse_show,
    parse_version,
)
from ._payloads import (
    KeepAlive,
    build_options,
    build_tools,
    check_logprobs,
    encode_image,
    model_or_default,
    normalise_format,
    normalise_keep_alive,
    normalise_messages,
    normalise_think,
    put,
)
from ._protocol import CHAT_STREAM, Call, progress_stream, stream_of
from .config import OllamaConfig
from .errors import InvalidRequestError
from .types import (
    ChatResponse,
    EmbedResponse,
    GenerateResponse,
    ModelInfo,
    Options,
    ProgressResponse,
    RunningModel,
    ShowResponse,
)

OptionsArg = Options | Mapping[str, Any] | None
#: What a request with images needs of its model. Checked before sending (``Call.needs``): Ollama
#: 0.12 answers 200 to an image for a text-only model and drops the image without a word.
_VISION = ("vision",)


def _keep_alive(config: OllamaConfig, keep_alive: KeepAlive | None) -> str | int | float | None:
    return normalise_keep_alive(keep_alive if keep_alive is not None else config.keep_alive)


def chat(
    config: OllamaConfig,
    messages: Any,
    *,
    model: str | None = None,
    tools: Sequence[Any] | None = None,
    format: Any = None,
    think: bool | str | None = None,
    stream: bool = False,
    keep_alive: KeepAlive | None = None,
    options: OptionsArg = None,
    logprobs: bool | None = None,
    top_logprobs: int | None = None,
    **common: Any,
) -> Call[ChatResponse]:
    name = model_or_default(model, config.model)
    check_logprobs(top_logprobs, logprobs)
    sent = normalise_messages(messages)
    body = put(
        {"model": name, "messages": sent, "stream": stream},
        tools=build_tools(tools),
        format=normalise_format(format),
        think=normalise_think(think),
        keep_alive=_keep_alive(config, keep_alive),
        options=build_options(options, **common) or None,
        logprobs=logprobs,
        top_logprobs=top_logprobs,
    )
    needs = _VISION if any("images" in message for message in sent) else ()
    stream_spec = CHAT_STREAM if stream else None
    return Call("POST", "/api/chat", parse_chat, body, stream_spec, name, slow_start=True, needs=needs)


def generate(
    config: OllamaConfig,
    prompt: str | None,
    *,
    model: str | None = None,
    suffix: str | None = None,
    system: str | None = None,
    template: str | None = None,
    raw: bool | None = None,
    images: Sequence[Any] | None = None,
    format: Any = None,
    think: bool | str | None = None,
    stream: bool = False,
    keep_alive: KeepAlive | None = None,
    options: OptionsArg = None,
    context: Sequence[int] | None = None,
    logprobs: bool | None = None,
    top_logprobs: int | None = None,
    **common: Any,
) -> Call[GenerateResponse]:
    name = model_or_default(model, config.model)
    if prompt is not None and not isinstance(prompt, str):
        raise InvalidRequestError(f"prompt must be a string, not {type(prompt).__name__}")
    if raw and (template or system or context):
        raise InvalidRequestError("raw=True cannot be combined with template, system or context")
    check_logprobs(top_logprobs, logprobs)
    body = put(
        {"model": name, "stream": stream},
        prompt=prompt,
        suffix=suffix,
        system=system,
        template=template,
        raw=raw,
        images=[encode_image(image) for image in images] if images else None,
        format=normalise_format(format),
        think=normalise_think(think),
        keep_alive=_keep_alive(config, keep_alive),
        options=build_options(options, **common) or None,
        context=list(context) if context else None,
        logprobs=logprobs,
        top_logprobs=top_logprobs,
    )
    stream_spec = stream_of(parse_generate) if stream else None
    needs = _VISION if images else ()
    return Call(
        "POST", "/api/generate", parse_generate, body, stream_spec, name, slow_start=True, needs=needs
    )


def embed(
    config: OllamaConfig,
    texts: list[str],
    *,
    model: str | None = None,
    truncate: bool | None = None,
    dimensions: int | None = None,
    keep_alive: KeepAlive | None = None,
    options: OptionsArg = None,
) -> Call[EmbedResponse]:
    name = model_or_default(model, config.model)
    if dimensions is not None and (
        isinstance(dimensions, bool) or not isinstance(dimensions, int) or dimensions < 1
    ):
        raise InvalidRequestError(f"dimensions must be a positive integer, not {dimensions!r}")
    body = put(
        {"model": name, "input": texts},
        truncate=truncate,
        dimensions=dimensions,
        keep_alive=_keep_alive(config, keep_alive),
        options=build_options(options) or None,
    )
    # Safe to send twice and short (once the model is loaded): a pool may hedge it.
    return Call("POST", "/api/embed", parse_embed, body, None, name, slow_start=True, hedge=True)


def embed_inputs(text: str | Sequence[str]) -> tuple[list[str], bool]:
    """The texts to embed and whether a single string was given."""
    if isinstance(text, str):
        return [text], True
    if not isinstance(text, Sequence) or isinstance(text, bytes):
        raise InvalidRequestError("embed() takes a string or a list of strings")
    texts = list(text)
    for i, item in enumerate(texts):
        if not isinstance(item, str):
            raise InvalidRequestError(f"embed() input {i} is a {type(item).__name__}, not a string")
    return texts, False


def batches(texts: list[str], size: int) -> list[tuple[int, list[str]]]:
    """``(offset, texts)`` slices of at most ``size`` texts, in order."""
    return [(start, texts[start : start + size]) for start in range(0, len(texts), size)]


def list_models() -> Call[list[ModelInfo]]:
    return Call("GET", "/api/tags", parse_model_list, hedge=True)


def list_running() -> Call[list[RunningModel]]:
    return Call("GET", "/api/ps", parse_running, hedge=True)


def show_model(name: str, *, verbose: bool | None = None) -> Call[ShowResponse]:
    validate_model_name(name)
    return Call(
        "POST", "/api/show", parse_show, put({"model": name}, verbose=verbose), None, name, hedge=True
    )


def version() -> Call[str]:
    return Call("GET", "/api/version", parse_version, hedge=True)


def _no_content(_: Any) -> None:
    return None


def delete_model(name: str) -> Call[None]:
    validate_model_name(name)
    return Call("DELETE", "/api/delete", _no_content, {"model": name}, None, name)


def copy_model(source: str, destination: str) -> Call[None]:
    validate_model_name(source)
    validate_model_name(destination)
    return Call(
        "POST", "/api/copy", _no_content, {"source": source, "destination": destination}, None, source
    )


def _progress_call(path: str, body: dict[str, Any], model: str, stream: bool) -> Call[ProgressResponse]:
    return Call(
        "POST",
        path,
        parse_progress,
        {**body, "stream": stream},
        progress_stream(parse_progress) if stream else None,
        model,
    )


def pull_model(name: str, *, insecure: bool | None = None, stream: bool = True) -> Call[ProgressResponse]:
    validate_model_name(name)
    return _progress_call("/api/pull", put({"model": name}, insecure=insecure), name, stream)


def push_model(name: str, *, insecure: bool | None = None, stream: bool = True) -> Call[ProgressResponse]:
    validate_model_name(name)
    return _progress_call("/api/push", put({"model": name}, insecure=insecure), name, stream)


def create_model(
    name: str,
    *,
    from_: str | None = None,
    files: Mapping[str, str] | None = None,
    system: str | None = None,
    template: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    messages: Any = None,
    quantize: str | None = None,
    stream: bool = True,
) -> Call[ProgressResponse]:
    validate_model_name(name)
    if from_ is None and not files:
        raise InvalidRequestError("create_model needs from_= (an existing model) or files=")
    if from_ is not None:
        validate_model_name(from_)
    body = put(
        {"model": name},
        **{"from": from_},
        files=dict(files) if files else None,
        system=system,
        template=template,
        parameters=dict(parameters) if parameters else None,
        messages=normalise_messages(messages) if messages else None,
        quantize=quantize,
    )
    return _progress_call("/api/create", body, from_ or name, stream)


def blob_exists(digest: str) -> Call[bool]:
    return Call("HEAD", f"/api/blobs/{digest}", lambda _: True, text=True)


def raw_request(method: str, path: str, body: Any = None) -> Call[Any]:
    """Any other route; the answer is decoded JSON, or text when it is not JSON."""
    if not path.startswith("/"):
        raise InvalidRequestError("path must start with '/' (e.g. '/api/version')")
    return Call(method.upper(), path, _json_or_text, body, text=True)


def _json_or_text(text: Any) -> Any:
    from ._ndjson import loads

    if isinstance(text, str) and text.lstrip().startswith(("{", "[")):
        return loads(text)
    return text
