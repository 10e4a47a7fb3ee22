"""What the adapter sends and how it reads answers, checked on an in-memory httpx transport.

``client_kwargs={"transport": httpx.MockTransport(...)}`` reaches the core's httpx clients, so these
tests see the exact request bodies. The answers are scripted here (not recordings) to pin behaviour
no recording shows: forced-tool JSON answers, option mapping, tool_choice="none", secrets.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from langchain_core.exceptions import OutputParserException
from langchain_core.load import dumpd, dumps, load
from langchain_core.messages import HumanMessage
from langchain_ollama_provider import ChatOllama, OllamaEmbeddings, OllamaLLM
from pydantic import BaseModel


class Weather(BaseModel):
    """Weather in a city."""

    city: str


def line(content: str = "", done: bool = False, **message: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "model": "m",
        "created_at": "2026-01-01T00:00:00Z",
        "message": {"role": "assistant", "content": content, **message},
        "done": done,
    }
    if done:
        out.update(done_reason="stop", prompt_eval_count=3, eval_count=2, eval_duration=10**9)
    return out


class Server:
    """Scripted Ollama: records request bodies, answers chat with the given NDJSON lines."""

    def __init__(self, *lines: dict[str, Any]) -> None:
        self.lines = list(lines) or [line("hi"), line(done=True)]
        self.bodies: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.bodies.append(body)
        if request.url.path == "/api/show":  # asked before a request with images: a vision model
            return httpx.Response(200, json={"capabilities": ["completion", "vision"]})
        if request.url.path == "/api/embed":
            return httpx.Response(200, json={"model": "e", "embeddings": [[0.5, 0.5] for _ in body["input"]]})
        if not body.get("stream", True):
            return httpx.Response(200, json=self.lines[-1] | {"message": self.lines[0]["message"]})
        text = "".join(json.dumps(item) + "\n" for item in self.lines)
        return httpx.Response(200, text=text, headers={"content-type": "application/x-ndjson"})

    def kwargs(self) -> dict[str, Any]:
        return {"client_kwargs": {"transport": httpx.MockTransport(self)}}

    def async_kwargs(self) -> dict[str, Any]:
        return {"async_client_kwargs": {"transport": httpx.MockTransport(self)}}


def test_construction_builds_no_provider() -> None:
    model = ChatOllama(model="m")
    assert model._sync_provider is None and model._async_provider is None
    assert model.provider is model.provider  # built once, then cached


def test_standard_params_reach_the_request_and_the_core_config() -> None:
    server = Server()
    model = ChatOllama(
        model="m",
        max_tokens=7,
        temperature=0.1,
        stop=["x"],
        timeout=9,
        max_retries=1,
        keep_alive="1m",
        num_ctx=2048,
        headers={"X-Team": "a"},
        **server.kwargs(),
    )
    model.invoke("hi")
    body = server.bodies[0]
    assert body["options"] == {"num_predict": 7, "temperature": 0.1, "stop": ["x"], "num_ctx": 2048}
    assert body["keep_alive"] == "1m" and body["stream"] is True
    config = model.provider.config
    assert (config.timeout, config.retries, dict(config.headers)) == (9.0, 1, {"X-Team": "a"})


def test_per_call_overrides_win_over_the_instance() -> None:
    server = Server()
    model = ChatOllama(model="m", temperature=0.5, stop=["x"], **server.kwargs())
    model.invoke("hi", model="other:1b", temperature=0, max_tokens=3, stop=["y"], keep_alive=0)
    body = server.bodies[0]
    assert body["model"] == "other:1b"
    assert body["options"] == {"temperature": 0, "num_predict": 3, "stop": ["y"]}
    assert body["keep_alive"] == 0
    assert model._get_ls_params(model="other:1b", max_tokens=3)["ls_max_tokens"] == 3


def test_unknown_call_kwargs_are_an_error_not_silently_dropped() -> None:
    with pytest.raises(TypeError, match="unexpected keyword arguments: \\['frequency'\\]"):
        ChatOllama(model="m", **Server().kwargs()).invoke("hi", frequency=2)


def test_tool_choice_none_sends_no_tools() -> None:
    server = Server()
    ChatOllama(model="m", **server.kwargs()).bind_tools([Weather], tool_choice="none").invoke("hi")
    assert "tools" not in server.bodies[0] and "format" not in server.bodies[0]


def test_unknown_forced_tool_is_rejected_at_bind_time() -> None:
    with pytest.raises(ValueError, match="not one of the tools"):
        ChatOllama(model="m").bind_tools([Weather], tool_choice="Elsewhere")


def test_forced_tool_json_answer_becomes_a_tool_call() -> None:
    # A template without tool support answers the forcing format with plain JSON content.
    answer = '{"name": "Weather", "arguments": {"city": "Oslo"}}'
    server = Server(line(answer[:20]), line(answer[20:]), line(done=True))
    bound = ChatOllama(model="m", **server.kwargs()).bind_tools([Weather], tool_choice="any")
    message = bound.invoke("weather?")
    assert message.content == ""
    assert [(c["name"], c["args"]) for c in message.tool_calls] == [("Weather", {"city": "Oslo"})]
    sent = server.bodies[0]["format"]
    assert sent["properties"]["name"] == {"type": "string", "enum": ["Weather"]}
    assert sent["properties"]["arguments"]["required"] == ["city"]


def test_any_with_several_tools_admits_each_of_them() -> None:
    server = Server(line('{"name": "b", "arguments": {}}'), line(done=True))
    tools = [
        {"name": name, "description": name, "parameters": {"type": "object", "properties": {}}}
        for name in "ab"
    ]
    message = ChatOllama(model="m", **server.kwargs()).bind_tools(tools, tool_choice="required").invoke("x")
    assert [schema["properties"]["name"]["enum"] for schema in server.bodies[0]["format"]["anyOf"]] == [
        ["a"],
        ["b"],
    ]
    assert message.tool_calls[0]["name"] == "b"


def test_forced_tool_that_is_not_answered_returns_the_text() -> None:
    server = Server(line("sorry, no"), line(done=True))
    message = (
        ChatOllama(model="m", **server.kwargs()).bind_tools([Weather], tool_choice="Weather").invoke("x")
    )
    assert message.content == "sorry, no" and message.tool_calls == []


@pytest.mark.parametrize("method", ["json_schema", "json_mode", "function_calling"])
def test_structured_output_of_invalid_answer_raises_never_none(method: str) -> None:
    server = Server(line("not json at all"), line(done=True))
    chain = ChatOllama(model="m", **server.kwargs()).with_structured_output(Weather, method=method)  # type: ignore[arg-type]
    with pytest.raises(OutputParserException):
        chain.invoke("x")


def test_structured_output_function_calling_with_a_dict_schema() -> None:
    server = Server(line('{"name": "Weather", "arguments": {"city": "Rome"}}'), line(done=True))
    schema = {"name": "Weather", "description": "w", "parameters": Weather.model_json_schema()}
    chain = ChatOllama(model="m", **server.kwargs()).with_structured_output(schema, method="function_calling")
    assert chain.invoke("x") == {"city": "Rome"}


def test_include_raw_returns_the_parsing_error() -> None:
    server = Server(line("[1, 2]"), line(done=True))
    out = (
        ChatOllama(model="m", **server.kwargs())
        .with_structured_output({"title": "T", "type": "object", "properties": {}}, include_raw=True)
        .invoke("x")
    )
    assert out["parsed"] is None and isinstance(out["parsing_error"], OutputParserException)


def test_images_of_every_form_become_base64() -> None:
    server = Server()
    pixel = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
    message = HumanMessage(
        [
            {"type": "text", "text": "look"},
            {"type": "image_url", "image_url": f"data:image/png;base64,{pixel}"},
            {"type": "image", "base64": pixel, "mime_type": "image/png"},
            {"type": "image", "source_type": "base64", "data": pixel, "mime_type": "image/png"},
        ]
    )
    ChatOllama(model="m", **server.kwargs()).invoke([message])
    sent = server.bodies[-1]["messages"][0]  # after the model's show answer (its capabilities)
    assert sent["content"] == "look" and sent["images"] == [pixel] * 3


def test_remote_image_urls_are_refused_before_any_request() -> None:
    server = Server()
    message = HumanMessage([{"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}])
    with pytest.raises(ValueError, match="does not fetch image URLs"):
        ChatOllama(model="m", **server.kwargs()).invoke([message])
    assert server.bodies == []


def test_async_model_works_across_event_loops() -> None:
    server = Server()
    model = ChatOllama(model="m", **server.async_kwargs())
    first = asyncio.run(model.ainvoke("hi"))
    second = asyncio.run(model.ainvoke("hi"))
    assert first.content == second.content == "hi"
    assert model._sync_provider is None  # the async path never built a sync client


@pytest.mark.filterwarnings("ignore::langchain_core._api.beta_decorator.LangChainBetaWarning")
def test_serialisation_leaves_out_credentials() -> None:
    model = ChatOllama(model="m", base_url="http://me:pw@box:1", headers={"Authorization": "Bearer s3cret"})
    text = dumps(model)
    assert "s3cret" not in text and "pw@" not in text
    restored = load(dumpd(model), allowed_objects="all", valid_namespaces=["langchain_ollama_provider"])
    assert isinstance(restored, ChatOllama) and restored.base_url == "http://box:1"


def test_base_url_userinfo_becomes_basic_auth() -> None:
    config = ChatOllama(model="m", base_url="http://me:pw@box:1").provider.config
    assert config.base_url == "http://box:1"
    assert dict(config.request_headers)["Authorization"] == "Basic bWU6cHc="


def test_llm_maps_max_tokens_and_returns_usage() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        assert body["options"] == {"num_predict": 4} and body["prompt"] == "say"
        done = {
            "model": "m",
            "created_at": "",
            "response": "!",
            "done": True,
            "done_reason": "length",
            "eval_count": 4,
        }
        lines = [{"model": "m", "created_at": "", "response": "hey", "done": False}, done]
        return httpx.Response(200, text="".join(json.dumps(item) + "\n" for item in lines))

    llm = OllamaLLM(model="m", max_tokens=4, client_kwargs={"transport": httpx.MockTransport(handler)})
    result = llm.generate(["say"])
    generation = result.generations[0][0]
    assert generation.text == "hey!"
    assert (
        generation.generation_info is not None and generation.generation_info["usage"]["output_tokens"] == 4
    )


def test_embeddings_send_options_and_batch() -> None:
    server = Server()
    embeddings = OllamaEmbeddings(
        model="e", batch_size=2, keep_alive=30, truncate=False, num_ctx=256, **server.kwargs()
    )
    assert embeddings.embed_documents(["a", "b", "c"]) == [[0.5, 0.5]] * 3
    assert [body["input"] for body in server.bodies] == [["a", "b"], ["c"]]
    assert server.bodies[0]["keep_alive"] == 30 and server.bodies[0]["truncate"] is False
    assert server.bodies[0]["options"] == {"num_ctx": 256}
    assert embeddings.embed_documents([]) == []
