"""``ollama-provider demo``: the whole toolkit, end to end, on a fresh machine.

It talks to the Ollama at ``--host`` / ``OLLAMA_HOST`` when one answers there; otherwise it starts the
replay server on the bundled recordings (real answers of a real Ollama) and says so. Then it runs four
steps and prints what each returned and how long it took:

1. the core: a streamed chat;
2. LangChain: ``prompt | ChatOllama.bind_tools([get_weather])`` -> a tool call, then the tool runs;
3. LangChain: ``prompt | ChatOllama.with_structured_output(Person)`` -> a validated ``Person``;
4. LlamaIndex: a ``VectorStoreIndex`` over three documents embedded with our ``OllamaEmbedding``,
   queried through our ``Ollama`` LLM (retrieval-augmented generation).

Every request is one the recordings hold (same model, messages, tools, format), so the replayed demo
answers exactly what the real server answered. A step whose adapter is not installed says so and
the others still run.

>>> steps = [step.title for step in DEMO_STEPS]
>>> len(steps), steps[0]
(4, 'Core: streamed chat')
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter
from typing import Any

from rich.console import Console
from rich.table import Table

from ..config import resolve_host
from ..errors import OllamaError
from ..models import find_model
from ..provider import OllamaProvider
from ..testing import ReplayServer, bundled_recordings
from ._chat import ChatSettings, stats_line, stream_reply
from ._output import Output, describe_error, error_hint, human_duration

__all__ = [
    "DEMO_STEPS",
    "DemoModels",
    "DemoServer",
    "DemoStep",
    "StepResult",
    "bundled_recordings",
    "demo_server",
    "run_demo",
]

#: How long to wait for ``/api/version`` before deciding nobody is there.
PROBE_TIMEOUT_SECONDS = 1.0

#: The three documents of the RAG step, and its question (as recorded in frameworks/li_rag).
RAG_DOCUMENTS = (
    "Ollama runs large language models on your own machine.",
    "The Eiffel Tower is in Paris and was finished in 1889.",
    "Photosynthesis turns light, water and carbon dioxide into sugar and oxygen.",
)
RAG_QUESTION = "When was the Eiffel Tower finished?"

#: A 135M-parameter model only emits a tool call when its output is constrained to the call's shape.
#: Larger tool models (qwen2.5, llama3.2) do not need it; it does no harm to them.
WEATHER_CALL_FORMAT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "enum": ["get_weather"]},
        "arguments": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
    "required": ["name", "arguments"],
}


@dataclass(frozen=True, slots=True)
class DemoModels:
    """The models each step uses (the recorded ones by default).

    >>> DemoModels().names()
    ['smollm2:135m', 'smollm2-tools:135m', 'all-minilm:latest']
    """

    chat: str = "smollm2:135m"
    tools: str = "smollm2-tools:135m"
    embed: str = "all-minilm:latest"

    def names(self) -> list[str]:
        """Every model the demo needs, once each."""
        return list(dict.fromkeys([self.chat, self.tools, self.embed]))


@dataclass(frozen=True, slots=True)
class DemoServer:
    """Where the demo runs: a real Ollama, or the replay server on the recordings.

    >>> DemoServer("http://127.0.0.1:11434", replayed=False).kind
    'Ollama'
    """

    url: str
    replayed: bool
    version: str | None = None

    @property
    def kind(self) -> str:
        """``Ollama`` or ``replay``."""
        return "replay" if self.replayed else "Ollama"


@dataclass(slots=True)
class StepResult:
    """What one step returned, or why it failed, and how long it took.

    >>> StepResult("Core", ok=True, seconds=0.25, returned="a haiku").status
    'ok'
    """

    title: str
    ok: bool
    seconds: float
    returned: str = ""
    error: str | None = None
    hint: str | None = None
    import_seconds: float = 0.0

    @property
    def status(self) -> str:
        """``ok`` or ``failed``."""
        return "ok" if self.ok else "failed"


@dataclass(frozen=True, slots=True)
class DemoStep:
    """One step: a title, and a function ``(server url, models, console or None) -> what it returned``.

    >>> DEMO_STEPS[3].title
    'LlamaIndex: RAG with VectorStoreIndex'
    """

    title: str
    run: Callable[[str, DemoModels, Console | None], str]
    needs: str | None = None  # the adapter distribution, named when it cannot be imported
    imports: tuple[str, ...] = ()  # imported (and timed) apart, so the step's time is its own work


# ----------------------------------------------------------------------------------------- the steps


def core_stream(url: str, models: DemoModels, console: Console | None) -> str:
    """A streamed chat through :class:`OllamaProvider`, printed token by token."""
    with OllamaProvider(url) as provider:
        settings = ChatSettings(model=models.chat, temperature=0.0, seed=42, num_predict=48)
        messages = [{"role": "user", "content": "Write a haiku about the sea."}]
        reply = stream_reply(provider, messages, settings, console)
    return f"{len(reply.content)} characters streamed; {stats_line(reply)}"


def langchain_tool_call(url: str, models: DemoModels, console: Console | None) -> str:
    """A LangChain chain whose model calls a tool; the tool then runs on the call's arguments."""
    from langchain_core.prompts import ChatPromptTemplate
    from langchain_core.tools import tool
    from langchain_ollama_provider import ChatOllama

    @tool
    def get_weather(city: str) -> str:
        """Get the current weather for a city."""
        return f"Sunny and 24 °C in {city}"

    llm = ChatOllama(
        model=models.tools, base_url=url, temperature=0, seed=42, num_predict=60, format=WEATHER_CALL_FORMAT
    )
    chain = ChatPromptTemplate.from_messages([("human", "What is the weather in {city}?")]) | llm.bind_tools(
        [get_weather]
    )
    message = chain.invoke({"city": "Madrid"})
    calls = getattr(message, "tool_calls", None) or []
    if not calls:
        raise RuntimeError(f"the model answered in text instead of calling the tool: {message.content!r}")
    call = calls[0]
    result = get_weather.invoke(call["args"])
    return f"tool call {call['name']}({call['args']}) -> the tool returned {result!r}"


