"""Write the notebooks of this folder from their cell sources, then execute them and save real outputs.

    uv run python notebooks/build_notebooks.py            # against the replay server (recordings)
    OLLAMA_HOST=http://127.0.0.1:11434 uv run python notebooks/build_notebooks.py   # a real Ollama

Each notebook only sends requests that the recordings in cassettes/recorded hold, so it runs offline
against the replay server (``tests/notebooks`` executes them in the test suite). The outputs saved in
the .ipynb files are what that execution printed.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

SETUP = """\
import os

# Every cell talks to the Ollama at OLLAMA_HOST. The test suite points it at the replay server
# (real recorded answers); set it to your own Ollama to run these cells live.
os.environ.setdefault("OLLAMA_HOST", "http://127.0.0.1:11434")
print("Ollama at", os.environ["OLLAMA_HOST"])"""

QUICKSTART = [
    new_markdown_cell(
        "# Quickstart: the `ollama_provider` core\n\n"
        "A typed, pooled, retried client for Ollama, sync and async. Everything below runs against the\n"
        "server at `OLLAMA_HOST`: your own Ollama, or `ollama-provider replay` (recorded real answers).\n"
        "The models are tiny ones the recordings were made with (`smollm2:135m`, `all-minilm`): their\n"
        "answers are silly, the protocol is real."
    ),
    new_code_cell(SETUP),
    new_markdown_cell("## Health and models"),
    new_code_cell(
        """\
from ollama_provider import OllamaProvider

provider = OllamaProvider()  # no I/O yet; the host comes from OLLAMA_HOST
status = provider.check_health()  # never raises: a failure is a status
print(status.status, "| version", status.version, "| models", status.models, "| latency", f"{status.latency:.3f}s")"""
    ),
    new_code_cell(
        """\
for model in provider.list_models():
    print(f"{model.name:30} {model.details.parameter_size:>8} {model.details.quantization_level:>7}"
          f" context {model.details.context_length}")"""
    ),
    new_code_cell(
        """\
info = provider.show_model("smollm2:135m")
info.capabilities, info.context_length, info.details.family"""
    ),
    new_markdown_cell("## Chat"),
    new_code_cell(
        """\
response = provider.chat(
    [
        {"role": "system", "content": "You are a terse assistant."},
        {"role": "user", "content": "What is the capital of France?"},
    ],
    model="smollm2:135m",
    temperature=0, seed=42, num_predict=48,
)
print(response.message.content)
print(response.finish_reason, response.usage)"""
    ),
    new_markdown_cell(
        "### Streaming\n\nChunks are `ChatResponse` objects too; the last one (`done=True`) carries usage and timings."
    ),
    new_code_cell(
        """\
for chunk in provider.chat("Write a haiku about the sea.", model="smollm2:135m", stream=True,
                           temperature=0, seed=42, num_predict=48):
    print(chunk.message.content, end="", flush=True)
    if chunk.done:
        print(f"\\n\\n{chunk.usage.completion_tokens} tokens at {chunk.timings.tokens_per_second:.0f} tokens/s")"""
    ),
    new_markdown_cell(
        "### Structured output\n\n`format` takes `\"json\"`, a JSON schema, or a pydantic class "
        "(validate the answer with it)."
    ),
    new_code_cell(
        """\
from pydantic import BaseModel

class Person(BaseModel):
    name: str
    age: int

schema = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
          "required": ["name", "age"]}
answer = provider.chat("Ada Lovelace was 36. Return her name and age as JSON.", model="smollm2:135m",
                       format=schema, temperature=0, seed=42, num_predict=60)
Person.model_validate_json(answer.message.content)"""
    ),
    new_markdown_cell(
        "### Tools\n\nA typed, documented function is a tool. (A 135M model needs a JSON-schema `format` to "
        "emit the call; larger tool models do not.)"
    ),
    new_code_cell(
        """\
def get_weather(city: str) -> str:
    \"\"\"Get the current weather for a city

    Args:
        city: City name
    \"\"\"
    return f"Sunny in {city}"

call_format = {"type": "object",
               "properties": {"name": {"type": "string", "enum": ["get_weather"]},
                              "arguments": {"type": "object", "properties": {"city": {"type": "string"}},
                                            "required": ["city"]}},
               "required": ["name", "arguments"]}
