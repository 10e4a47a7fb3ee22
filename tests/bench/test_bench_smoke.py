"""Smoke test of the benchmark runner: the machinery works end to end. No figure is asserted on."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# The floor plus our core: both light to import, so the test stays well under 20 s. A client that cannot
# be imported must still get its row, saying why.
CLIENTS = ("httpx", "ours-core")


def test_smoke_run_writes_a_table_with_a_row_per_client(tmp_path: Path) -> None:
    process = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--smoke",
            "--clients",
            ",".join(CLIENTS),
            "--results-dir",
            str(tmp_path),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert process.returncode == 0, process.stderr[-2000:]
    table = (tmp_path / "latest-smoke.md").read_text()
    assert (tmp_path / "latest-smoke.json").exists()

    main_table = table.split("\n## ", 1)[0]  # the CPU table comes first; later tables have other columns
    rows = {line.split("|")[1].strip(): line for line in main_table.splitlines() if line.startswith("| ")}
    assert "httpx (floor)" in rows
    assert "ours-core" in rows
    floor_row = rows["httpx (floor)"]
    assert "(1.00×)" in floor_row  # the floor's ratio to itself: every figure was measured
    assert "wrong output" not in floor_row
    assert "error" not in floor_row
    core_row = rows["ours-core"]
    assert "×)" in core_row or "unavailable:" in core_row
