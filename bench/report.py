"""Render the results as markdown (committed) and JSON (raw samples, not committed)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench import scenarios
from bench.aggregate import Cell
from bench.clients import FLOOR, ClientSpec
from bench.config import Sizes
from bench.scenarios import Column


@dataclass
class ClientOutcome:
    spec: ClientSpec
    status: str  # "ok" | "unavailable" | "error"
    error: str | None
    cpu: dict[str, Cell]  # column key -> cell, using each column's own clock
    wall: dict[str, Cell]  # streaming / request / embedding columns on the wall clock
    connections_per_small_run: float | None
    embed_requests: dict[str, float | None]


@dataclass
class RunSummary:
    sizes: Sizes
    environment: dict[str, Any]
    outcomes: list[ClientOutcome]
    server_drain_us_per_chunk: float | None
    floor_wall_us_per_chunk: float | None
    server_cpu_share: float | None
    elapsed_s: float


def _number(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _format_cell(cell: Cell | None, floor: Cell | None, repeats: int) -> str:
    if cell is None:
        return "—"
    if cell.median is None:
        return f"error: {cell.error}" if cell.error else "—"
    text = _number(cell.median)
    if floor is not None and floor.median:
        ratio = cell.median / floor.median
        # Two decimals hide ratios like 0.001 (a lazy constructor against httpx's eager SSL setup).
        text += f" ({ratio:.2f}×)" if ratio >= 0.1 else f" ({ratio:.2g}×)"
    if len(cell.samples) < repeats:
        text += f" [n={len(cell.samples)}]"
    if cell.wrong_output:
        text += " ⚠ wrong output"
    return text


def _label(spec: ClientSpec) -> str:
    return f"{spec.name} (floor)" if spec.name == FLOOR else spec.name


def _table(outcomes: list[ClientOutcome], cols: list[Column], wall: bool, repeats: int) -> list[str]:
    header = "| client | " + " | ".join(f"{c.title} ({c.unit})" for c in cols) + " |"
    lines = [header, "|" + "---|" * (len(cols) + 1)]
    floor = next((o for o in outcomes if o.spec.name == FLOOR), None)
    for outcome in outcomes:
        if outcome.status != "ok" and not any(c.median is not None for c in outcome.cpu.values()):
            reason = f"{outcome.status}: {outcome.error}"
            lines.append(f"| {_label(outcome.spec)} | {reason} |" + " — |" * (len(cols) - 1))
            continue
        cells = outcome.wall if wall else outcome.cpu
        floor_cells = (floor.wall if wall else floor.cpu) if floor else {}
        row = [_format_cell(cells.get(c.key), floor_cells.get(c.key), repeats) for c in cols]
        lines.append(f"| {_label(outcome.spec)} | " + " | ".join(row) + " |")
    return lines


def _optional(value: float | None, fmt: str = "{:.0f}") -> str:
    return "—" if value is None else fmt.format(value)


def render_markdown(summary: RunSummary) -> str:
    sizes, env = summary.sizes, summary.environment
    cols = scenarios.columns(sizes)
    wall_cols = [c for c in cols if c.clock == "cpu" and c.key != scenarios.CONSTRUCT]
    lines = [
        "# Benchmark results",
        "",
        f"{env['date']} · {env['cpu']} × {env['cpus']} · {env['python']} · mode `{sizes.mode}` · "
        f"median of {sizes.repeats} repeats ([n=…] marks fewer), "
        f"clients interleaved · run took {summary.elapsed_s:.0f} s · commit `{env['git_head']}`",
        "",
        "Each cell: median, then the ratio to the bare-httpx floor (lower is better for every column).",
        "Clock: **CPU time of the client process** (all its threads) for construct, streams, requests and",
        "embeddings; wall time for import; resident-memory growth for the last column.",
        "",
        *_table(summary.outcomes, cols, wall=False, repeats=sizes.repeats),
        "",
        "## Wall time of the same work",
        "",
        "Elapsed time, which adds waiting on the socket and the server (2 processes share the machine).",
        "",
        *_table(summary.outcomes, wall_cols, wall=True, repeats=sizes.repeats),
        "",
        "## Requests on the wire",
        "",
        f"| client | new connections during {sizes.small_requests:,} small requests | "
        f"HTTP requests for embed {sizes.embed_small:,} | HTTP requests for embed {sizes.embed_large:,} |",
        "|---|---|---|---|",
    ]
    for outcome in summary.outcomes:
        if outcome.status == "ok":
            lines.append(
                f"| {_label(outcome.spec)} | {_optional(outcome.connections_per_small_run)} | "
                f"{_optional(outcome.embed_requests.get(scenarios.EMBED_SMALL))} | "
                f"{_optional(outcome.embed_requests.get(scenarios.EMBED_LARGE))} |"
            )
    lines += [
        "",
        "## Server headroom",
        "",
        f"- Raw-socket drain of a {sizes.sync_chunks:,}-chunk stream (server + kernel, no parsing): "
        f"{_optional(summary.server_drain_us_per_chunk, '{:.2f}')} µs/chunk wall, against "
        f"{_optional(summary.floor_wall_us_per_chunk, '{:.2f}')} µs/chunk for the bare-httpx client.",
        f"- Server CPU during the floor's sync stream: {_optional(summary.server_cpu_share, '{:.1%}')} "
        "of the client's CPU.",
        "",
        "## Environment",
        "",
        f"- Machine: {env['cpu']}, {env['cpus']} logical CPUs, {env['platform']}",
        f"- Python: {env['python']}",
        "- Packages: " + ", ".join(f"{name} {version}" for name, version in env["packages"].items()),
        "",
        "## Clients",
        "",
    ]
    for outcome in summary.outcomes:
        status = "" if outcome.status == "ok" else f" — **{outcome.status}**: {outcome.error}"
        lines.append(f"- `{outcome.spec.name}`: {outcome.spec.description}{status}")
    lines += ["", "## Columns", ""]
    lines += [f"- **{c.title}** ({c.unit}, {c.clock}): {c.what}" for c in cols]
    return "\n".join(lines) + "\n"


def cell_json(cell: Cell) -> dict[str, Any]:
    return {
        "median": cell.median,
        "samples": cell.samples,
        "wrong_output": cell.wrong_output,
        "error": cell.error,
    }


def render_json(summary: RunSummary, raw_reports: dict[str, Any]) -> dict[str, Any]:
    return {
        "sizes": summary.sizes.as_dict(),
        "environment": summary.environment,
        "elapsed_s": summary.elapsed_s,
        "server": {
            "drain_us_per_chunk": summary.server_drain_us_per_chunk,
            "floor_wall_us_per_chunk": summary.floor_wall_us_per_chunk,
            "server_cpu_share": summary.server_cpu_share,
        },
        "clients": {
            o.spec.name: {
                "status": o.status,
                "error": o.error,
                "cpu": {key: cell_json(c) for key, c in o.cpu.items()},
                "wall": {key: cell_json(c) for key, c in o.wall.items()},
                "connections_per_small_run": o.connections_per_small_run,
                "embed_requests": o.embed_requests,
            }
            for o in summary.outcomes
        },
        "raw": raw_reports,
    }
