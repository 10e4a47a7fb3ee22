"""The scenarios: what each one measures, its unit, and the clock it reports.

Shared by the worker (which runs them) and the report (which labels them), so the two cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bench.config import Sizes

Clock = Literal["cpu", "wall", "rss"]

IMPORT = "import"
CONSTRUCT = "construct"
SYNC_STREAM = "sync_stream"
ASYNC_STREAMS = "async_streams"
SMALL_REQUESTS = "small_requests"
EMBED_SMALL = "embed_small"
EMBED_LARGE = "embed_large"
MEMORY = "memory"

# The order they run in, in one worker process per client and repeat. MEMORY comes first, right after
# the import, so no earlier scenario has grown the heap. IMPORT is timed by the worker before anything.
WORKER_SCENARIOS = (MEMORY, CONSTRUCT, SYNC_STREAM, ASYNC_STREAMS, SMALL_REQUESTS, EMBED_SMALL, EMBED_LARGE)


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    unit: str
    scale: float  # seconds-per-unit (or bytes) times scale gives the unit
    clock: Clock
    what: str  # one line for the README / report legend
    per_unit: bool = True  # False: the figure is the whole call (embeddings), not per chunk or request


def columns(sizes: Sizes) -> list[Column]:
    streams = f"{sizes.async_streams}×{sizes.async_chunks_per_stream:,}"
    return [
        Column(
            IMPORT,
            "import",
            "ms",
            1e3,
            "wall",
            "the client's import statement, first thing in a fresh interpreter (worker process)",
        ),
        Column(
            CONSTRUCT, "construct", "µs", 1e6, "cpu", "building the main chat object (after a warm-up build)"
        ),
        Column(
            SYNC_STREAM,
            f"sync stream {sizes.sync_chunks:,}",
            "µs/chunk",
            1e6,
            "cpu",
            "one long streamed chat, iterated to the end; text reassembled and checked",
        ),
        Column(
            ASYNC_STREAMS,
            f"async streams {streams}",
            "µs/chunk",
            1e6,
            "cpu",
            "concurrent streamed chats on one event loop and one client object",
        ),
        Column(
            SMALL_REQUESTS,
            f"small requests ×{sizes.small_requests:,}",
            "µs/req",
            1e6,
            "cpu",
            "sequential non-streaming chats with a short answer (connection reuse shows here)",
        ),
        Column(
            EMBED_SMALL,
            f"embed {sizes.embed_small:,}",
            "ms",
            1e3,
            "cpu",
            f"embedding that many short texts in one call ({sizes.embed_dim}-dim vectors)",
            per_unit=False,
        ),
        Column(
            EMBED_LARGE,
            f"embed {sizes.embed_large:,}",
            "ms",
            1e3,
            "cpu",
            f"embedding that many short texts in one call ({sizes.embed_dim}-dim vectors)",
            per_unit=False,
        ),
        Column(
            MEMORY,
            f"peak RSS {sizes.memory_chunks:,}-chunk stream",
            "MB",
            1e-6,
            "rss",
            "peak RSS growth during the stream (first thing in a fresh process; kernel peak mark reset)",
        ),
    ]