def langchain_structured_output(url: str, models: DemoModels, console: Console | None) -> str:
    """A LangChain chain that returns a validated pydantic object (JSON schema sent as ``format``)."""
    from langchain_core.prompts import ChatPromptTemplate
    from langchain_ollama_provider import ChatOllama
    from pydantic import BaseModel

    class Person(BaseModel):
        name: str
        age: int

    llm = ChatOllama(model=models.chat, base_url=url, temperature=0, seed=42, num_predict=60)
    prompt = ChatPromptTemplate.from_messages([("human", "{name} was {age}. Extract her name and age.")])
    chain = prompt | llm.with_structured_output(Person, method="json_schema")
    person = chain.invoke({"name": "Grace Hopper", "age": 85})
    return repr(person)


def llama_index_rag(url: str, models: DemoModels, console: Console | None) -> str:
    """Index three documents with our embeddings, then answer a question from the best match."""
    from llama_index.core import Document, VectorStoreIndex
    from llama_index.embeddings.ollama_provider import OllamaEmbedding
    from llama_index.llms.ollama_provider import Ollama

    embed_model = OllamaEmbedding(model_name=models.embed, base_url=url)
    llm = Ollama(
        model=models.chat,
        base_url=url,
        temperature=0.0,
        request_timeout=120.0,
        additional_kwargs={"seed": 42, "num_predict": 48},
    )
    index = VectorStoreIndex.from_documents(
        [Document(text=t) for t in RAG_DOCUMENTS], embed_model=embed_model
    )
    engine = index.as_query_engine(llm=llm, similarity_top_k=1)
    response = engine.query(RAG_QUESTION)
    source = response.source_nodes[0] if response.source_nodes else None
    retrieved = f" (retrieved: {source.node.get_content()!r}, score {source.score:.2f})" if source else ""
    answer = str(response).strip().splitlines()[0] if str(response).strip() else ""
    return f"{RAG_QUESTION!r} -> {answer!r}{retrieved}"


DEMO_STEPS: tuple[DemoStep, ...] = (
    DemoStep("Core: streamed chat", core_stream),
    DemoStep(
        "LangChain: chain with a tool call",
        langchain_tool_call,
        needs="langchain-ollama-provider",
        imports=("langchain_core.prompts", "langchain_core.tools", "langchain_ollama_provider"),
    ),
    DemoStep(
        "LangChain: structured output",
        langchain_structured_output,
        needs="langchain-ollama-provider",
        imports=("langchain_core.prompts", "langchain_ollama_provider"),
    ),
    DemoStep(
        "LlamaIndex: RAG with VectorStoreIndex",
        llama_index_rag,
        needs="llama-index-ollama-provider",
        imports=(
            "llama_index.core",
            "llama_index.embeddings.ollama_provider",
            "llama_index.llms.ollama_provider",
        ),
    ),
)


# ----------------------------------------------------------------------------------------- the server


def probe(url: str, timeout: float = PROBE_TIMEOUT_SECONDS) -> str | None:
    """The server's version when an Ollama answers at *url* quickly, else ``None``.

    >>> probe("http://127.0.0.1:9", timeout=0.5) is None
    True
    """
    try:
        with OllamaProvider(url, retries=0, connect_timeout=timeout, timeout=timeout) as provider:
            return provider.version()
    except OllamaError:
        return None



def _recordings() -> Path:
    folder = bundled_recordings()
    if folder is None:
        raise FileNotFoundError(
            "no Ollama answers and the bundled recordings (cassettes/recorded) are not here: run the demo "
            "from a clone of the repository, set OLLAMA_PROVIDER_CASSETTES, or start Ollama"
        )
    return folder


