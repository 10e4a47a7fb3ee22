"""Registry of the clients under test.

The runner only reads these specs (plain data); the client modules themselves, and the libraries they wrap,
are imported in the worker subprocess, so a missing library shows up as "unavailable", never as a crash.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Group = Literal["floor", "reference", "peer", "ours"]


@dataclass(frozen=True)
class ClientSpec:
    name: str
    group: Group
    factory: str  # "module:Class"; the class takes the base URL
    import_statement: str  # what a user's program imports; timed in a fresh interpreter
    description: str


FLOOR = "httpx"

CLIENTS: tuple[ClientSpec, ...] = (
    ClientSpec(
        FLOOR,
        "floor",
        "bench.clients.httpx_bare:BareHttpx",
        "import httpx, json",
        "httpx.Client stream + iter_lines + json.loads (the floor every ratio divides by)",
    ),
    ClientSpec(
        "httpx+orjson",
        "reference",
        "bench.clients.httpx_bare:BareHttpxOrjson",
        "import httpx, orjson",
        "the same loop with orjson: what a faster decoder alone buys",
    ),
    ClientSpec(
        "ollama",
        "peer",
        "bench.clients.ollama_official:OfficialOllama",
        "import ollama",
        "official `ollama` python client (Client / AsyncClient)",
    ),
    ClientSpec(
        "langchain-ollama",
        "peer",
        "bench.clients.langchain_peer:LangChainOllamaPeer",
        "from langchain_ollama import ChatOllama, OllamaEmbeddings",
        "`langchain-ollama` ChatOllama / OllamaEmbeddings",
    ),
    ClientSpec(
        "llama-index-ollama",
        "peer",
        "bench.clients.llama_index_peer:LlamaIndexOllamaPeer",
        "from llama_index.llms.ollama import Ollama; "
        "from llama_index.embeddings.ollama import OllamaEmbedding",
        "`llama-index-llms-ollama` Ollama / `llama-index-embeddings-ollama` OllamaEmbedding",
    ),
    ClientSpec(
        "ours-core",
        "ours",
        "bench.clients.ours_core:OursCore",
        "from ollama_provider import OllamaProvider, AsyncOllamaProvider",
        "`ollama_provider` OllamaProvider / AsyncOllamaProvider",
    ),
    ClientSpec(
        "ours-core-before",
        "ours",
        "bench.clients.ours_core:OursCore",
        "import bench.baseline; from ollama_provider import OllamaProvider, AsyncOllamaProvider",
        "`ollama_provider` as it was at `--baseline REV` (a regression check of the single-host path)",
    ),
    ClientSpec(
        "ours-langchain",
        "ours",
        "bench.clients.ours_langchain:OursLangChain",
        "from langchain_ollama_provider import ChatOllama, OllamaEmbeddings",
        "`langchain_ollama_provider` ChatOllama / OllamaEmbeddings",
    ),
    ClientSpec(
        "ours-llama-index",
        "ours",
        "bench.clients.ours_llama_index:OursLlamaIndex",
        "from llama_index.llms.ollama_provider import Ollama; "
        "from llama_index.embeddings.ollama_provider import OllamaEmbedding",
        "our LlamaIndex adapter: Ollama / OllamaEmbedding",
    ),
)

#: Today's core in two more OpenTelemetry states: run by ``python -m bench.telemetry`` (not by default).
_CORE_IMPORT = "from ollama_provider import OllamaProvider, AsyncOllamaProvider"
TELEMETRY_VARIANTS: tuple[ClientSpec, ...] = (
    ClientSpec(
        "ours-core+otel-idle",
        "ours",
        "bench.clients.ours_core_otel:OursCoreOtelIdle",
        _CORE_IMPORT + "; import opentelemetry.trace, opentelemetry.metrics",
        "today's core, OpenTelemetry's API imported, no provider set",
    ),
    ClientSpec(
        "ours-core+otel-sdk",
        "ours",
        "bench.clients.ours_core_otel:OursCoreOtelSdk",
        _CORE_IMPORT + "; import opentelemetry.sdk.trace, opentelemetry.sdk.metrics",
        "today's core, OpenTelemetry's SDK listening (batch span processor, metric reader)",
    ),
)

BY_NAME: dict[str, ClientSpec] = {spec.name: spec for spec in (*CLIENTS, *TELEMETRY_VARIANTS)}
