"""Turn per-repeat worker reports into medians per client and scenario."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from bench import scenarios
from bench.scenarios import Clock, Column

WorkerReport = dict[str, Any]


@dataclass
class Cell:
    samples: list[float] = field(default_factory=list)
    wrong_output: bool = False  # a client returned a different text / vector count than the server sent
    error: str | None = None

    @property
    def median(self) -> float | None:
        return statistics.median(self.samples) if self.samples else None


def _sample(result: dict[str, Any], clock: Clock, column: Column) -> float:
    if clock == "rss":
        return float(result["peak_rss_growth_bytes"]) * column.scale
    seconds = float(result[f"{clock}_s"])
    return (seconds / int(result["units"]) if column.per_unit else seconds) * column.scale


def cell(reports: list[WorkerReport], column: Column, clock: Clock | None = None) -> Cell:
    """Median-ready samples of one column; ``clock`` overrides the column's own (for the wall table)."""
    out = Cell()
    for report in reports:
        result = report.get("scenarios", {}).get(column.key)
        if result is None:
            continue
        if "error" in result:
            out.error = result["error"]
            continue
        out.wrong_output |= not result["ok"]
        out.samples.append(_sample(result, clock or column.clock, column))
    return out


def import_cell(samples_s: list[float]) -> Cell:
    return Cell(samples=[s * 1e3 for s in samples_s])


def extra_median(reports: list[WorkerReport], scenario: str, key: str) -> float | None:
    """Median of a non-timing figure a scenario reports (connections opened, HTTP requests made)."""
    values = [
        float(r["scenarios"][scenario][key])
        for r in reports
        if key in r.get("scenarios", {}).get(scenario, {})
    ]
    return statistics.median(values) if values else None


def server_cpu_share(reports: list[WorkerReport]) -> float | None:
    """Server CPU over client CPU during the sync stream (small: the server is not the limit)."""
    shares = [
        r["scenarios"][scenarios.SYNC_STREAM]["server_cpu_s"] / r["scenarios"][scenarios.SYNC_STREAM]["cpu_s"]
        for r in reports
        if r.get("scenarios", {}).get(scenarios.SYNC_STREAM, {}).get("cpu_s")
    ]
    return statistics.median(shares) if shares else None