answer = provider.chat("What is the weather in Paris?", model="smollm2-tools:135m", tools=[get_weather],
                       format=call_format, temperature=0, seed=42, num_predict=60)
for call in answer.message.tool_calls:
    print(call.id, call.function.name, call.function.arguments, "->", get_weather(**call.function.arguments))"""
    ),
    new_markdown_cell("## Generate and embed"),
    new_code_cell(
        """\
print(provider.generate("Why is the sky blue? Answer in one sentence.", model="smollm2:135m",
                        temperature=0, seed=42, num_predict=48).response)"""
    ),
    new_code_cell(
        """\
texts = ["The sky is blue.", "Grass is green.", "Ollama runs models locally."]
vectors = provider.embed(texts, model="all-minilm")  # a list in, a list of vectors out (batched)

def cosine(a, b):
    return sum(x * y for x, y in zip(a, b)) / (sum(x * x for x in a) ** 0.5 * sum(y * y for y in b) ** 0.5)

print(len(vectors), "vectors of", len(vectors[0]), "dimensions")
print("sky~grass", round(cosine(vectors[0], vectors[1]), 3), "| sky~ollama", round(cosine(vectors[0], vectors[2]), 3))"""
    ),
    new_markdown_cell(
        "## Async\n\nSame methods, awaitable; streams are `async for chunk in await provider.chat(..., stream=True)`."
    ),
    new_code_cell(
        """\
import asyncio
from ollama_provider import AsyncOllamaProvider

async with AsyncOllamaProvider() as aprovider:
    capital, haiku = await asyncio.gather(  # two requests at once on one pooled client
        aprovider.chat([{"role": "system", "content": "You are a terse assistant."},
                        {"role": "user", "content": "What is the capital of France?"}],
                       model="smollm2:135m", temperature=0, seed=42, num_predict=48),
        aprovider.chat("Write a haiku about the sea.", model="smollm2:135m", stream=True,
                       temperature=0, seed=42, num_predict=48),
    )
    print(capital.message.content)
    async for chunk in haiku:
        print(chunk.message.content, end="")"""
    ),
    new_markdown_cell("## Errors are typed, and say what to do"),
    new_code_cell(
        """\
from ollama_provider import ModelNotFoundError

try:
    provider.show_model("no-such-model:1b")
except ModelNotFoundError as error:
    print(type(error).__name__, error.status_code, "|", error)"""
    ),
    new_code_cell("provider.close()"),
]

LANGCHAIN = [
    new_markdown_cell(
        "# LangChain with `langchain_ollama_provider`\n\n"
        "`ChatOllama` and `OllamaEmbeddings` take the same parameters as the official `langchain-ollama`\n"
        "(switching is an import change) and run on the `ollama_provider` core: pooled connections,\n"
        "retries, typed errors."
    ),
    new_code_cell(SETUP),
    new_markdown_cell("## A chain"),
    new_code_cell(
        """\
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

from langchain_ollama_provider import ChatOllama

llm = ChatOllama(model="smollm2:135m", temperature=0, seed=42, num_predict=32)
prompt = ChatPromptTemplate.from_messages([("system", "You are a terse assistant."),
                                           ("human", "Translate to French: {text}")])
chain = prompt | llm | StrOutputParser()
print(chain.invoke({"text": "Good morning"}))"""
    ),
    new_markdown_cell("## Streaming: tokens as they arrive"),
    new_code_cell(
        """\
for token in chain.stream({"text": "Thank you very much"}):
    print(token, end="|")"""
    ),
    new_markdown_cell("## Usage metadata"),
    new_code_cell(
        """\
message = (prompt | llm).invoke({"text": "Good morning"})
message.usage_metadata, message.response_metadata.get("done_reason")"""
    ),
    new_markdown_cell(
        "## Tools\n\n`bind_tools` takes LangChain tools, functions or pydantic classes. The 135M model of the "
        "recordings needs a JSON-schema `format` to emit a call; tool models such as `qwen2.5` or "
        "`llama3.2` do not."
    ),
    new_code_cell(
        """\
from langchain_core.tools import tool

@tool
def get_weather(city: str) -> str:
    \"\"\"Get the current weather for a city.\"\"\"
    return f"Sunny and 24 °C in {city}"

