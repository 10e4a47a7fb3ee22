"""Clocks and memory probes used inside a worker process."""

from __future__ import annotations

import gc
import resource
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Timing:
    cpu_s: float = 0.0  # CPU of this whole process (all threads): what the client itself burns
    wall_s: float = 0.0  # elapsed time, which also includes waiting on the server and the kernel
    server_cpu_s: float = 0.0  # CPU the fake server burned meanwhile, to show it is not the bottleneck


@contextmanager
def timed(server_cpu: Callable[[], float] | None = None) -> Iterator[Timing]:
    """Time the block. A full collection first, so garbage from earlier work is not billed to it.

    ``server_cpu`` reads the server's CPU clock; it is called outside the timed region.
    """
    gc.collect()
    timing = Timing()
    server_before = server_cpu() if server_cpu else 0.0
    cpu_before, wall_before = time.process_time(), time.perf_counter()
    try:
        yield timing
    finally:
        timing.wall_s = time.perf_counter() - wall_before
        timing.cpu_s = time.process_time() - cpu_before
        if server_cpu:
            timing.server_cpu_s = server_cpu() - server_before


_CLEAR_REFS = Path("/proc/self/clear_refs")
_STATUS = Path("/proc/self/status")


def _status_kib(field: str) -> int | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) so the next peak belongs to the code that follows.

    Linux resets it when "5" is written to /proc/self/clear_refs; without that, the import-time peak could
    hide a smaller stream peak. Returns False where unsupported (the caller then falls back to ru_maxrss).
    """
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


def current_rss_bytes() -> int:
    kib = _status_kib("VmRSS")
    return kib * 1024 if kib is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def peak_rss_bytes() -> int:
    kib = _status_kib("VmHWM")
    return kib * 1024 if kib is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
