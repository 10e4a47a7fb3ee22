"""Run the whole benchmark: ``uv run --group bench python -m bench [--quick | --smoke]``.

Starts the fake server, then runs every client's scenarios (import time first) in worker processes,
interleaving clients across repeats so slow drifts of a noisy machine spread evenly over all of them,
and writes ``bench/results/latest.md`` (and a JSON file with every sample).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench import aggregate, env_info, report, scenarios
from bench.clients import BY_NAME, CLIENTS, FLOOR, ClientSpec
from bench.config import FULL, MODES, Sizes
from bench.server_process import REPO_ROOT, FakeServerProcess, raw_drain_seconds

RESULTS_DIR = REPO_ROOT / "bench" / "results"
WORKER_TIMEOUT_S = 900


class Progress:
    def __init__(self) -> None:
        self.started = time.perf_counter()

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def __call__(self, message: str) -> None:
        print(f"[{self.elapsed:6.1f}s] {message}", file=sys.stderr, flush=True)


def rotated(items: Sequence[ClientSpec], shift: int) -> list[ClientSpec]:
    """A different client goes first on each repeat, so none always runs on a cold or a tired machine."""
    shift %= max(len(items), 1)
    return [*items[shift:], *items[:shift]]


def run_worker(
    spec: ClientSpec, sizes: Sizes, server: FakeServerProcess, keys: Sequence[str]
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        out = Path(tmp) / "report.json"
        command = [
            sys.executable, "-m", "bench.worker",
            "--import-statement", spec.import_statement,
            "--client", spec.name,
            "--base-url", server.base_url,
            "--sizes-json", json.dumps(sizes.as_dict()),
            "--scenarios", ",".join(keys),
            "--out", str(out),
        ]  # fmt: skip
        try:
            process = subprocess.run(
                command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=WORKER_TIMEOUT_S, check=False
            )
        except subprocess.TimeoutExpired:
            return {"client": spec.name, "status": "error", "error": "worker timed out", "scenarios": {}}
        if process.returncode != 0 or not out.exists():
            tail = process.stderr.strip().splitlines()
            error = tail[-1] if tail else f"exit status {process.returncode}"
            return {"client": spec.name, "status": "error", "error": error, "scenarios": {}}
        result: dict[str, Any] = json.loads(out.read_text())
        return result


class Collector:
    """Everything measured for every client, plus whether a client turned out unavailable."""

    def __init__(self, specs: Sequence[ClientSpec]) -> None:
        self.specs = list(specs)
        self.status = {s.name: "ok" for s in specs}
        self.errors: dict[str, str | None] = {s.name: None for s in specs}
        self.reports: dict[str, list[dict[str, Any]]] = {s.name: [] for s in specs}
        self.spent_s: dict[tuple[str, str], float] = {}  # (client, scenario) -> wall seconds so far

    def live(self, specs: Sequence[ClientSpec]) -> list[ClientSpec]:
        return [s for s in specs if self.status[s.name] == "ok"]

    def mark(self, name: str, status: str, error: str | None) -> None:
        if self.status[name] == "ok":
            self.status[name], self.errors[name] = status, error

    def add(self, name: str, worker_report: dict[str, Any]) -> None:
        self.reports[name].append(worker_report)
        for key, result in worker_report["scenarios"].items():
            self.spent_s[name, key] = self.spent_s.get((name, key), 0.0) + float(result.get("wall_s", 0.0))

    def scenarios_due(self, name: str, budget_s: float) -> list[str]:
        """The worker scenarios this client still repeats: those within their time budget."""
        return [key for key in scenarios.WORKER_SCENARIOS if self.spent_s.get((name, key), 0.0) < budget_s]


def run_repeats(collector: Collector, sizes: Sizes, server: FakeServerProcess, log: Progress) -> None:
    for repeat in range(sizes.repeats):
        for spec in rotated(collector.live(collector.specs), repeat):
            keys = collector.scenarios_due(spec.name, sizes.scenario_budget_s)
            if not keys:
                continue
            log(f"repeat {repeat + 1}/{sizes.repeats}: {spec.name} ({len(keys)} scenarios)")
            worker_report = run_worker(spec, sizes, server, keys)
            if worker_report["status"] != "ok":
                collector.mark(spec.name, worker_report["status"], worker_report.get("error"))
                continue
            collector.add(spec.name, worker_report)


def summarise(
    collector: Collector, sizes: Sizes, server_drain: float | None, elapsed: float
) -> report.RunSummary:
    cols = scenarios.columns(sizes)
    outcomes = []
    for spec in collector.specs:
        runs = collector.reports[spec.name]
        cpu = {c.key: aggregate.cell(runs, c) for c in cols if c.key != scenarios.IMPORT}
        cpu[scenarios.IMPORT] = aggregate.import_cell([r["import_s"] for r in runs if r.get("import_s")])
        wall = {c.key: aggregate.cell(runs, c, clock="wall") for c in cols if c.clock == "cpu"}
        outcomes.append(
            report.ClientOutcome(
                spec=spec,
                status=collector.status[spec.name],
                error=collector.errors[spec.name],
                cpu=cpu,
                wall=wall,
                connections_per_small_run=aggregate.extra_median(
                    runs, scenarios.SMALL_REQUESTS, "connections_opened"
                ),
                embed_requests={
                    key: aggregate.extra_median(runs, key, "http_requests")
                    for key in (scenarios.EMBED_SMALL, scenarios.EMBED_LARGE)
                },
            )
        )
    floor_runs = collector.reports.get(FLOOR, [])
    sync_column = next(c for c in cols if c.key == scenarios.SYNC_STREAM)
    floor_wall = aggregate.cell(floor_runs, sync_column, clock="wall").median
    return report.RunSummary(
        sizes=sizes,
        environment=env_info.collect(),
        outcomes=outcomes,
        server_drain_us_per_chunk=server_drain,
        floor_wall_us_per_chunk=floor_wall,
        server_cpu_share=aggregate.server_cpu_share(floor_runs),
        elapsed_s=elapsed,
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__.splitlines()[0] if __doc__ else None
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--quick", action="store_const", dest="mode", const="quick", help="smaller sizes, ~2 min"
    )
    mode.add_argument(
        "--smoke", action="store_const", dest="mode", const="smoke", help="tiny, for the test suite"
    )
    parser.add_argument("--clients", help="comma-separated subset of: " + ", ".join(BY_NAME))
    parser.add_argument("--repeats", type=int, help="override the mode's number of repeats")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument(
        "--baseline",
        metavar="REV",
        help="also measure the core as it was at git revision REV (client ours-core-before)",
    )
    return parser.parse_args(argv)


def export_baseline(revision: str, folder: Path) -> None:
    """``ollama_provider`` as it was at ``revision``, into ``folder`` (named for the workers)."""
    archive = subprocess.run(
        ["git", "archive", revision, "ollama_provider"], cwd=REPO_ROOT, capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    os.environ["BENCH_BASELINE_DIR"] = str(folder)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # Turn SIGTERM into SystemExit so the server and a running worker are stopped on the way out.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(128 + signal.SIGTERM))
    sizes = MODES[args.mode] if args.mode else FULL
    if args.repeats:
        sizes = replace(sizes, repeats=args.repeats)
    specs = [BY_NAME[name] for name in args.clients.split(",")] if args.clients else list(CLIENTS)
    log = Progress()
    with tempfile.TemporaryDirectory(prefix="bench-baseline-") as baseline:
        if args.baseline:
            export_baseline(args.baseline, Path(baseline))
            log(f"baseline: ollama_provider at {args.baseline}")
        elif not args.clients:
            specs = [spec for spec in specs if spec.name != "ours-core-before"]
        return measure(args, sizes, specs, log)


def measure(args: argparse.Namespace, sizes: Sizes, specs: list[ClientSpec], log: Progress) -> int:
    collector = Collector(specs)
    log(f"mode {sizes.mode}: {len(specs)} clients, {sizes.repeats} repeats")
    warm = sorted({sizes.sync_chunks, sizes.async_chunks_per_stream, sizes.memory_chunks, sizes.warm_chunks})
    with FakeServerProcess(warm_chunks=warm) as server:
        log(f"fake server at {server.base_url} (pid {server.pid})")
        drains = [raw_drain_seconds(server.base_url, sizes.sync_chunks) for _ in range(5)]
        server_drain = sorted(drains)[len(drains) // 2] / sizes.sync_chunks * 1e6
        run_repeats(collector, sizes, server, log)
    summary = summarise(collector, sizes, server_drain, log.elapsed)
    markdown = report.render_markdown(summary)
    # The smoke mode's figures mean nothing: keep them away from the committed latest.md.
    stem = "latest-smoke" if sizes.mode == "smoke" else "latest"
    args.results_dir.mkdir(parents=True, exist_ok=True)
    (args.results_dir / f"{stem}.md").write_text(markdown)
    raw = {"workers": collector.reports}
    (args.results_dir / f"{stem}.json").write_text(json.dumps(report.render_json(summary, raw), indent=1))
    print(markdown)
    log(f"wrote {args.results_dir / (stem + '.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
