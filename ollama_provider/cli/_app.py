"""The ``ollama-provider`` command: talk to an Ollama server from a terminal or a script.

Commands: ``health``, ``models``, ``show``, ``pull``, ``chat``, ``embed``, ``replay`` and ``demo``.
Global options (before the command): ``--host`` (default: ``OLLAMA_HOST``, else
``http://127.0.0.1:11434``), ``--json`` (machine-readable output), ``--timeout``, ``--retries``.
Exit codes: see :class:`~ollama_provider.cli._output.ExitCode`.

>>> from typer.testing import CliRunner
>>> from ollama_provider.testing import ReplayServer
>>> runner = CliRunner()
>>> with ReplayServer("cassettes/recorded") as server:
...     health = runner.invoke(app, ["--host", server.url, "--json", "health"])
...     models = runner.invoke(app, ["--host", server.url, "--json", "models"])
...     missing = runner.invoke(app, ["--host", server.url, "show", "no-such-model:1b"])
>>> json.loads(health.stdout)["version"], health.exit_code
('0.33.0-rc2', 0)
>>> sorted(m["name"] for m in json.loads(models.stdout))[:2]
['all-minilm:latest', 'gemma3:270m']
>>> missing.exit_code, "ollama-provider pull no-such-model:1b" in missing.stderr
(4, True)
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Column, Table

from ..config import resolve_hosts
from ..errors import InvalidRequestError, OllamaError
from ..models import RECOMMENDED_MODELS
from ..provider import OllamaProvider
from ..types import HealthStatus, ModelInfo, ShowResponse
from ._chat import ChatSettings, repl, stats_line, stream_reply
from ._demo import bundled_recordings, run_demo
from ._output import ExitCode, Output, human_duration, human_size, to_jsonable
from ._pull import interrupted_message, pull_with_progress

__all__ = ["CliState", "app", "bundled_recordings", "main"]

#: The CLI fails fast when nobody answers: one retry, not the library's three with backoff.
CLI_RETRIES = 1

app = typer.Typer(
    name="ollama-provider",
    help="Talk to an Ollama server: health, models, pull, chat, embed; replay recordings; run the demo.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@dataclass
class CliState:
    """The global options, shared by every command.

    >>> state = CliState(host="localhost:8080")
    >>> state.base_url, state.output.json_mode
    ('http://localhost:8080', False)
    """

    host: str | None = None
    json_mode: bool = False
    timeout: float = 30.0
    retries: int = CLI_RETRIES
    output: Output = field(init=False)

    def __post_init__(self) -> None:
        self.output = Output(json_mode=self.json_mode)

    @property
    def base_url(self) -> str:
        """The server URL the commands talk to (``--host`` > ``OLLAMA_HOST`` > the default);
        several comma-separated for a pool of hosts."""
        return ",".join(resolve_hosts(self.host))

    def provider(self) -> OllamaProvider:
        """A provider for this run's host and limits (no I/O until a call)."""
        return OllamaProvider(self.host, timeout=self.timeout, retries=self.retries)

    @contextmanager
    def reporting(self) -> Iterator[None]:
        """Turn core errors and Ctrl-C into a message and an exit code (``typer.Exit``)."""
        try:
            yield
        except OllamaError as error:
            raise typer.Exit(int(self.output.error(error, _safe_base_url(self.host)))) from None
        except KeyboardInterrupt:
            self.output.note("Interrupted.")
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None


def _safe_base_url(host: str | None) -> str:
    try:
        return ",".join(resolve_hosts(host))
    except (InvalidRequestError, TypeError):
        return str(host)


def _state(ctx: typer.Context) -> CliState:
    state = ctx.obj
    if not isinstance(state, CliState):  # a command invoked without the group (tests, embedding)
        state = ctx.obj = CliState()
    return state


@app.callback()
def _global_options(
    ctx: typer.Context,
    host: Annotated[
        str | None,
        typer.Option(
            help="Ollama server, e.g. 127.0.0.1:11434 or https://box/ollama; several, comma-separated, "
            "make a pool (gpu-1:11434,gpu-2:11434). Default: $OLLAMA_HOST."
        ),
    ] = None,
    json_mode: Annotated[
        bool, typer.Option("--json", help="Print JSON (one object per line) for scripts.")
    ] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for each chunk of an answer.")] = 30.0,
    retries: Annotated[
        int, typer.Option(help="Retries after a connection failure or a busy server.")
    ] = CLI_RETRIES,
) -> None:
    ctx.obj = CliState(host=host, json_mode=json_mode, timeout=timeout, retries=retries)


# ----------------------------------------------------------------------------------------------- health


