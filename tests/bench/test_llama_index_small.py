"""bench.llama_index_small's report: ratios are taken per repeat, then summarised. No figure is real."""

from __future__ import annotations

from typing import Any

from bench import scenarios
from bench.llama_index_small import CLIENTS, OURS, PEER, render, spread


def worker(client: str, cpu_us: float, wall_us: float) -> dict[str, Any]:
    result = {"cpu_s": cpu_us * 1e-6 * 100, "wall_s": wall_us * 1e-6 * 100, "units": 100, "ok": True}
    return {"client": client, "status": "ok", "scenarios": {scenarios.SMALL_REQUESTS: result}}


def test_the_ratio_of_each_repeat_is_summarised_as_median_and_spread() -> None:
    assert spread([0.9, 0.7, 0.8]) == "0.80× (0.70-0.90)"
    ours_cpu, peer_cpu = [500, 600, 800], [1000, 750, 800]  # per repeat: 0.50, 0.80, 1.00
    reports = {spec.name: [worker(spec.name, 400, 900) for _ in range(3)] for spec in CLIENTS}
    reports[OURS] = [worker(OURS, cpu, 1000) for cpu in ours_cpu]
    reports[PEER] = [worker(PEER, cpu, 2000) for cpu in peer_cpu]
    table = render(reports, 100, 1.0, "abc1234 message")
    row = next(line for line in table.splitlines() if line.startswith(f"| `{OURS}` / `{PEER}`"))
    assert row == f"| `{OURS}` / `{PEER}` | 0.80× (0.50-1.00) | 0.50× (0.50-0.50) |"
    assert f"| {OURS} | 600 (500-800) | 1,000 (1,000-1,000) |" in table