@contextmanager
def demo_server(
    host: str | None, *, replay_only: bool = False, pace: float | None = None, notes: Output | None = None
) -> Iterator[DemoServer]:
    """Yield the server to use: the Ollama at *host* / ``OLLAMA_HOST`` if it answers, else a replay server.

    Without *host* and without ``OLLAMA_HOST`` the recordings are used straight away: a local Ollama
    would need the demo's models, which a fresh machine does not have.

    >>> with demo_server(None, replay_only=True) as server:
    ...     server.replayed, server.version
    (True, '0.33.0-rc2')
    """
    say = notes.note if notes is not None else (lambda text: None)
    wanted = host if host is not None else os.environ.get("OLLAMA_HOST") or None
    if wanted is not None and not replay_only:
        url = resolve_host(wanted)
        version = probe(url)
        if version is not None:
            say(f"Using the Ollama {version} at {url}.")
            yield DemoServer(url, replayed=False, version=version)
            return
        say(f"No Ollama answers at {url}: replaying the recorded session instead.")
    folder = _recordings()
    with ReplayServer(folder, pace=pace) as server:
        reason = "as asked (--replay)" if replay_only else "no OLLAMA_HOST to use"
        say(
            f"Replaying real recorded Ollama answers from {folder} on {server.url} ({reason}). "
            "Set OLLAMA_HOST to run against your own Ollama."
        )
        yield DemoServer(server.url, replayed=True, version=probe(server.url))


def _missing_models(url: str, models: DemoModels) -> list[str]:
    try:
        with OllamaProvider(url, retries=0) as provider:
            installed = [m.name for m in provider.list_models()]
    except OllamaError:
        return []
    return [name for name in models.names() if find_model(installed, name) is None]


# ----------------------------------------------------------------------------------------- running


def run_step(step: DemoStep, url: str, models: DemoModels, console: Console | None) -> StepResult:
    """Run one step; never raises (a failure is reported in the result, with a hint when we have one).

    The step's framework imports are timed apart (``import_seconds``): the step's own time is then
    what the requests and the framework's work took.
    """
    started = perf_counter()
    try:
        for module in step.imports:
            importlib.import_module(module)
        imported = perf_counter()
        returned = step.run(url, models, console)
    except ImportError as error:
        package = step.needs or "the adapter"
        return StepResult(
            step.title,
            False,
            perf_counter() - started,
            error=f"{package} is not importable ({error})",
            hint=f"install it: uv sync --all-packages (or pip install {package})",
        )
    except OllamaError as error:
        return StepResult(
            step.title,
            False,
            perf_counter() - started,
            error=describe_error(error),
            hint=error_hint(error, url),
        )
    except Exception as error:  # an adapter or framework failure: report it, keep demoing the rest
        return StepResult(
            step.title, False, perf_counter() - started, error=f"{type(error).__name__}: {error}"
        )
    return StepResult(
        step.title, True, perf_counter() - imported, returned=returned, import_seconds=imported - started
    )


def run_demo(
    out: Output,
    *,
    host: str | None = None,
    replay_only: bool = False,
    pace: float | None = None,
    models: DemoModels | None = None,
    steps: tuple[DemoStep, ...] = DEMO_STEPS,
) -> bool:
    """Run every step against the chosen server and print a report. True when all steps worked."""
    models = models or DemoModels()
    results: list[StepResult] = []
    with demo_server(host, replay_only=replay_only, pace=pace, notes=out) as server:
        if not server.replayed:
            missing = _missing_models(server.url, models)
            if missing:
                out.note(
                    "This server lacks " + ", ".join(missing) + ": their steps will fail. "
                    "Pull them (ollama-provider pull NAME), or replay the recordings: "
                    "ollama-provider demo --replay"
                )
        console = None if out.json_mode else out.console
        for number, step in enumerate(steps, 1):
            if console is not None:
                console.rule(f"[bold][{number}/{len(steps)}] {step.title}", align="left")
            result = run_step(step, server.url, models, console)
            results.append(result)
            if console is not None:
                _print_result(console, result)
    if out.json_mode:
        out.json(
            {
                "server": {"url": server.url, "kind": server.kind, "version": server.version},
                "models": models,
                "steps": results,
                "ok": all(r.ok for r in results),
            }
        )
    else:
        _print_summary(out.console, server, results)
    return all(r.ok for r in results)


def _print_result(console: Console, result: StepResult) -> None:
    if result.ok:
        console.print(f"returned: {result.returned}", markup=False, highlight=False)
        loading = f" (+ {human_duration(result.import_seconds)} importing the framework)"
        console.print(
            f"✓ {human_duration(result.seconds)}{loading if result.import_seconds > 0.05 else ''}",
            style="green",
        )
    else:
        console.print(f"✗ {result.error}", style="red", markup=False)
        if result.hint:
            console.print(result.hint, style="yellow", markup=False)


def _print_summary(console: Console, server: DemoServer, results: list[StepResult]) -> None:
    title = f"Demo against {server.kind} {server.version or ''} at {server.url}"
    table = Table("step", "result", "time", "importing", title=title)
    for result in results:
        table.add_row(
            result.title,
            f"[{'green' if result.ok else 'red'}]{result.status}[/]",
            human_duration(result.seconds),
            human_duration(result.import_seconds) if result.import_seconds > 0.05 else "-",
        )
    console.print(table)
