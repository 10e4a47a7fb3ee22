"""Retry policy: which failures are retried and how long to wait (tenacity does the looping).

Exponential backoff with "equal jitter" (half fixed, half random), honouring ``Retry-After``:

>>> policy = RetryPolicy(retries=3, backoff_base=0.5, backoff_max=8.0)
>>> 0.25 <= policy.wait_seconds(1, None) <= 0.5
True
>>> from ollama_provider.errors import ServerBusyError
>>> policy.wait_seconds(1, ServerBusyError("busy", retry_after=3.0)) >= 3.0
True
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import OllamaError, ServerBusyError

if TYPE_CHECKING:
    from tenacity import RetryCallState

#: A server asking us to wait longer than this gets this long: the caller's time matters too.
MAX_RETRY_AFTER = 30.0


def is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, OllamaError) and exc.retryable


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    retries: int = 3
    backoff_base: float = 0.5
    backoff_max: float = 8.0

    def wait_seconds(self, attempt: int, exc: BaseException | None) -> float:
        backoff: float = min(self.backoff_max, self.backoff_base * 2.0 ** (attempt - 1))
        wait = backoff / 2 + random.uniform(0, backoff / 2)
        if isinstance(exc, ServerBusyError) and exc.retry_after is not None:
            wait = max(wait, min(exc.retry_after, MAX_RETRY_AFTER))
        return wait

    def retries_kwargs(self, before_sleep: Callable[[RetryCallState], None] | None = None) -> dict[str, Any]:
        """``tenacity.Retrying`` / ``AsyncRetrying`` arguments for the attempts after a failed first one.

        The first attempt runs outside tenacity, so the common case (it works) costs nothing;
        attempt numbers here start at 2, and the wait before attempt 2 is the caller's.
        ``before_sleep`` is told of each failed attempt that is retried (to report it).
        """
        from tenacity import retry_if_exception, stop_after_attempt  # imported once retrying starts

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            return self.wait_seconds(state.attempt_number + 1, exc)

        kwargs: dict[str, Any] = {
            "stop": stop_after_attempt(self.retries),
            "wait": wait,
            "retry": retry_if_exception(is_retryable),
            "reraise": True,
        }
        if before_sleep is not None:
            kwargs["before_sleep"] = before_sleep
        return kwargs