@app.command(help="Is the server up? Status, latency, version and installed models (each host of a pool).")
def health(ctx: typer.Context) -> None:
    """Exit 0 when healthy, 3 when no server answers (with how to start one), 1 when some hosts
    of a pool are down or slow (degraded)."""
    state = _state(ctx)
    out = state.output
    with state.reporting(), state.provider() as provider:
        status = provider.check_health()
        names = [m.name for m in provider.list_models()] if status.status != "unhealthy" else []
    code = {"healthy": ExitCode.OK, "degraded": ExitCode.ERROR}.get(status.status, ExitCode.UNREACHABLE)
    if len(provider.hosts) == 1 and not status.healthy:
        code = ExitCode.UNREACHABLE  # one slow or silent server: as before
    if out.json_mode:
        out.json({**_dict(status), "healthy": status.healthy, "model_names": names})
    else:
        _print_health(out, status, names)
    raise typer.Exit(int(code))


def _print_health(out: Output, status: HealthStatus, names: list[str]) -> None:
    colour = {"healthy": "green", "degraded": "yellow"}.get(status.status, "red")
    table = Table(show_header=False, box=None)
    table.add_row("status", f"[{colour}]{status.status}[/]")
    if len(status.hosts) == 1:
        table.add_row("host", status.host)
    table.add_row("latency", human_duration(status.latency))
    table.add_row("version", status.version or "-")
    table.add_row("models", ", ".join(names) if names else str(status.models or 0))
    out.console.print(table)
    if len(status.hosts) > 1:
        hosts = Table("HOST", "STATUS", "LATENCY", "VERSION", "MODELS", box=box.SIMPLE_HEAD, pad_edge=False)
        for host in status.hosts:
            hosts.add_row(
                host.host,
                f"[{'green' if host.healthy else 'red'}]{host.status}[/]",
                human_duration(host.latency),
                host.version or "-",
                "-" if host.models is None else str(host.models),
            )
        out.console.print(hosts)
    if status.status != "healthy":
        out.errors.print(status.last_error or "no answer", style="red", markup=False)
    if status.status == "unhealthy":
        out.errors.print(
            "Start Ollama with `ollama serve` (or open the Ollama app), or point --host / OLLAMA_HOST "
            "at a running server. Offline? `ollama-provider replay` serves recordings.",
            markup=False,
        )


def _dict(value: Any) -> dict[str, Any]:
    converted = to_jsonable(value)
    assert isinstance(converted, dict)
    return converted


# ----------------------------------------------------------------------------------------------- models


@app.command(help="Installed models (size, family, quantisation, context, capabilities).")
def models(
    ctx: typer.Context,
    running: Annotated[bool, typer.Option("--running", help="Only the models loaded in memory now.")] = False,
    recommended: Annotated[
        bool, typer.Option("--recommended", help="The models we recommend (no server needed).")
    ] = False,
) -> None:
    """List models; ``--running`` for the loaded ones, ``--recommended`` for our suggestions."""
    state = _state(ctx)
    out = state.output
    if recommended:
        _print_recommended(out)
        return
    with state.reporting(), state.provider() as provider:
        if running:
            _print_running(out, provider)
            return
        installed = provider.list_models()
        details = _show_all(provider, installed)
    rows = [_model_row(m, details.get(m.name)) for m in installed]
    if out.json_mode:
        out.json(rows)
        return
    pooled = len(provider.hosts) > 1
    # Sizes, families and numbers are read at a glance and must never be cut; a long name (a model
    # pulled from a registry: `127.0.0.1:5000/library/smollm2:135m`) folds over lines instead.
    name = Column("NAME", overflow="fold")
    fixed = [Column(title, no_wrap=True) for title in ("SIZE", "FAMILY", "PARAMS", "QUANT", "CONTEXT")]
    capabilities = Column("CAPABILITIES")
    hosts = [Column("HOSTS")] if pooled else []
    # Two spaces between columns, not three: at 80 columns that is room for six more characters of name.
    table = Table(
        name, *fixed, capabilities, *hosts, box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True
    )
    for row in rows:
        table.add_row(
            row["name"],
            human_size(row["size"]),
            row["family"] or "-",
            row["parameter_size"] or "-",
            row["quantization"] or "-",
            str(row["context_length"] or "-"),
            ", ".join(row["capabilities"] or []) or "-",
            *([_short_hosts(row["hosts"])] if pooled else []),
        )
    _fit_to_terminal(table, out.console, [capabilities, *hosts])
    out.console.print(table)
    if not rows:
        out.note("No models installed. Pull one: ollama-provider pull qwen2.5:0.5b")


