"""What each kind of gray failure costs a caller: sequential requests through a pool of three hosts.

``uv run python -m bench.gray [--requests 12] [--live]``

For each kind of failure, one caller sends ``requests`` small chats one after another through
``OllamaProvider(hosts=[a, b, c])``; the failure strikes host ``a`` after the first three (every host in
rotation, its models known). Printed per kind: the slowest request, the sum of the time lost against
the same sequence with every host healthy, and how many requests failed (none should). Fake servers
(``ollama_provider.testing.FakeHost``, one process each) by default; ``--live`` runs the same on real
``ollama serve`` processes (``OLLAMA_PROVIDER_LIVE_BIN``, ``OLLAMA_PROVIDER_LIVE_MODELS``, see
tests/live), for the kinds a real server can show.

Kinds: ``refused`` (the process is gone: SIGKILL), ``frozen`` (SIGSTOP: connections accepted, nothing
answered), ``stuck`` (the server answers ``/api/version`` but a chat never starts: a hung runner; fake
servers only), ``busy`` (503 "server busy" to every chat; fake servers only), ``slow embed`` (one host
takes 2 s per embedding, with and without ``hedge_after="p95"``; fake servers only).
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ollama_provider import OllamaProvider
from ollama_provider.testing import FakeHost

MODEL = "llama3.2"
EMBED_MODEL = "all-minilm"


@dataclass
class Cost:
    kind: str
    settings: str
    latencies: list[float]
    baseline: float
    failed: int

    @property
    def lost(self) -> float:
        return sum(max(0.0, t - self.baseline) for t in self.latencies)


class Hosts:
    """Three hosts and the means to hurt the first one."""

    def __init__(self, live: bool) -> None:
        self.live = live
        self.fakes: list[FakeHost] = []
        self.real: Any = None

    def start(self) -> list[str]:
        if self.live:
            sys.path.insert(0, ".")
            from tests.live.conftest import warm_up
            from tests.live.servers import OllamaServers, find_binary, model_store

            binary, where = find_binary()
            if binary is None:
                raise SystemExit(f"--live: {where}")
            self.real = OllamaServers.start(binary, 3, store=model_store())
            warm_up(self.real.urls, chat=True)
            return list(self.real.urls)
        self.fakes = FakeHost.start_many(3, prefix="box", models=[MODEL, EMBED_MODEL])
        return [host.url for host in self.fakes]

    def stop(self) -> None:
        if self.real is not None:
            self.real.stop()
        for host in self.fakes:
            host.stop()

    def hurt(self, kind: str) -> None:
        if self.real is not None:
            {"refused": self.real[0].kill, "frozen": self.real[0].freeze}[kind]()
        elif kind == "refused":
            self.fakes[0].process.kill()
            self.fakes[0].process.wait()
        elif kind == "frozen":
            self.fakes[0].freeze()
        elif kind == "stuck":
            self.fakes[0].arm(path="/api/chat", stall=3600.0, count=1000)
        elif kind == "busy":
            self.fakes[0].arm(
                path="/api/chat", status=503, error="server busy, please try again.", count=1000
            )
        elif kind == "slow embed":
            self.fakes[0].arm(path="/api/embed", stall=2.0, count=1000)

    def heal(self) -> None:
        if self.real is not None:
            from tests.live.conftest import warm_up

            for server in self.real:
                if server.process is None:
                    server.start()
                    warm_up([server.url], chat=True)  # loaded again, like its peers
                server.thaw()
            return
        for host in self.fakes:
            host.thaw()
            host.fresh()


def chat_options(live: bool) -> dict[str, Any]:
    return {"options": {"temperature": 0, "seed": 7, "num_predict": 8, "num_thread": 1}} if live else {}


def sequence(
    provider: OllamaProvider, count: int, ask: Callable[[int], Any], hurt: Callable[[], None]
) -> tuple[list[float], int]:
    latencies, failed = [], 0
    for i in range(count):
        if i == 3:
            hurt()
        began = time.perf_counter()
        try:
            ask(i)
        except Exception as error:  # counted, and shown
            failed += 1
            print(f"  request {i} failed: {type(error).__name__}: {error}", file=sys.stderr)
        latencies.append(time.perf_counter() - began)
    return latencies[3:], failed


def question(
    provider: OllamaProvider, i: int, *, embedding: bool, model: str, options: dict[str, Any]
) -> Any:
    if embedding:
        return provider.embed(f"text {i}", model=EMBED_MODEL)
    return provider.chat(f"question {i}", model=model, **options)


def run(count: int, live: bool) -> list[Cost]:
    hosts = Hosts(live)
    urls = hosts.start()
    costs: list[Cost] = []
    options = chat_options(live)
    model = "smollm2:135m" if live else MODEL
    kinds: list[tuple[str, dict[str, Any]]] = [
        ("refused", {}),
        ("frozen", {}),
        ("frozen", {"probe_timeout": 0.5}),
        ("frozen", {"first_chunk_timeout": 5.0}),
    ]
    if not live:
        kinds += [
            ("stuck", {"first_chunk_timeout": 5.0}),  # with the default (300 s), each costs 300 s
            ("busy", {}),
            ("slow embed", {}),
            ("slow embed", {"hedge_after": "p95"}),
        ]
    try:
        for kind, settings in kinds:
            ask = functools.partial(question, embedding=kind == "slow embed", model=model, options=options)
            warm = 20 if kind == "slow embed" else 3  # the p95 of each host, for hedging
            with OllamaProvider(hosts=urls, **settings) as healthy:
                for i in range(warm):
                    ask(healthy, i)
                base, _ = sequence(healthy, count, functools.partial(ask, healthy), lambda: None)
            with OllamaProvider(hosts=urls, **settings) as provider:
                for i in range(warm):
                    ask(provider, i)
                hurt = functools.partial(hosts.hurt, kind)
                latencies, failed = sequence(provider, count, functools.partial(ask, provider), hurt)
            hosts.heal()
            shown = ", ".join(f"{k}={v!r}" for k, v in settings.items()) or "defaults"
            cost = Cost(kind, shown, latencies, statistics.median(base), failed)
            costs.append(cost)
            median = statistics.median(latencies) * 1000
            print(
                f"{kind:10s} {shown:28s} slowest {max(latencies):7.2f}s  lost {cost.lost:7.2f}s  "
                f"median {median:6.0f} ms (healthy {cost.baseline * 1000:.0f} ms)  failed {failed}",
                file=sys.stderr,
            )
    finally:
        hosts.stop()
    return costs


def markdown(costs: list[Cost], count: int, live: bool) -> str:
    where = "three real `ollama serve` (0.33.0-rc2, smollm2:135m)" if live else "three fake servers"
    lines = [
        f"{count - 3} sequential requests after the failure strikes one of {where}:",
        "",
        "| failure | settings | slowest request (s) | time lost in all (s) | median (ms) "
        "| healthy median (ms) | failed |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in costs:
        lines.append(
            f"| {c.kind} | {c.settings} | {max(c.latencies):.2f} | {c.lost:.2f} | "
            f"{statistics.median(c.latencies) * 1000:.0f} | {c.baseline * 1000:.0f} | {c.failed} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=12)
    parser.add_argument("--live", action="store_true")
    args = parser.parse_args(argv)
    print(markdown(run(args.requests, args.live), args.requests, args.live))


if __name__ == "__main__":
    main()
