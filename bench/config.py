"""Run modes: how big each scenario is and how many times it repeats."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Sizes:
    mode: str
    repeats: int  # worker processes per client (interleaved across clients)
    constructions: int  # at most this many, and no more than construct_budget_s of them
    sync_chunks: int
    async_streams: int
    async_chunks_per_stream: int
    small_requests: int
    embed_small: int
    embed_large: int
    embed_dim: int
    memory_chunks: int
    # A client stops repeating a scenario once it has spent this long on it in total, so one slow client
    # (llama-index sends 10,000 requests for 100k texts) cannot blow the run's time; its cell says [n=...].
    scenario_budget_s: float
    construct_budget_s: float = 0.5
    warm_chunks: int = 64  # size of the untimed warm-up stream

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


FULL = Sizes(
    mode="full",
    repeats=5,
    constructions=200,
    sync_chunks=20_000,
    async_streams=32,
    async_chunks_per_stream=1_000,
    small_requests=1_000,
    embed_small=2_000,
    embed_large=100_000,
    embed_dim=64,
    memory_chunks=100_000,
    scenario_budget_s=20.0,
)

QUICK = Sizes(
    mode="quick",
    repeats=3,
    constructions=50,
    sync_chunks=5_000,
    async_streams=32,
    async_chunks_per_stream=100,
    small_requests=200,
    embed_small=2_000,
    embed_large=20_000,
    embed_dim=64,
    memory_chunks=20_000,
    scenario_budget_s=4.0,
    construct_budget_s=0.2,
)

# For the test suite: proves the machinery works end to end; the figures mean nothing.
SMOKE = Sizes(
    mode="smoke",
    repeats=1,
    constructions=3,
    sync_chunks=200,
    async_streams=4,
    async_chunks_per_stream=20,
    small_requests=10,
    embed_small=20,
    embed_large=200,
    embed_dim=8,
    memory_chunks=500,
    scenario_budget_s=2.0,
    construct_budget_s=0.05,
    warm_chunks=8,
)

MODES = {sizes.mode: sizes for sizes in (FULL, QUICK, SMOKE)}