def _fit_to_terminal(table: Table, console: Console, wrap_first: list[Column]) -> None:
    """When ``table`` is wider than the terminal, wrap the ``wrap_first`` columns to their longest
    word first: rich would otherwise take the excess evenly from every column that may wrap, and
    fold a long name into pieces narrower than the words beside it."""
    natural = Measurement.get(console, console.options.update_width(sys.maxsize), table).maximum
    if natural <= console.width:
        return
    for column in wrap_first:
        cells = [str(column.header), *(str(cell) for cell in column.cells)]
        column.max_width = max(len(word) for cell in cells for word in cell.split() or [""])


def _show_all(provider: OllamaProvider, installed: list[ModelInfo]) -> dict[str, ShowResponse]:
    """``/api/show`` of every model, concurrently; a model whose details fail is simply left out."""

    def show(name: str) -> tuple[str, ShowResponse | None]:
        try:
            return name, provider.show_model(name)
        except OllamaError:
            return name, None

    with ThreadPoolExecutor(max_workers=8) as pool:
        return {name: shown for name, shown in pool.map(show, [m.name for m in installed]) if shown}


def _model_row(model: ModelInfo, shown: ShowResponse | None) -> dict[str, Any]:
    details = model.details
    return {
        "name": model.name,
        "size": model.size,
        "family": details.family,
        "parameter_size": details.parameter_size,
        "quantization": details.quantization_level,
        "context_length": details.context_length or (shown.context_length if shown else None),
        "capabilities": (shown.capabilities if shown else None) or model.capabilities,
        "modified_at": model.modified_at.isoformat() if model.modified_at else None,
        "digest": model.digest,
        "hosts": model.hosts,
    }


def _short_hosts(urls: list[str]) -> str:
    """Base URLs as ``host:port`` (the scheme is noise in a table)."""
    return ", ".join(url.split("://", 1)[-1] for url in urls)


def _print_running(out: Output, provider: OllamaProvider) -> None:
    loaded = provider.list_running()
    if out.json_mode:
        out.json(loaded)
        return
    pooled = len(provider.hosts) > 1
    # As in `models`: a long name folds, sizes and times are never cut.
    fixed = [Column(title, no_wrap=True) for title in ("SIZE", "IN VRAM", "CONTEXT", "UNTIL")]
    hosts = [Column("HOSTS")] if pooled else []
    table = Table(
        Column("NAME", overflow="fold"),
        *fixed,
        *hosts,
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    for m in loaded:
        table.add_row(
            m.name,
            human_size(m.size),
            human_size(m.size_vram),
            str(m.context_length or "-"),
            m.expires_at.isoformat(timespec="seconds") if m.expires_at else "-",
            *([_short_hosts(m.hosts)] if pooled else []),
        )
    _fit_to_terminal(table, out.console, hosts)
    out.console.print(table)
    if not loaded:
        out.note("No model is loaded right now (Ollama loads one on its first request).")


def _print_recommended(out: Output) -> None:
    if out.json_mode:
        out.json(RECOMMENDED_MODELS)
        return
    table = Table("NAME", "PARAMS", "CONTEXT", "USE")
    for m in RECOMMENDED_MODELS:
        table.add_row(m.name, m.parameter_size, f"{m.context_length:,}", m.use_case)
    out.console.print(table)


# ----------------------------------------------------------------------------------------------- show


@app.command(help="Details of one model: family, size, context length, capabilities, parameters.")
def show(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="Model name, e.g. qwen2.5:7b")],
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Also print the template.")] = False,
) -> None:
    """Print ``/api/show`` for *model* (exit 4 with a pull hint when it is not installed)."""
    state = _state(ctx)
    out = state.output
    with state.reporting(), state.provider() as provider:
        shown = provider.show_model(model)
    if out.json_mode:
        out.json({"model": model, **_dict(shown), "context_length": shown.context_length})
        return
    d = shown.details
    table = Table(show_header=False, box=None)
    for key, value in (
        ("model", model),
        ("family", d.family),
        ("parameters", d.parameter_size),
        ("quantization", d.quantization_level),
        ("format", d.format),
        ("context length", shown.context_length),
        ("embedding length", d.embedding_length or shown.model_info.get(f"{d.family}.embedding_length")),
        ("capabilities", ", ".join(shown.capabilities)),
    ):
        table.add_row(key, str(value) if value not in (None, "") else "-")
    for key, values in shown.parameter_values.items():
        table.add_row(f"  {key}", ", ".join(values))
    if shown.system:
        table.add_row("system", shown.system)
    out.console.print(table)
    if verbose and shown.template:
        out.console.print("template:", style="bold")
        out.console.print(shown.template, markup=False, highlight=False)