call_format = {"type": "object",
               "properties": {"name": {"type": "string", "enum": ["get_weather"]},
                              "arguments": {"type": "object", "properties": {"city": {"type": "string"}},
                                            "required": ["city"]}},
               "required": ["name", "arguments"]}
tool_llm = ChatOllama(model="smollm2-tools:135m", temperature=0, seed=42, num_predict=60, format=call_format)
ask = ChatPromptTemplate.from_messages([("human", "What is the weather in {city}?")]) | tool_llm.bind_tools([get_weather])
reply = ask.invoke({"city": "Madrid"})
for call in reply.tool_calls:
    print(call["name"], call["args"], "->", get_weather.invoke(call["args"]))"""
    ),
    new_markdown_cell("## Structured output"),
    new_code_cell(
        """\
from pydantic import BaseModel

class Person(BaseModel):
    name: str
    age: int

extract = (ChatPromptTemplate.from_messages([("human", "{name} was {age}. Extract her name and age.")])
           | ChatOllama(model="smollm2:135m", temperature=0, seed=42, num_predict=60)
             .with_structured_output(Person, method="json_schema"))
extract.invoke({"name": "Grace Hopper", "age": 85})"""
    ),
    new_markdown_cell(
        "## An agent: `create_agent`\n\n"
        "The agent loops: the model calls `get_weather`, the agent runs it and sends the result back, the model "
        "answers. A 135M model does not call tools unprompted, so a middleware runs the first step on the tools "
        "model with a call-forcing JSON-schema `format` (on a tool model, `request.override(tool_choice=...)` "
        "forces a call the same way); later steps run on the plain model. This cell replays the one recorded "
        "agent session (`api/chat_tool_roundtrip.yaml`, two non-streamed requests); to run it on your Ollama, "
        "use your server's URL instead of `session.url`. What each agent API needs from a model: see the README."
    ),
    new_code_cell(
        """\
import json

from langchain.agents import create_agent
from langchain.agents.middleware import AgentMiddleware
from langchain_core.messages import ToolMessage

from ollama_provider.testing import ReplayServer, bundled_recordings

@tool("get_weather", description="Get the current weather for a city",
      args_schema={"type": "object", "properties": {"city": {"type": "string", "description": "City name"}},
                   "required": ["city"]})
def weather_tool(city: str) -> str:
    return json.dumps({"temperature_c": 18, "sky": "sunny"})

class FirstStepOnTheToolsModel(AgentMiddleware):
    \"\"\"Step 1 on the tools model, steered to a call by a JSON-schema format; later steps on the plain model.\"\"\"
    def wrap_model_call(self, request, handler):
        if any(isinstance(m, ToolMessage) for m in request.messages):
            return handler(request.override(model_settings={"stream": False}))
        return handler(request.override(model=tools_model, model_settings={"format": call_format, "stream": False}))

session = ReplayServer(bundled_recordings() / "api" / "chat_tool_roundtrip.yaml").start()
settings = dict(base_url=session.url, temperature=0, seed=42)
tools_model = ChatOllama(model="smollm2-tools:135m", num_predict=60, **settings)
agent = create_agent(ChatOllama(model="smollm2:135m", num_predict=40, **settings), [weather_tool],
                     middleware=[FirstStepOnTheToolsModel()])
result = agent.invoke({"messages": [("user", "What is the weather in Paris?")]})
for message in result["messages"]:
    print(f"{type(message).__name__:13}", message.tool_calls if getattr(message, "tool_calls", None) else repr(message.content[:60]))
session.stop()"""
    ),
    new_markdown_cell("## Embeddings and a retriever"),
    new_code_cell(
        """\
from langchain_core.vectorstores import InMemoryVectorStore

from langchain_ollama_provider import OllamaEmbeddings

embeddings = OllamaEmbeddings(model="all-minilm")
store = InMemoryVectorStore.from_texts(
    ["Ollama runs large language models on your own machine.",
     "The Eiffel Tower is in Paris and was finished in 1889.",
     "Photosynthesis turns light, water and carbon dioxide into sugar and oxygen."],
    embedding=embeddings,
)
retriever = store.as_retriever(search_kwargs={"k": 1})
[doc.page_content for doc in retriever.invoke("Where is the Eiffel Tower?")]"""
    ),
]

LLAMA_INDEX = [
    new_markdown_cell(
        "# LlamaIndex with `llama-index-ollama-provider`\n\n"
        "`llama_index.llms.ollama_provider.Ollama` and `llama_index.embeddings.ollama_provider.OllamaEmbedding`\n"
        "follow the official integrations' parameters and run on the `ollama_provider` core. The LLM's\n"
        "`metadata.context_window` is the model's real one (from `/api/show`)."
    ),
    new_code_cell(SETUP),
    new_markdown_cell("## Chat, streaming and completion"),
    new_code_cell(
        """\
