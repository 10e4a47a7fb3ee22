"""The interface every benchmarked client implements, and the prompt they all send."""

from __future__ import annotations

from typing import Protocol

PROMPT = "Why is the sky blue?"


class BenchClient(Protocol):
    """One library driven the way its documentation shows; each method does one unit of user work.

    Implementations take the fake server's base URL in ``__init__`` and build their long-lived client
    objects there (outside every timed region). Streaming methods return the reassembled text so the runner
    can check that no chunk was lost.
    """

    def construct_once(self) -> object:
        """Build the library's main chat object once, as a user would (timed in a loop)."""
        ...

    def stream_sync(self, model: str) -> str:
        """Consume one streamed chat answer and return its text."""
        ...

    async def stream_async(self, model: str) -> str:
        """Consume one streamed chat answer on the running event loop and return its text."""
        ...

    def small_request(self, model: str) -> str:
        """One non-streaming chat request; returns the answer text."""
        ...

    def embed(self, texts: list[str], model: str) -> int:
        """Embed ``texts`` the library's batch way; returns how many vectors came back."""
        ...

    async def aclose(self) -> None:
        """Close async resources while the loop that created them is still running."""
        ...

    def close(self) -> None: ...