# ----------------------------------------------------------------------------------------------- pull


@app.command(help="Download a model, with a progress bar (Ctrl-C keeps the partial download).")
def pull(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="Model to download, e.g. qwen2.5:0.5b")],
    insecure: Annotated[bool, typer.Option(help="Allow a registry without TLS (a local registry).")] = False,
) -> None:
    """Pull *model*; Ctrl-C exits 130 and tells how to resume (Ollama keeps the downloaded layers)."""
    state = _state(ctx)
    out = state.output
    try:
        with state.reporting(), state.provider() as provider:
            try:
                if out.json_mode:
                    with provider.pull_model(model, stream=True, insecure=insecure or None) as updates:
                        for update in updates:
                            out.json(update)
                else:
                    last = pull_with_progress(provider, model, insecure=insecure or None, console=out.console)
                    out.console.print(f"{model}: {last.status}", style="green", markup=False)
            except KeyboardInterrupt:
                raise _PullInterrupted() from None
    except _PullInterrupted:
        out.errors.print(interrupted_message(model), style="yellow", markup=False)
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None


class _PullInterrupted(Exception):
    """Ctrl-C during a pull: reported with the resume hint rather than the generic message."""


# ----------------------------------------------------------------------------------------------- chat


@app.command(help="Chat with a model: streams the answer; interactive when no prompt is given.")
def chat(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="Model, e.g. qwen2.5:7b")],
    prompt: Annotated[
        str | None, typer.Argument(help="One message; omit it for an interactive chat.")
    ] = None,
    system: Annotated[str | None, typer.Option(help="A system message.")] = None,
    think: Annotated[
        str | None, typer.Option(help="Reasoning: on, off, low, medium or high (thinking models only).")
    ] = None,
    format: Annotated[
        str | None, typer.Option("--format", help="'json', or a JSON schema the answer must follow.")
    ] = None,
    temperature: Annotated[
        float | None, typer.Option(help="Sampling temperature (0 = deterministic).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed.")] = None,
    num_predict: Annotated[int | None, typer.Option(help="Maximum tokens to generate.")] = None,
    num_ctx: Annotated[int | None, typer.Option(help="Context window size, in tokens.")] = None,
    keep_alive: Annotated[str | None, typer.Option(help="How long the model stays loaded, e.g. 10m.")] = None,
) -> None:
    """Stream one answer (thinking dimmed, usage and tokens/s at the end) or run a conversation."""
    state = _state(ctx)
    out = state.output
    with state.reporting(), state.provider() as provider:
        settings = ChatSettings(
            model=model,
            think=_parse_think(think),
            format=_parse_format(format),
            temperature=temperature,
            seed=seed,
            num_predict=num_predict,
            num_ctx=num_ctx,
            keep_alive=keep_alive,
        )
        if prompt is None:
            if out.json_mode:
                raise InvalidRequestError("--json needs a PROMPT (the interactive chat is for people)")
            repl(provider, settings, out.console, out.errors, system=system)
            return
        messages = ([{"role": "system", "content": system}] if system else []) + [
            {"role": "user", "content": prompt}
        ]
        reply = stream_reply(provider, messages, settings, None if out.json_mode else out.console)
    if out.json_mode:
        out.json(reply.summary())
    else:
        out.errors.print(stats_line(reply), style="dim", markup=False)
    if reply.interrupted:
        raise typer.Exit(int(ExitCode.INTERRUPTED))


def _parse_think(value: str | None) -> bool | str | None:
    """``--think`` as the API wants it.

    >>> _parse_think("on"), _parse_think("off"), _parse_think("high"), _parse_think(None)
    (True, False, 'high', None)
    """
    if value is None:
        return None
    lowered = value.strip().lower()
    if lowered in ("on", "true", "yes", "1"):
        return True
    if lowered in ("off", "false", "no", "0"):
        return False
    if lowered in ("low", "medium", "high"):
        return lowered
    raise InvalidRequestError(f"--think takes on, off, low, medium or high, not {value!r}")


def _parse_format(value: str | None) -> Any:
    """``--format``: ``json``, or a JSON schema given inline or as a file path.

    >>> _parse_format("json"), _parse_format('{"type": "object"}')
    ('json', {'type': 'object'})
    """
    if value is None or value == "json":
        return value
    text = Path(value).read_text(encoding="utf-8") if os.path.isfile(value) else value
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidRequestError(f"--format must be 'json' or a JSON schema: {error}") from None
    if not isinstance(schema, dict):
        raise InvalidRequestError("--format schema must be a JSON object")
    return schema


