"""Import time of a client's public classes, each measurement in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys

from bench.server_process import REPO_ROOT

# The clock starts after interpreter start-up, so only the import statement itself is measured.
_TEMPLATE = "import time\n_t0 = time.perf_counter()\n{statement}\nprint(time.perf_counter() - _t0)\n"


class ImportFailed(Exception):
    pass


def import_seconds(statement: str) -> float:
    """Wall seconds that ``statement`` takes in a new process; ImportFailed with the error line otherwise."""
    process = subprocess.run(
        [sys.executable, "-c", _TEMPLATE.format(statement=statement)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if process.returncode != 0:
        lines = process.stderr.strip().splitlines()
        raise ImportFailed(lines[-1] if lines else f"exit status {process.returncode}")
    return float(process.stdout.strip().splitlines()[-1])