from llama_index.core.llms import ChatMessage
from llama_index.llms.ollama_provider import Ollama

llm = Ollama(model="smollm2:135m", temperature=0, request_timeout=120,
             additional_kwargs={"seed": 42, "num_predict": 32})
print(llm.metadata.context_window, "tokens of context")
print(llm.chat([ChatMessage(role="user", content="Name a famous painter.")]).message.content)"""
    ),
    new_code_cell(
        """\
for part in llm.stream_chat([ChatMessage(role="user", content="Name a famous composer.")]):
    print(part.delta, end="")"""
    ),
    new_code_cell('print(llm.complete("Write one sentence about the moon."))'),
    new_markdown_cell("## Structured prediction"),
    new_code_cell(
        """\
from llama_index.core.prompts import PromptTemplate
from pydantic import BaseModel

class Person(BaseModel):
    name: str
    age: int

llm.structured_predict(Person, PromptTemplate("Extract name and age: {text}"), text="Katherine Johnson was 101.")"""
    ),
    new_markdown_cell(
        "## Tools\n\n`chat_with_tools` sends the tools' JSON schemas; extra keywords such as `format` go on to "
        "Ollama (the tiny recorded model needs it to emit the call)."
    ),
    new_code_cell(
        """\
from llama_index.core.tools import FunctionTool
from pydantic import ConfigDict, Field

def _plain(schema: dict) -> None:  # drop pydantic's titles: the tool spec the recordings hold
    schema.pop("title", None)
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)

class WeatherArgs(BaseModel):
    model_config = ConfigDict(json_schema_extra=_plain)
    city: str = Field(description="City name")

def get_weather(city: str) -> str:
    return f"Sunny in {city}"

weather = FunctionTool.from_defaults(fn=get_weather, name="get_weather",
                                     description="Get the current weather for a city", fn_schema=WeatherArgs)
call_format = {"type": "object",
               "properties": {"name": {"type": "string", "enum": ["get_weather"]},
                              "arguments": {"type": "object", "properties": {"city": {"type": "string"}},
                                            "required": ["city"]}},
               "required": ["name", "arguments"]}
tool_llm = Ollama(model="smollm2-tools:135m", temperature=0, request_timeout=120,
                  additional_kwargs={"seed": 42, "num_predict": 60})
response = tool_llm.chat_with_tools([weather], user_msg="What is the weather in Paris?", format=call_format)
for selection in tool_llm.get_tool_calls_from_response(response):
    print(selection.tool_name, selection.tool_kwargs, "->", weather(**selection.tool_kwargs))"""
    ),
    new_markdown_cell(
        "## An agent: `FunctionAgent`\n\n"
        "The agent loops: the model calls tools, the agent runs them and sends the results back, until the model "
        "answers. The 135M models here do not call tools unprompted, so this cell's answers are **scripted**: "
        "`ollama_provider.testing.ScriptedProvider` stands in for the server (it still validates every request "
        "the adapter builds) to show the loop, parallel calls and streaming. With a tool model on your Ollama "
        "(`qwen2.5:7b`, `llama3.2`), drop `provider=` / `async_provider=` and the same code runs live. "
        "`initial_tool_choice` forces the first call (with a JSON-schema `format`), which helps small models."
    ),
    new_code_cell(
        """\
from llama_index.core.agent.workflow import AgentStream, FunctionAgent, ToolCallResult

from ollama_provider import Message
from ollama_provider.testing import ScriptedProvider, tool_call

script = ScriptedProvider([
    Message("assistant", "", tool_calls=[tool_call("get_weather", {"city": "Paris"}),
                                         tool_call("get_weather", {"city": "Tokyo"}, index=1)]),
    "It is sunny in Paris and in Tokyo.",
], models=["qwen2.5:7b"])
agent_llm = Ollama(model="qwen2.5:7b", provider=script, async_provider=script.asynchronous())
agent = FunctionAgent(tools=[weather], llm=agent_llm, initial_tool_choice="get_weather")

