"""The cluster benchmark: K Ollama servers, 64 concurrent clients, side by side in one run.

``uv run python -m bench.cluster [--quick] [--hosts 4] [--clients 64] [--service-ms 50]``

Each fake server (``ollama_provider.testing._fake_server``, its own process) serves one request at a time
with a fixed service time and queues the rest, as Ollama does with ``OLLAMA_NUM_PARALLEL=1``. Every
setup gets the same closed loop: ``clients`` threads, each sending its requests one after another
(non-streamed chats, every answer checked against its question). Setups:

* ``one host`` — our provider on one server: the yardstick of one host's throughput;
* ``ours: pool`` — ``OllamaProvider(hosts=[...])`` over the K servers;
* ``ours: pool, max_in_flight_per_host=1`` — the same, queueing client-side instead of on the servers;
* ``naive round-robin`` — K single-host providers taken in turn (what users hand-roll);
* ``nginx round-robin`` / ``nginx least_conn`` — a real nginx in front of the K servers, from
  ``deploy/nginx/ollama.conf`` with only the balancing method and the upstream servers changed (its
  hash on the model would send one model's traffic to one server), run by the test suite's
  ``tests/deploy/nginx_server.py``; skipped with a note where there is no nginx binary.

Where the machine has two CPUs or more, the servers run on one half of them and the clients (with
nginx, which they start) on the other, as they would on separate machines: sharing every CPU, a
client woken by an answer competes with the server handing its slot to the next request, and the
setups that connect straight to the servers pay for it (1-2 % of throughput on 2 cores; nginx's
extra hop moves the client's wake-up away from the hand-off). ``--shared-cpus`` runs them mixed.

Prints throughput (requests/s, and as a ratio to K x one host), p50 and p99 latency, and writes
``bench/results/cluster.md``.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ollama_provider import OllamaProvider
from ollama_provider.testing import FakeHost

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS = REPO_ROOT / "bench" / "results" / "cluster.md"
MODEL = "llama3.2"

Ask = Callable[[str], str]


@dataclass(frozen=True)
class Outcome:
    setup: str
    requests: int
    seconds: float
    latencies: list[float]
    errors: int

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def closed_loop(setup: str, ask: Ask, *, clients: int, per_client: int) -> Outcome:
    """``clients`` threads, each asking ``per_client`` questions in a row; all start together."""
    start = threading.Barrier(clients + 1)
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def client(index: int) -> None:
        start.wait()
        for k in range(per_client):
            question = f"client {index} question {k}"
            began = time.perf_counter()
            try:
                answer = ask(question)
                ok = answer.endswith(f" says: {question}")
            except Exception:
                ok = False
            took = time.perf_counter() - began
            with lock:
                latencies.append(took)
                errors[0] += not ok

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return Outcome(setup, clients * per_client, time.perf_counter() - began, latencies, errors[0])


def provider_ask(provider: OllamaProvider) -> Ask:
    return lambda question: provider.chat(question, model=MODEL).message.content


def naive_round_robin(providers: list[OllamaProvider]) -> Ask:
    turns = itertools.cycle(providers)
    lock = threading.Lock()

    def ask(question: str) -> str:
        with lock:
            provider = next(turns)
        return provider.chat(question, model=MODEL).message.content

    return ask


# -- nginx: the test suite's runner of the shipped deploy/nginx/ollama.conf --------------------------------
@contextmanager
def nginx(upstreams: list[str], balance: str) -> Iterator[str]:
    from tests.deploy.nginx_server import NginxServer, find_nginx

    binary = find_nginx()
    assert binary is not None
    with tempfile.TemporaryDirectory(prefix="bench-nginx-") as folder:
        server = NginxServer(binary, Path(folder), upstreams, balance=balance)
        try:
            yield server.url
        finally:
            server.stop()


# -- where each side runs -----------------------------------------------------------------------------------
def split_cpus() -> tuple[set[int], set[int]] | None:
    """(the servers' CPUs, the clients' CPUs): halves of this process's, or None with fewer than two."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None
    half = len(cpus) // 2
    return set(cpus[:half]), set(cpus[half:])


@contextmanager
def on_cpus(cpus: set[int] | None) -> Iterator[None]:
    """Run this thread, and the processes and threads it starts meanwhile, on ``cpus``."""
    if cpus is None:
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


