"""What the core's telemetry costs: ``uv run --group bench python -m bench.telemetry [--quick | --smoke]``.

Side by side in one run, against the benchmark's fake Ollama, every client in its own processes,
interleaved across repeats (see bench/README.md):

* ``httpx`` — the floor;
* ``ours-core-before`` — the core as it was at the commit before ``ollama_provider/telemetry.py``
  was added (the ``--baseline`` mechanism of ``python -m bench``);
* ``ours-core`` — today's core, OpenTelemetry never imported (what most users run);
* ``ours-core+otel-idle`` — OpenTelemetry's API imported, no provider set (nobody listens);
* ``ours-core+otel-sdk`` — the SDK listening: every request makes a span and records its metrics.

Then the seam alone: nanoseconds per request spent in :mod:`ollama_provider.telemetry` in each of the
three states, timed in fresh interpreters. Writes ``bench/results/telemetry.md`` (``telemetry-smoke.md``
in smoke mode). Ratios compare with ``ours-core@before-telemetry``; no figure here is a test.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from bench import aggregate, env_info, scenarios
from bench.clients import BY_NAME, FLOOR, TELEMETRY_VARIANTS
from bench.config import MODES, Sizes
from bench.report import _number
from bench.run import RESULTS_DIR, Progress, export_baseline, rotated, run_worker
from bench.server_process import REPO_ROOT, FakeServerProcess

BASELINE = "ours-core-before"
CLIENTS = [BY_NAME[FLOOR], BY_NAME[BASELINE], BY_NAME["ours-core"], *TELEMETRY_VARIANTS]
SCENARIOS = [scenarios.SYNC_STREAM, scenarios.ASYNC_STREAMS, scenarios.SMALL_REQUESTS, scenarios.EMBED_SMALL]
SEAM_STATES = {
    "OpenTelemetry never imported": "",
    "API imported, no provider set": "import opentelemetry.trace, opentelemetry.metrics",
    "SDK listening (its own cost included)": "from bench.clients.ours_core_otel import listen; listen()",
}
#: One request's worth of telemetry: start, and (when someone listens) the end with the answer.
SEAM_SCRIPT = """
import timeit
{prelude}
from ollama_provider import OllamaConfig, telemetry
from ollama_provider import _calls as calls
from ollama_provider._parsing import parse_chat
call = calls.chat(OllamaConfig(), "hi", model="llama3.2")
answer = parse_chat({{
    "model": "llama3.2", "message": {{"role": "assistant", "content": "hello"}}, "done": True,
    "done_reason": "stop", "prompt_eval_count": 3, "eval_count": 5,
}})
host = "http://127.0.0.1:11434"

def one_request():
    op = telemetry.start(call, host)
    if op is not None:
        op.succeeded(host, answer)

def nothing():
    pass

