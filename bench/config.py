"""Run modes: how big each scenario is and how many times it repeats."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Sizes:
    mode: str
    repeats: int  # worker runs per client for the timing scenarios (interleaved across clients)
    memory_repeats: int
    import_repeats: int
    constructions: int
    sync_chunks: int
    async_streams: int
    async_chunks_per_stream: int
    small_requests: int
    embed_small: int
    embed_large: int
    embed_dim: int
    memory_chunks: int
    warm_chunks: int = 64  # size of the untimed warm-up stream
    # A fresh process for the memory scenario and an untimed warm-up import (which compiles .pyc files);
    # the smoke mode skips both to stay fast.
    isolate_memory: bool = True
    warm_import: bool = True

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


FULL = Sizes(
    mode="full",
    repeats=5,
    memory_repeats=3,
    import_repeats=7,
    constructions=200,
    sync_chunks=20_000,
    async_streams=32,
    async_chunks_per_stream=1_000,
    small_requests=1_000,
    embed_small=2_000,
    embed_large=100_000,
    embed_dim=64,
    memory_chunks=100_000,
)

QUICK = Sizes(
    mode="quick",
    repeats=3,
    memory_repeats=1,
    import_repeats=3,
    constructions=50,
    sync_chunks=5_000,
    async_streams=32,
    async_chunks_per_stream=200,
    small_requests=300,
    embed_small=2_000,
    embed_large=100_000,
    embed_dim=16,
    memory_chunks=100_000,
)

# For the test suite: proves the machinery works end to end; the figures mean nothing.
SMOKE = Sizes(
    mode="smoke",
    repeats=1,
    memory_repeats=1,
    import_repeats=1,
    constructions=3,
    sync_chunks=200,
    async_streams=4,
    async_chunks_per_stream=20,
    small_requests=10,
    embed_small=20,
    embed_large=200,
    embed_dim=8,
    memory_chunks=500,
    warm_chunks=8,
    isolate_memory=False,
    warm_import=False,
)

MODES = {sizes.mode: sizes for sizes in (FULL, QUICK, SMOKE)}
