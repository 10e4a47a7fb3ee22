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