n = {number}
best = min(timeit.repeat(one_request, number=n, repeat=5))
empty = min(timeit.repeat(nothing, number=n, repeat=5))
print((best - empty) / n * 1e9)
"""


def baseline_commit() -> str:
    """The parent of the commit that added the telemetry seam."""
    added = subprocess.run(
        ["git", "log", "--diff-filter=A", "--format=%H", "--", "ollama_provider/telemetry.py"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    if not added:
        raise SystemExit("no commit adds ollama_provider/telemetry.py: nothing to compare with")
    return f"{added[-1]}^"


def seam_nanoseconds(prelude: str, number: int) -> float:
    script = SEAM_SCRIPT.format(prelude=prelude, number=number)
    process = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, check=True, timeout=600
    )
    return float(process.stdout.split()[-1])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.telemetry", description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_const", dest="mode", const="quick")
    mode.add_argument("--smoke", action="store_const", dest="mode", const="smoke")
    parser.add_argument("--repeats", type=int, help="worker processes per client (default: the mode's)")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    sizes = MODES[args.mode or "full"]
    if args.repeats:
        sizes = replace(sizes, repeats=args.repeats)
    log = Progress()
    commit = baseline_commit()
    reports: dict[str, list[aggregate.WorkerReport]] = {spec.name: [] for spec in CLIENTS}
    with tempfile.TemporaryDirectory(prefix="bench-core-") as old_core:
        export_baseline(commit, Path(old_core))
        warm = sorted({sizes.sync_chunks, sizes.async_chunks_per_stream, sizes.warm_chunks})
        with FakeServerProcess(warm_chunks=warm) as server:
            for repeat in range(sizes.repeats):
                for spec in rotated(CLIENTS, repeat):
                    log(f"repeat {repeat + 1}/{sizes.repeats}: {spec.name}")
                    report = run_worker(spec, sizes, server, SCENARIOS)
                    if report["status"] != "ok":
                        raise SystemExit(f"{spec.name}: {report.get('error')}")
                    reports[spec.name].append(report)
    number = 2_000 if sizes.mode == "smoke" else 100_000
    seam = {
        # The SDK's own work takes far longer per request: fewer of them give as steady a figure.
        state: seam_nanoseconds(
            prelude, number if prelude.startswith("import") or not prelude else number // 20
        )
        for state, prelude in SEAM_STATES.items()
    }
    markdown = render(reports, sizes, commit, seam, log.elapsed)
    stem = "telemetry-smoke" if sizes.mode == "smoke" else "telemetry"
    args.results_dir.mkdir(parents=True, exist_ok=True)
    (args.results_dir / f"{stem}.md").write_text(markdown)
    raw = {"seam_ns": seam, "workers": reports}
    (args.results_dir / f"{stem}.json").write_text(json.dumps(raw, indent=1))
    print(markdown)
    log(f"wrote {args.results_dir / (stem + '.md')}")
    return 0


def render(
    reports: dict[str, list[aggregate.WorkerReport]],
    sizes: Sizes,
    commit: str,
    seam: dict[str, float],
    elapsed: float,
) -> str:
    columns = [c for c in scenarios.columns(sizes) if c.key in (scenarios.IMPORT, *SCENARIOS)]
    base = {c.key: _cell(reports[BASELINE], c) for c in columns}
    lines = [
        f"# Telemetry overhead ({sizes.mode} mode, {sizes.repeats} repeats, {elapsed:.0f} s)",
        "",
        f"Baseline `{BASELINE}`: the core at `{_resolve(commit)}` (the commit before the telemetry seam).",
        "Each cell: median CPU time of the client process (import: wall time), then the ratio to that",
        "baseline. The last row is the run-to-run spread of the baseline itself (max/min of its repeats):",
        "ratios within it are noise.",
        "",
        "| client | " + " | ".join(f"{c.title} ({c.unit})" for c in columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    for name, runs in reports.items():
        cells = []
        for column in columns:
            cell, reference = _cell(runs, column), base[column.key]
            if cell.median is None:
                cells.append("–")
                continue
            ratio = f" ({cell.median / reference.median:.2f}×)" if reference.median else ""
            cells.append(f"{_number(cell.median)}{ratio}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    spread = []
    for column in columns:
        samples = base[column.key].samples
        spread.append(f"{max(samples) / min(samples):.2f}×" if samples and min(samples) > 0 else "–")
    lines.append(f"| spread of `{BASELINE}` | " + " | ".join(spread) + " |")
    lines += [
        "",
        "## The seam alone",
        "",
        "Nanoseconds per request spent in `ollama_provider.telemetry` (start, and the end when someone",
        "listens), best of 5 in a fresh interpreter; per chunk nothing runs unless someone listens.",
        "",
        "| OpenTelemetry state | ns per request |",
        "|---|---|",
        *(f"| {state} | {ns:,.0f} |" for state, ns in seam.items()),
        "",
        "## Environment",
        "",
        *(f"- {key}: {value}" for key, value in env_info.collect().items()),
        "",
    ]
    return "\n".join(lines)


def _cell(runs: list[aggregate.WorkerReport], column: scenarios.Column) -> aggregate.Cell:
    if column.key == scenarios.IMPORT:
        samples = [float(r["import_s"]) * column.scale for r in runs if r.get("import_s")]
        return aggregate.Cell(samples=samples)
    return aggregate.cell(runs, column)


def _resolve(commit: str) -> str:
    return subprocess.run(
        ["git", "rev-parse", "--short", commit], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()


if __name__ == "__main__":
    sys.exit(main())