# -- the run -----------------------------------------------------------------------------------------------
def run(
    hosts: int, clients: int, per_client: int, service_ms: float, *, shared_cpus: bool = False
) -> tuple[list[Outcome], list[str]]:
    notes: list[str] = []
    outcomes: list[Outcome] = []
    settings = {"max_connections": clients, "max_keepalive_connections": clients, "timeout": 120.0}
    halves = None if shared_cpus else split_cpus()
    server_cpus, client_cpus = halves or (None, None)
    if halves:
        notes.append(
            f"Servers on CPUs {sorted(server_cpus or ())}, clients and nginx on {sorted(client_cpus or ())}."
        )
    else:
        notes.append("Servers, clients and nginx share every CPU.")
    with on_cpus(server_cpus):
        servers = [
            FakeHost.start(
                name=f"box-{i}", models=[MODEL], parallel=1, service_time=service_ms / 1000, chunks=1
            )
            for i in range(hosts)
        ]
    urls = [server.url for server in servers]

    def measure(setup: str, ask: Ask) -> None:
        ask("warm up")
        outcome = closed_loop(setup, ask, clients=clients, per_client=per_client)
        outcomes.append(outcome)
        print(
            f"{setup:40s} {outcome.throughput:7.1f} req/s  p50 {outcome.percentile(0.5) * 1000:6.0f} ms  "
            f"p99 {outcome.percentile(0.99) * 1000:6.0f} ms  errors {outcome.errors}",
            file=sys.stderr,
        )

    try:
        with on_cpus(client_cpus):  # threads and nginx started from here run there too
            with OllamaProvider(urls[0], **settings) as one:
                measure("one host", provider_ask(one))
            with OllamaProvider(hosts=urls, **settings) as pool:
                measure(f"ours: pool of {hosts}", provider_ask(pool))
            with OllamaProvider(hosts=urls, max_in_flight_per_host=1, **settings) as limited:
                measure(f"ours: pool of {hosts}, max_in_flight_per_host=1", provider_ask(limited))
            singles = [OllamaProvider(url, **settings) for url in urls]
            measure(f"naive round-robin over {hosts}", naive_round_robin(singles))
            for single in singles:
                single.close()
            from tests.deploy.nginx_server import find_nginx

            if find_nginx() is None:
                notes.append("nginx rows skipped: no nginx binary here (`apt-get install nginx`).")
            else:
                for label, balance in (("nginx round-robin", ""), ("nginx least_conn", "least_conn;")):
                    with nginx(urls, balance) as url, OllamaProvider(url, **settings) as behind:
                        measure(f"{label} over {hosts}", provider_ask(behind))
    finally:
        for server in servers:
            server.stop()
    return outcomes, notes


def markdown(
    outcomes: list[Outcome], notes: list[str], *, hosts: int, clients: int, service_ms: float
) -> str:
    one = outcomes[0].throughput
    lines = [
        "# Cluster benchmark",
        "",
        f"`python -m bench.cluster`: {hosts} fake Ollama servers, each serving one request at a time "
        f"in {service_ms:.0f} ms (queueing the rest, as `OLLAMA_NUM_PARALLEL=1`), {clients} concurrent "
        f"clients in a closed loop, {outcomes[0].requests} non-streamed chats per setup, every answer "
        "checked. "
        f"{time.strftime('%Y-%m-%d')}, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}.",
        "",
        f"| setup | requests/s | vs {hosts} x one host | p50 (ms) | p99 (ms) | wrong or failed |",
        "|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        lines.append(
            f"| {o.setup} | {o.throughput:.1f} | {o.throughput / (hosts * one):.2f}x | "
            f"{o.percentile(0.5) * 1000:.0f} | {o.percentile(0.99) * 1000:.0f} | {o.errors} |"
        )
    lines += ["", *notes] if notes else []
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=4)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument(
        "--per-client", type=int, default=None, help="requests per client (default: 12, quick: 2)"
    )
    parser.add_argument("--service-ms", type=float, default=50.0)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--shared-cpus", action="store_true", help="servers and clients on every CPU (default: apart)"
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    per_client = args.per_client or (2 if args.quick else 12)
    outcomes, notes = run(args.hosts, args.clients, per_client, args.service_ms, shared_cpus=args.shared_cpus)
    text = markdown(outcomes, notes, hosts=args.hosts, clients=args.clients, service_ms=args.service_ms)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
