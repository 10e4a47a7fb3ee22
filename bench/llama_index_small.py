"""The LlamaIndex adapter's cost per small request.

    uv run --group bench python -m bench.llama_index_small [--repeats 7] [--requests 1000]

Side by side, against the benchmark's fake Ollama, each client in its own worker processes,
interleaved (a different client goes first on each repeat, see bench/README.md): the bare-httpx floor,
the official ``ollama`` client, ``llama-index-llms-ollama``, our core, and our LlamaIndex adapter. One
scenario: sequential non-streamed chats with an 8-token answer (``small requests``), ``--requests``
of them per worker.

The figure that matters is our adapter over the official integration. It is taken **per repeat**
(both measured in the same repeat, minutes apart at most, so a busy machine weighs on both) and
reported as the median of the repeats with its spread (lowest and highest), in CPU time of the
client process and in wall time. Writes ``bench/results/llama_index_small.md`` (``--out`` to change).

``--profile N`` instead runs N small requests of our adapter and of the official integration under
cProfile (CPU clock) in this process and prints where each spends its own time, grouped by package:
the profile behind the figures (profiling slows every call; compare the rows, not the totals with
the table).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench import env_info, scenarios
from bench.clients import BY_NAME, FLOOR
from bench.config import FULL
from bench.run import RESULTS_DIR, Progress, rotated, run_worker
from bench.server_process import REPO_ROOT, FakeServerProcess

OURS, PEER = "ours-llama-index", "llama-index-ollama"
CLIENTS = [BY_NAME[name] for name in (FLOOR, "ollama", PEER, "ours-core", OURS)]
#: Ratios shown per repeat: (numerator, denominator).
PAIRS = [(OURS, PEER), ("ours-core", "ollama"), (OURS, "ours-core"), (PEER, "ollama")]
CLOCKS = {"cpu": "CPU time of the client process", "wall": "wall time"}


def per_request_us(report: dict[str, Any], clock: str) -> float:
    result = report["scenarios"][scenarios.SMALL_REQUESTS]
    if not result["ok"]:
        raise SystemExit(f"{report['client']}: wrong answers in the small requests")
    return float(result[f"{clock}_s"]) / int(result["units"]) * 1e6


def spread(values: list[float], digits: int = 2) -> str:
    """Median, then lowest-highest: ``0.87× (0.84-0.90)``."""
    return f"{statistics.median(values):.{digits}f}× ({min(values):.{digits}f}-{max(values):.{digits}f})"


def render(reports: dict[str, list[dict[str, Any]]], requests: int, elapsed: float, commit: str) -> str:
    repeats = min(len(runs) for runs in reports.values())
    lines = [
        f"# LlamaIndex adapter: cost per small request ({repeats} interleaved repeats, {elapsed:.0f} s)",
        "",
        f"Commit `{commit}`. `python -m bench.llama_index_small`: each repeat runs every client in its own",
        f"worker process, {requests:,} sequential non-streamed chats with an 8-token answer each, against",
        "the benchmark's fake Ollama; the order of the clients rotates from repeat to repeat.",
        "",
        "## Ratios, per repeat",
        "",
        "Both sides of a ratio come from the same repeat; the cell is the median over the repeats, then",
        "the lowest and highest.",
        "",
        "| ratio | " + " | ".join(CLOCKS.values()) + " |",
        "|---|---|---|",
    ]
    for top, bottom in PAIRS:
        cells = []
        for clock in CLOCKS:
            ratios = [
                per_request_us(a, clock) / per_request_us(b, clock)
                for a, b in zip(reports[top], reports[bottom], strict=False)
            ]
            cells.append(spread(ratios))
        lines.append(f"| `{top}` / `{bottom}` | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Per client",
        "",
        "µs per request: median over the repeats (lowest-highest).",
        "",
        "| client | " + " | ".join(CLOCKS.values()) + " |",
        "|---|---|---|",
    ]
    for name, runs in reports.items():
        cells = []
        for clock in CLOCKS:
            values = [per_request_us(run, clock) for run in runs]
            cells.append(f"{statistics.median(values):,.0f} ({min(values):,.0f}-{max(values):,.0f})")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    environment = [f"- {key}: {value}" for key, value in env_info.collect().items()]
    lines += ["", "## Environment", "", *environment, ""]
    return "\n".join(lines)


#: Packages a profiled request's own time is grouped by (first match of the file path wins).
PROFILE_GROUPS = (
    ("our LlamaIndex adapter", "llama_index/llms/ollama_provider/"),
    ("our LlamaIndex adapter", "llama_index/embeddings/ollama_provider/"),
    ("our core (ollama_provider)", "ollama_provider/"),
    ("llama-index-llms-ollama", "llama_index/llms/ollama/"),
    ("ollama (official client)", "site-packages/ollama/"),
    ("llama-index-core", "llama_index/core/"),
    ("llama-index-instrumentation", "llama_index_instrumentation/"),
    ("pydantic", "pydantic"),
    ("httpx", "/httpx/"),
    ("httpcore", "/httpcore/"),
    ("h11", "/h11/"),
    ("json", "/json/"),
    ("the benchmark's client wrapper", "/bench/"),
)


def profile(requests: int) -> str:
    """Own CPU time per request of our adapter and the official integration, grouped by package."""
    import cProfile
    import pstats
    import time

    from bench import payloads
    from bench.scenario_runner import SMALL_ANSWER_CHUNKS, load_client

    columns: dict[str, dict[str, float]] = {}
    with FakeServerProcess(warm_chunks=[sizes_warm()]) as server:
        for name in (PEER, OURS):
            client = load_client(name, server.base_url)
            model = payloads.chat_model(SMALL_ANSWER_CHUNKS)
            for _ in range(50):  # imports, the connection, the model's facts
                client.small_request(model)
            profiler = cProfile.Profile(time.process_time)
            for _ in range(requests):
                profiler.runcall(client.small_request, model)
            groups: dict[str, float] = {}
            for (path, _line, _function), row in pstats.Stats(profiler).stats.items():  # type: ignore[attr-defined]
                own_s = row[2]
                group = next((g for g, part in PROFILE_GROUPS if part in path), None)
                if group is None:
                    group = "Python built-ins (C)" if path == "~" else "standard library and others"
                groups[group] = groups.get(group, 0.0) + own_s / requests * 1e6
            columns[name] = groups
    names = sorted(
        {g for groups in columns.values() for g in groups},
        key=lambda g: -max(c.get(g, 0) for c in columns.values()),
    )
    lines = [
        f"Own CPU time per request under cProfile, µs ({requests:,} small requests each):",
        "",
        f"| where | `{PEER}` | `{OURS}` |",
        "|---|---|---|",
        *(f"| {g} | {columns[PEER].get(g, 0):,.1f} | {columns[OURS].get(g, 0):,.1f} |" for g in names),
        f"| **total** | **{sum(columns[PEER].values()):,.1f}** | **{sum(columns[OURS].values()):,.1f}** |",
    ]
    return "\n".join(lines)


def sizes_warm() -> int:
    return FULL.warm_chunks


def current_commit() -> str:
    import subprocess

    return subprocess.run(
        ["git", "log", "-1", "--format=%h %s"], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.llama_index_small", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument("--repeats", type=int, default=7, help="worker processes per client (at least 5)")
    parser.add_argument("--requests", type=int, default=FULL.small_requests, help="small requests per worker")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "llama_index_small.md")
    parser.add_argument("--profile", type=int, metavar="N", help="profile N requests instead (prints only)")
    args = parser.parse_args(argv)
    if args.profile:
        print(f"Commit `{current_commit()}`.\n")
        print(profile(args.profile))
        return 0
    sizes = replace(FULL, small_requests=args.requests, repeats=args.repeats)
    log = Progress()
    reports: dict[str, list[dict[str, Any]]] = {spec.name: [] for spec in CLIENTS}
    with FakeServerProcess(warm_chunks=[sizes.warm_chunks]) as server:
        for repeat in range(args.repeats):
            for spec in rotated(CLIENTS, repeat):
                log(f"repeat {repeat + 1}/{args.repeats}: {spec.name}")
                report = run_worker(spec, sizes, server, [scenarios.SMALL_REQUESTS])
                if report["status"] != "ok":
                    raise SystemExit(f"{spec.name}: {report.get('error')}")
                reports[spec.name].append(report)
    markdown = render(reports, args.requests, log.elapsed, current_commit())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(markdown)
    args.out.with_suffix(".json").write_text(json.dumps({"workers": reports}, indent=1))
    print(markdown)
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
