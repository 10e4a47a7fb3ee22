"""Connection state, updated by every request, and the health report built from it.

>>> tracker = HealthTracker("http://127.0.0.1:11434")
>>> tracker.record_failure(ConnectionError("refused"))
>>> tracker.record_failure(ConnectionError("refused"))
>>> tracker.consecutive_failures, tracker.connected
(2, False)
>>> tracker.record_success(0.01)
>>> tracker.consecutive_failures, tracker.connected
(0, True)
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone

from ._forks import forget_in_child
from .types import HealthState, HealthStatus

#: Above this round trip for the two health probes, the server is reported as degraded.
SLOW_LATENCY = 2.0


class HealthTracker:
    """What the provider knows about the server, from its own traffic (thread-safe)."""

    def __init__(self, host: str) -> None:
        self.host = host
        self._lock = threading.Lock()
        self.connected: bool | None = None
        self.consecutive_failures = 0
        self.last_error: str | None = None
        self.last_latency: float | None = None
        forget_in_child(self)

    def _after_fork_in_child(self) -> list[object]:
        self._lock = threading.Lock()  # another thread may have held it at the fork
        return []

    def record_success(self, latency: float | None = None) -> None:
        with self._lock:
            self.connected = True
            self.consecutive_failures = 0
            if latency is not None:
                self.last_latency = latency

    def record_failure(self, error: BaseException) -> None:
        with self._lock:
            self.connected = False
            self.consecutive_failures += 1
            self.last_error = f"{type(error).__name__}: {error}"

    def report(
        self, *, latency: float | None, version: str | None, models: int | None, error: BaseException | None
    ) -> HealthStatus:
        """Build the status of one explicit check (its outcome was already recorded)."""
        status: HealthState
        if error is not None and version is None:
            status = "unhealthy"
        elif error is not None or (latency is not None and latency > SLOW_LATENCY):
            status = "degraded"
        else:
            status = "healthy"
        return HealthStatus(
            status=status,
            host=self.host,
            latency=latency,
            version=version,
            models=models,
            last_error=self.last_error,
            consecutive_failures=self.consecutive_failures,
            checked_at=datetime.now(timezone.utc),
        )


def summarize(
    host: str, per_host: list[HealthStatus], tracker: HealthTracker, *, models: int | None
) -> HealthStatus:
    """One status for a pool: ``healthy`` when every host is, ``unhealthy`` when none is up,
    ``degraded`` otherwise; ``models`` counts distinct models across the hosts that answered.

    >>> up = HealthStatus("healthy", "http://a:11434", latency=0.01, version="0.33.0", models=2)
    >>> down = HealthStatus("unhealthy", "http://b:11434", last_error="OllamaConnectionError: refused")
    >>> status = summarize("http://a:11434,http://b:11434", [up, down], HealthTracker("x"), models=2)
    >>> status.status, status.version, [h.healthy for h in status.hosts]
    ('degraded', '0.33.0', [True, False])
    """
    up = [s for s in per_host if s.status != "unhealthy"]
    state: HealthState
    if up and len(up) == len(per_host) and all(s.healthy for s in per_host):
        state = "healthy"
    else:
        state = "degraded" if up else "unhealthy"
    versions = sorted({s.version for s in up if s.version})
    latencies = [s.latency for s in per_host if s.latency is not None]
    errors = [f"{s.host}: {s.last_error}" for s in per_host if s.last_error and s.status != "healthy"]
    return HealthStatus(
        status=state,
        host=host,
        latency=max(latencies) if latencies else None,
        version=", ".join(versions) or None,
        models=models if up else None,
        last_error="; ".join(errors) or None,
        consecutive_failures=tracker.consecutive_failures,
        checked_at=datetime.now(timezone.utc),
        per_host=per_host,
    )