handler = agent.run(user_msg="What is the weather in Paris and in Tokyo?")
async for event in handler.stream_events():
    if isinstance(event, ToolCallResult):
        print(f"{event.tool_name}({event.tool_kwargs}) -> {event.tool_output.content}")
    elif isinstance(event, AgentStream):
        print(event.delta, end="")
print("\\nfinal answer:", await handler)
print("the first request forced a call of", script.requests[0]["format"]["properties"]["name"]["enum"])"""
    ),
    new_markdown_cell("## RAG: a `VectorStoreIndex` with our embeddings"),
    new_code_cell(
        """\
from llama_index.core import Document, VectorStoreIndex
from llama_index.embeddings.ollama_provider import OllamaEmbedding

documents = [Document(text=t) for t in (
    "Ollama runs large language models on your own machine.",
    "The Eiffel Tower is in Paris and was finished in 1889.",
    "Photosynthesis turns light, water and carbon dioxide into sugar and oxygen.",
)]
index = VectorStoreIndex.from_documents(documents, embed_model=OllamaEmbedding(model_name="all-minilm"))
rag_llm = Ollama(model="smollm2:135m", temperature=0, request_timeout=120,
                 additional_kwargs={"seed": 42, "num_predict": 48})
answer = index.as_query_engine(llm=rag_llm, similarity_top_k=1).query("When was the Eiffel Tower finished?")
print(answer)
print("source:", answer.source_nodes[0].node.get_content(), f"(score {answer.source_nodes[0].score:.2f})")"""
    ),
]

OPERATIONS = [
    new_markdown_cell(
        "# Operations: retries, timeouts, reconnection, pulls, several hosts\n\n"
        "What the core does when things go wrong, shown on purpose. Parts that need a server to fail or\n"
        "restart on cue start their own local replay server (real recorded answers) or a silent socket."
    ),
    new_code_cell(SETUP),
    new_markdown_cell(
        "## Configuration\n\n`timeout` is per chunk (a long answer that keeps streaming never times out), "
        "`connect_timeout` is separate, `retries` counts retries after the first attempt."
    ),
    new_code_cell(
        """\
from ollama_provider import OllamaConfig, OllamaProvider

config = OllamaConfig(timeout=120, connect_timeout=3, retries=5, backoff_base=0.2, backoff_max=2)
config.base_url, config.timeout, config.connect_timeout, config.retries"""
    ),
    new_markdown_cell(
        "## Retries: a busy server\n\nThe recordings hold a real `503 server busy` followed, a second later, by "
        "success on the same request. The provider retries it with backoff (honouring `Retry-After`); the caller "
        "only sees the answer."
    ),
    new_code_cell(
        """\
import time

def show_status(response):  # an httpx event hook: see every HTTP answer, retries included
    print("HTTP", response.status_code, response.request.url.path)

provider = OllamaProvider(config=config, client_kwargs={"event_hooks": {"response": [show_status]}})
started = time.perf_counter()
print(repr(provider.generate("hi", model="gemma3:270m", num_predict=5).response))
print(f"answered in {time.perf_counter() - started:.2f}s, after the retry")"""
    ),
    new_markdown_cell(
        "## Timeouts\n\nA server that accepts the connection and then says nothing: the read timeout fires "
        "(read timeouts are not retried: a stalled server or a slow model load should not be hammered)."
    ),
    new_code_cell(
        """\
import socket

from ollama_provider import OllamaTimeoutError

silent = socket.socket()
silent.bind(("127.0.0.1", 0))
silent.listen()  # accepts connections (in the backlog), never answers
host, port = silent.getsockname()
try:
    OllamaProvider(f"{host}:{port}", timeout=0.5, retries=0).version()
except OllamaTimeoutError as error:
    print(type(error).__name__, "|", error)
finally:
    silent.close()"""
    ),
    new_markdown_cell(
        "## Reconnection after a restart\n\nThe provider tracks the connection from every request and "
        "rebuilds its pool after connection failures. A local replay server plays Ollama being stopped and "
        "started again on the same port."
    ),
    new_code_cell(
        """\
from ollama_provider.testing import ReplayServer, bundled_recordings