# ----------------------------------------------------------------------------------------------- embed


@app.command(help="Embed texts: one vector per TEXT (dimensions, norm, first values; all with --json).")
def embed(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="Embedding model, e.g. all-minilm")],
    texts: Annotated[list[str], typer.Argument(help="One or more texts.")],
    dimensions: Annotated[
        int | None, typer.Option(help="Shorten the vectors (models that allow it).")
    ] = None,
    truncate: Annotated[
        bool | None, typer.Option("--truncate/--no-truncate", help="Cut inputs longer than the context.")
    ] = None,
) -> None:
    """Print one row per text; with ``--json`` the whole vectors."""
    state = _state(ctx)
    out = state.output
    with state.reporting(), state.provider() as provider:
        vectors = provider.embed(list(texts), model=model, dimensions=dimensions, truncate=truncate)
    if out.json_mode:
        out.json({"model": model, "embeddings": vectors})
        return
    table = Table("#", "TEXT", "DIMS", "NORM", "FIRST VALUES")
    for i, (text, vector) in enumerate(zip(texts, vectors, strict=True)):
        norm = sum(v * v for v in vector) ** 0.5
        preview = ", ".join(f"{v:+.4f}" for v in vector[:4])
        table.add_row(
            str(i),
            text if len(text) <= 40 else text[:39] + "…",
            str(len(vector)),
            f"{norm:.3f}",
            f"[{preview}, …]",
        )
    out.console.print(table)


# ----------------------------------------------------------------------------------------------- replay


@app.command(help="Serve recorded Ollama sessions as a local fake Ollama (offline demos and tests).")
def replay(
    ctx: typer.Context,
    directory: Annotated[
        Path | None, typer.Argument(help="Folder of *.yaml cassettes. Default: the bundled recordings.")
    ] = None,
    port: Annotated[int, typer.Option(help="Port to listen on (0 = any free port).")] = 11434,
    host: Annotated[str, typer.Option(help="Address to bind (keep it on loopback).")] = "127.0.0.1",
    pace: Annotated[
        float | None, typer.Option(help="Replay streams at the recorded speed times PACE (default: at once).")
    ] = None,
) -> None:
    """Run :func:`ollama_provider.testing._replay.serve` until Ctrl-C."""
    from ..testing._replay import ReplayServer, serve

    state = _state(ctx)
    out = state.output
    folder = directory or bundled_recordings()
    if folder is None or not folder.is_dir():
        out.errors.print(
            f"No cassette folder at {folder}. Give one: ollama-provider replay path/to/cassettes",
            style="red",
            markup=False,
        )
        raise typer.Exit(int(ExitCode.USAGE))

    def announce(server: ReplayServer) -> None:
        if out.json_mode:
            out.json({"url": server.url, "interactions": len(server.catalog), "directory": str(folder)})
        else:
            out.errors.print(
                f"Replaying {len(server.catalog)} recorded interactions from {folder} as Ollama on "
                f"{server.url}\nPoint clients at it: export OLLAMA_HOST={server.url}   (Ctrl-C to stop)",
                markup=False,
            )

    try:
        serve(folder, host=host, port=port, pace=pace, on_ready=announce)
    except OSError as error:
        out.errors.print(
            f"Cannot listen on {host}:{port} ({error.strerror or error}). Is Ollama itself running there? "
            "Choose another port with --port.",
            style="red",
            markup=False,
        )
        raise typer.Exit(int(ExitCode.ERROR)) from None
    except ValueError as error:
        out.errors.print(f"Cannot replay {folder}: {error}", style="red", markup=False)
        raise typer.Exit(int(ExitCode.USAGE)) from None


# ----------------------------------------------------------------------------------------------- demo


@app.command(
    help="The whole toolkit end to end: core stream, LangChain tools + structured output, LlamaIndex RAG."
)
def demo(
    ctx: typer.Context,
    replay_only: Annotated[
        bool, typer.Option("--replay", help="Use the bundled recordings even when a server answers.")
    ] = False,
    pace: Annotated[
        float, typer.Option(help="Replay speed: 1 = as recorded, 0 = at once (replay server only).")
    ] = 1.0,
) -> None:
    """Run the demo against ``--host`` / ``OLLAMA_HOST`` if it answers, else against the recordings."""
    state = _state(ctx)
    with state.reporting():
        ok = run_demo(state.output, host=state.host, replay_only=replay_only, pace=pace or None)
    raise typer.Exit(int(ExitCode.OK if ok else ExitCode.ERROR))


def main() -> None:
    """Entry point of the ``ollama-provider`` script."""
    app()