recordings = bundled_recordings()
server = ReplayServer(recordings).start()
local = OllamaProvider(server.url, retries=0)
print("up:        ", local.check_health().status)
port = server.port
server.stop()
down = local.check_health()
print("stopped:   ", down.status, "|", down.consecutive_failures, "failure(s) |", down.last_error.split(" (")[0])
server = ReplayServer(recordings, port=port).start()
print("restarted: ", local.check_health().status, "| failures reset to", local.health.consecutive_failures)"""
    ),
    new_markdown_cell(
        "## Pull with progress\n\nPulls `all-minilm` from the Ollama library; set `PULL_MODEL` to pull another "
        "model (and `PULL_INSECURE=1` for a registry without TLS). The replay server answers with a real "
        "recorded download. A pull whose connection drops is asked again: Ollama resumes from the layers it "
        "already has."
    ),
    new_code_cell(
        """\
PULL_MODEL = os.environ.get("PULL_MODEL", "all-minilm")
shown = set()

def report(update):
    step = None if update.percent is None else int(update.percent // 25) * 25
    if (update.status, step) not in shown:
        shown.add((update.status, step))
        print(update.status, "" if step is None else f"{step}%+ of {update.total / 1e6:.1f} MB")

final = provider.pull_model(PULL_MODEL, progress=report, insecure=os.environ.get("PULL_INSECURE") == "1")
final.status"""
    ),
    new_markdown_cell(
        "## Several hosts\n\nGive the provider every server (`hosts=[...]`, or `OLLAMA_HOST=a:11434,b:11434`): "
        "each request goes to a host that is up and has the model, and fails over to the next before its "
        "first chunk. Here the first host is down, the second is the local replay server."
    ),
    new_code_cell(
        """\
with socket.socket() as probe:  # a port nobody listens on
    probe.bind(("127.0.0.1", 0))
    dead = "http://127.0.0.1:%d" % probe.getsockname()[1]

pool = OllamaProvider(hosts=[dead, server.url], connect_timeout=1)
question = [{"role": "system", "content": "You are a terse assistant."},
            {"role": "user", "content": "What is the capital of France?"}]
answer = pool.chat(question, model="smollm2:135m", temperature=0, seed=42, num_predict=48)
print(answer.message.content)

health = pool.check_health()  # one status for the pool, and one per host
print("pool:", health.status)
for host in health.hosts:
    print(" ", "replay server    " if host.host == server.url else "nothing listening", "->", host.status)
listed = pool.list_models()  # merged over the hosts that answered; each model says where it is
print(len(listed), "models, on", {host == server.url and "the replay server" for m in listed for host in m.hosts})
pool.close()"""
    ),
    new_markdown_cell(
        "## Errors say what happened\n\nAn input longer than the model's context, with truncation off: "
        "`ContextLengthError` names the offending input of the batch."
    ),
    new_code_cell(
        """\
from ollama_provider import ContextLengthError

try:
    provider.embed(["word " * 2000], model="all-minilm:latest", truncate=False)
except ContextLengthError as error:
    print(type(error).__name__, error.status_code, "|", error, "| index", error.index)
else:
    raise AssertionError("expected a ContextLengthError")"""
    ),
    new_code_cell(
        """\
server.stop()
provider.close()
local.close()"""
    ),
]

SCALE_OUT = [
    new_markdown_cell(
        "# Scale out: embed a corpus across several Ollama hosts with Ray Data\n\n"
        "One `OllamaProvider(hosts=[...])` spreads each batch over every host that is up and has the model; "
        "Ray Data runs a pool of actors, each holding one such provider, and streams the corpus through "
        "them (`map_batches` with a callable class). The same pattern works on a Ray cluster; Dask's is in "
        "the README.\n\n"
        "**Where the servers come from.** With `OLLAMA_HOST` unset, this notebook starts three *fake* "
        "Ollama servers of its own, each a process on 127.0.0.1 (`ollama_provider.testing`): their "
        "vectors are made up (derived from each text's hash, so every one can be checked), and each takes "
        "a few milliseconds per request, like a small GPU box answering one batch at a time. Set "
        "`OLLAMA_HOST` to your servers, comma-separated (`gpu-1:11434,gpu-2:11434`), and `EMBED_MODEL` "
        "(default `all-minilm`) to embed on real Ollamas.\n\n"
        "Needs the `batch` dependency group: `uv sync --group batch`."
    ),
    new_code_cell(
        """\
import os
from contextlib import ExitStack

from ollama_provider.testing import fake_hosts

MODEL = os.environ.get("EMBED_MODEL", "all-minilm")
servers = ExitStack()  # what this notebook started, stopped in the last cell
if os.environ.get("OLLAMA_HOST"):
    hosts = [host.strip() for host in os.environ["OLLAMA_HOST"].split(",")]
    print(len(hosts), "Ollama servers from OLLAMA_HOST")
    FAKE = False
else:
    hosts = servers.enter_context(fake_hosts(3, models=[MODEL], parallel=1, service_time=0.02))
    print(len(hosts), "fake Ollama servers started (OLLAMA_HOST is not set):", ", ".join(hosts))
    FAKE = True"""
    ),
    new_markdown_cell(
        "## One provider for every host\n\nIt routes each request to a host that is up and has the model; "
        "a list of texts is cut into batches that go to all of them at once."
    ),
    new_code_cell(
        """\
from ollama_provider import OllamaProvider

provider = OllamaProvider(hosts=hosts)
health = provider.check_health()
print("pool:", health.status)
for host in health.hosts:
    print(" ", host.host, "->", host.status)"""
    ),
    new_markdown_cell(
        "## A corpus\n\nMade up here; in real life, `ray.data.read_parquet(...)`, `read_json(...)` and so on."
    ),
    new_code_cell(
        """\
topics = ["rivers", "volcanoes", "bees", "lighthouses", "glaciers", "comets", "forests", "harbours"]
corpus = [f"Note {i}: facts about {topics[i % len(topics)]}, part {i // len(topics)}." for i in range(3000)]
print(len(corpus), "texts, e.g.", repr(corpus[0]))"""
    ),
    new_markdown_cell(
        "## Ray, locally\n\nTwo CPUs here; `ray.init(address=\"auto\")` joins a cluster instead. Two settings "
        "worth knowing:\n\n"
        "* `RAY_ENABLE_UV_RUN_RUNTIME_ENV=0`: when Python runs under `uv run` (Jupyter started with "
        "`uv run jupyter lab`, or this repository's test suite), Ray ships the working directory to its "
        "workers and starts each one with `uv run` in a fresh environment, without the packages of this "
        "one; on one machine the actors then never start. It must be set before `import ray`.\n"
        "* Ray Data's own progress bars redraw many lines in a saved notebook: off, and a `tqdm` bar "
        "below instead; Ray Data's log of each run's start and end too (errors still show)."
    ),
    new_code_cell(
        """\
os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
import logging

import ray

ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
context = ray.data.DataContext.get_current()
context.enable_progress_bars = False
context.print_on_execution_start = False
logging.getLogger("ray.data").setLevel(logging.ERROR)
print("Ray", ray.__version__, "with", int(ray.cluster_resources()["CPU"]), "CPUs")"""
    ),
    new_markdown_cell(
        "## The callable class: one provider per actor\n\nRay builds `Embed` once in each actor and calls it "
        "with one batch after another. The provider handed to it is pickled: it travels as its "
        "configuration only (no sockets, no locks), and opens its own connections in the actor. Each batch "
        "of 100 texts is spread over the hosts."
    ),
    new_code_cell(
        """\
import numpy as np


class Embed:
    def __init__(self, provider: OllamaProvider, model: str) -> None:
        self.provider = provider
        self.model = model

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        batch["vector"] = np.array(self.provider.embed(list(batch["text"]), model=self.model))
        return batch


embedded = ray.data.from_items(
    [{"id": i, "text": text} for i, text in enumerate(corpus)], override_num_blocks=12
).map_batches(Embed, fn_constructor_args=(provider, MODEL), compute=ray.data.ActorPoolStrategy(size=2),
              batch_size=100)"""
    ),
    new_markdown_cell(
        "## Run it, with a progress bar\n\nNothing ran so far: asking for the first batch starts the actors "
        "(seconds, on a laptop), then the bar follows the rest as the actors finish them, in any order.\n\n"
        "Ray Data 2.60 logs one error-level line as its first actor starts (`core_worker.cc: Actor ... has "
        "constructor arguments in the object store and max_restarts > 0`): every actor-pool map receives its "
        "function by reference, which the dataset keeps for a restart. It is harmless here; only "
        "`max_restarts=0` (no restarts) silences it."
    ),
    new_code_cell(
        """\
import sys
import time

from tqdm import tqdm

batches = iter(embedded.iter_batches(batch_size=None))
started = time.perf_counter()
first = next(batches)  # runs the dataset: the actors start, and answer
up = time.perf_counter()
vectors = dict(zip(first["id"].tolist(), first["vector"]))
with tqdm(total=len(corpus), initial=len(vectors), desc="embedding", unit=" texts", file=sys.stdout,
          bar_format="{desc}: {percentage:3.0f}%|{bar:30}| {n_fmt}/{total_fmt}{unit}") as bar:
    for batch in batches:
        vectors.update(zip(batch["id"].tolist(), batch["vector"]))
        bar.update(len(batch["id"]))
finished = time.perf_counter()
steady = (len(vectors) - len(first["id"])) / (finished - up)
print(f"actors up in {up - started:.2f}s; {len(vectors)} vectors of {len(vectors[0])} dimensions in "
      f"{finished - started:.2f}s: {len(vectors) / (finished - started):.0f} texts/s, "
      f"{steady:.0f} texts/s once the actors were up")"""
    ),
    new_markdown_cell(
        "## Check\n\nThe fake servers' vectors are known: each must be the one of its own text (a swapped "
        "batch would show), and every host must have embedded some."
    ),
    new_code_cell(
        """\
import httpx

if FAKE:
    from ollama_provider.testing import vector_of

    wrong = [i for i, text in enumerate(corpus) if vectors[i].tolist() != vector_of(text)]
    print("vectors checked:", len(corpus) - len(wrong), "right,", len(wrong), "wrong")
    stats = [httpx.get(url + "/_fake/stats").json() for url in hosts]
    print("hosts that embedded:", sorted(s["name"] for s in stats if s["requests"].get("/api/embed")))
else:
    print("no known answers to check on real servers;", len(vectors), "vectors")"""
    ),
    new_code_cell(
        """\
ray.shutdown()
provider.close()
servers.close()"""
    ),
]

NOTEBOOKS = {
    "quickstart.ipynb": QUICKSTART,
    "langchain.ipynb": LANGCHAIN,
    "llama_index.ipynb": LLAMA_INDEX,
    "operations.ipynb": OPERATIONS,
    "scale_out.ipynb": SCALE_OUT,
}


def build(name: str) -> nbformat.NotebookNode:
    notebook = new_notebook(cells=NOTEBOOKS[name])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.metadata["language_info"] = {"name": "python"}
    return notebook


def recorded_pull_model(recordings: Path) -> str:
    """The model of the recorded pull (api/pull_local.yaml), which the replay server can answer."""
    from ollama_provider.testing import load_cassette

    (pull,) = load_cassette(recordings / "api" / "pull_local.yaml")
    return str(json.loads(pull.request_body)["model"])


# Notebooks that start servers of their own unless OLLAMA_HOST names real ones (never the replay server).
OWN_SERVERS = {"scale_out.ipynb"}


def execute(notebook: nbformat.NotebookNode, ollama_host: str | None, **env_vars: str) -> None:
    env = {**{name: value for name, value in os.environ.items() if name != "OLLAMA_HOST"}, **env_vars}
    if ollama_host:
        env["OLLAMA_HOST"] = ollama_host
    NotebookClient(notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(HERE)}}).execute(
        env=env
    )


def main(names: list[str]) -> None:
    """Rebuild and re-execute the notebooks named on the command line (default: all)."""
    from ollama_provider.testing import bundled_recordings
    from ollama_provider.testing import ReplayServer

    live = os.environ.get("OLLAMA_HOST")
    recordings = bundled_recordings() or HERE.parent / "cassettes" / "recorded"
    # Replayed, the pull example asks for the recorded pull; live, for PULL_MODEL or its default.
    replayed = {} if live else {"PULL_MODEL": recorded_pull_model(recordings)}
    with ReplayServer(recordings) as server:
        for name in names or NOTEBOOKS:
            notebook = build(name)
            execute(notebook, live if name in OWN_SERVERS else live or server.url, **replayed)
            nbformat.write(notebook, HERE / name)
            print("wrote", name)


if __name__ == "__main__":
    main(sys.argv[1:])
