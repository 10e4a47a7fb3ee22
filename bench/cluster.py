"""The cluster benchmark: K Ollama servers, 64 concurrent clients, side by side in one run.

``uv run python -m bench.cluster [--quick] [--hosts 4] [--clients 64] [--service-ms 50] [--scenarios ...]``

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
  ``tests/deploy/nginx_server.py``; skipped with a note where there is no nginx binary;
* ``nginx least_conn, careful`` — the same, configured as a careful operator would for hosts that hang:
  a first-byte timeout (``proxy_read_timeout``) of :data:`FIRST_BYTE` seconds instead of the shipped
  hour, a short ``proxy_connect_timeout``, one failure taking a box out (``max_fails=1``), and the
  shipped ``proxy_next_upstream error timeout ...`` sending a timed-out request to the next box.

Scenarios (``--scenarios``): ``healthy`` (every host up, plus a pool of K-1 as the yardstick of the
frozen run), and ``frozen``: the same closed loop, one server stopped with SIGSTOP once half the
requests are answered (a hung process or a paused VM: the kernel accepts connections and requests,
nothing answers), until the end of the setup. Our pool and the clients behind nginx wait
:data:`FIRST_BYTE` seconds for a first byte (the pool: per host; behind nginx the client waits
:data:`BEHIND_NGINX_FIRST_BYTE`, so that nginx's own timeout is what acts).

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
from typing import Any

from ollama_provider import OllamaProvider
from ollama_provider.testing import FakeHost

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS = REPO_ROOT / "bench" / "results" / "cluster.md"
MODEL = "llama3.2"
#: Seconds a request waits for a first byte from one host: our pool's first_chunk_timeout, and the
#: careful nginx's proxy_read_timeout.
FIRST_BYTE = 5.0
#: What a client behind nginx waits (longer than nginx's own timeout, so that nginx fails over first;
#: with the shipped proxy_read_timeout of an hour, this is what ends a request stuck on a frozen box).
BEHIND_NGINX_FIRST_BYTE = 30.0

Ask = Callable[[str], str]


@dataclass(frozen=True)
class Outcome:
    setup: str
    requests: int
    seconds: float
    latencies: list[float]
    errors: int
    #: Frozen runs: requests the frozen server was sent while frozen (counted once it is thawed).
    asked_while_frozen: int | None = None
    #: Runs with a ``midway``: requests answered per second after it (the second half of the run).
    second_half: float | None = None

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def closed_loop(
    setup: str, ask: Ask, *, clients: int, per_client: int, midway: Callable[[], None] | None = None
) -> Outcome:
    """``clients`` threads, each asking ``per_client`` questions in a row; all start together.
    ``midway`` is called once, as soon as half of all the requests are answered."""
    start = threading.Barrier(clients + 1)
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    half = clients * per_client // 2
    halfway: list[float] = []

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
                now_half = len(latencies) == half
            if now_half and midway is not None:
                halfway.append(time.perf_counter())
                midway()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    ended = time.perf_counter()
    second_half = (clients * per_client - half) / (ended - halfway[0]) if halfway else None
    return Outcome(setup, clients * per_client, ended - began, latencies, errors[0], second_half=second_half)


def careful(shipped: str) -> str:
    """The shipped nginx file as a careful operator would tune it for hosts that hang."""
    replacements = [
        (r"proxy_read_timeout 1h;", f"proxy_read_timeout {FIRST_BYTE:g}s;"),
        (r"proxy_connect_timeout 3s;", "proxy_connect_timeout 1s;"),
        (r"max_fails=3 fail_timeout=10s", "max_fails=1 fail_timeout=10s"),
    ]
    for old, new in replacements:
        if old not in shipped:
            raise AssertionError(f"deploy/nginx/ollama.conf has no {old!r} any more: update bench.cluster")
        shipped = shipped.replace(old, new)
    return shipped


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
def nginx(upstreams: list[str], balance: str, *, tuned: bool = False) -> Iterator[str]:
    from tests.deploy.nginx_server import SHIPPED_CONF, NginxServer, find_nginx

    binary = find_nginx()
    assert binary is not None
    shipped = careful(SHIPPED_CONF.read_text()) if tuned else None
    with tempfile.TemporaryDirectory(prefix="bench-nginx-") as folder:
        server = NginxServer(binary, Path(folder), upstreams, balance=balance, shipped=shipped)
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
SCENARIOS = ("healthy", "frozen")


def run(
    hosts: int,
    clients: int,
    per_client: int,
    service_ms: float,
    *,
    shared_cpus: bool = False,
    scenarios: tuple[str, ...] = SCENARIOS,
    frozen_per_client: int | None = None,
) -> tuple[dict[str, list[Outcome]], list[str]]:
    notes: list[str] = []
    results: dict[str, list[Outcome]] = {}
    settings: dict[str, Any] = {
        "max_connections": clients,
        "max_keepalive_connections": clients,
        "timeout": 120.0,
    }
    pooled = {**settings, "first_chunk_timeout": FIRST_BYTE}
    behind = {**settings, "first_chunk_timeout": BEHIND_NGINX_FIRST_BYTE}
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
    from tests.deploy.nginx_server import find_nginx

    have_nginx = find_nginx() is not None
    if not have_nginx:
        notes.append("nginx rows skipped: no nginx binary here (`apt-get install nginx`).")

    def measure(scenario: str, setup: str, ask: Ask, *, freeze: FakeHost | None = None) -> None:
        each = per_client if freeze is None else frozen_per_client or per_client
        ask("warm up")
        for server in servers:
            server.reset()
        before_freeze: list[int] = []

        def midway() -> None:
            assert freeze is not None
            before_freeze.append(chats(freeze))
            freeze.freeze()

        halfway = None if freeze is None else midway
        outcome = closed_loop(setup, ask, clients=clients, per_client=each, midway=halfway)
        if freeze is not None:
            outcome = replace_asked(outcome, thawed_count(freeze) - before_freeze[0])
        results.setdefault(scenario, []).append(outcome)
        asked = outcome.asked_while_frozen
        print(
            f"{scenario:8s} {setup:44s} {outcome.throughput:7.1f} req/s"
            + ("" if outcome.second_half is None else f" ({outcome.second_half:.1f} frozen)")
            + f"  p50 {outcome.percentile(0.5) * 1000:6.0f} ms  p99 {outcome.percentile(0.99) * 1000:6.0f} ms"
            f"  max {max(outcome.latencies) * 1000:6.0f} ms  errors {outcome.errors}"
            + ("" if asked is None else f"  frozen box asked {asked}"),
            file=sys.stderr,
        )

    def behind_nginx(scenario: str, label: str, balance: str, tuned: bool, freeze: FakeHost | None) -> None:
        with nginx(urls, balance, tuned=tuned) as url, OllamaProvider(url, **behind) as proxied:
            measure(scenario, f"{label} over {hosts}", provider_ask(proxied), freeze=freeze)

    try:
        with on_cpus(client_cpus):  # threads and nginx started from here run there too
            if "healthy" in scenarios:
                with OllamaProvider(urls[0], **settings) as one:
                    measure("healthy", "one host", provider_ask(one))
                with OllamaProvider(hosts=urls[:-1], **pooled) as fewer:
                    measure("healthy", f"ours: pool of {hosts - 1}", provider_ask(fewer))
                with OllamaProvider(hosts=urls, **pooled) as pool:
                    measure("healthy", f"ours: pool of {hosts}", provider_ask(pool))
                with OllamaProvider(hosts=urls, max_in_flight_per_host=1, **pooled) as limited:
                    label = f"ours: pool of {hosts}, max_in_flight_per_host=1"
                    measure("healthy", label, provider_ask(limited))
                singles = [OllamaProvider(url, **settings) for url in urls]
                measure("healthy", f"naive round-robin over {hosts}", naive_round_robin(singles))
                for single in singles:
                    single.close()
                if have_nginx:
                    for label, balance, tuned in NGINX_SETUPS:
                        behind_nginx("healthy", label, balance, tuned, None)
            if "frozen" in scenarios:
                frozen = servers[-1]

                def settle() -> None:
                    """Thaw the frozen box and let it answer what it was sent meanwhile."""
                    frozen.thaw()
                    time.sleep(2.0)

                for label, options in POOL_SETUPS:
                    with OllamaProvider(hosts=urls, **options, **pooled) as pool:
                        measure("frozen", f"ours: pool of {hosts}{label}", provider_ask(pool), freeze=frozen)
                    settle()
                if have_nginx:
                    for label, balance, tuned in NGINX_SETUPS:
                        if not balance:
                            continue  # round-robin keeps sending a quarter of the requests there
                        behind_nginx("frozen", label, balance, tuned, frozen)
                        settle()
    finally:
        for server in servers:
            server.stop()
    return results, notes


#: (label, settings) of our pool's rows in the frozen scenario: as shipped, and as a careful operator
#: would set it (a probe of a LAN host answers in milliseconds; a client-side queue keeps requests off
#: a box that may hang).
POOL_SETUPS: list[tuple[str, dict[str, Any]]] = [
    ("", {}),
    (", probe_timeout=0.5", {"probe_timeout": 0.5}),
    (", max_in_flight_per_host=1", {"max_in_flight_per_host": 1}),
    (", max_in_flight_per_host=1, probe_timeout=0.5", {"max_in_flight_per_host": 1, "probe_timeout": 0.5}),
]
#: (label, balancing method, tuned as a careful operator would) of the nginx rows.
NGINX_SETUPS = [
    ("nginx round-robin", "", False),
    ("nginx least_conn", "least_conn;", False),
    ("nginx least_conn, careful", "least_conn;", True),
]


def chats(server: FakeHost) -> int:
    return int(server.stats()["requests"].get("/api/chat", 0))


def thawed_count(frozen: FakeHost) -> int:
    """The chats ``frozen`` was sent since its last reset: thawed, it answers (and counts) those it
    was sent while frozen."""
    frozen.thaw()
    count, deadline = -1, time.monotonic() + 30
    while time.monotonic() < deadline:
        now = chats(frozen)
        if now == count:
            break
        count = now
        time.sleep(0.5)
    frozen.freeze()  # frozen until the setup is over (settle thaws it)
    return count


def replace_asked(outcome: Outcome, asked: int) -> Outcome:
    from dataclasses import replace

    return replace(outcome, asked_while_frozen=asked)


def markdown(
    results: dict[str, list[Outcome]], notes: list[str], *, hosts: int, clients: int, service_ms: float
) -> str:
    healthy = results.get("healthy", [])
    one = next((o.throughput for o in healthy if o.setup == "one host"), None)
    counts = {o.requests for outcomes in results.values() for o in outcomes}
    total = " and ".join(str(count) for count in sorted(counts))
    lines = [
        "# Cluster benchmark",
        "",
        f"`python -m bench.cluster`: {hosts} fake Ollama servers, each serving one request at a time "
        f"in {service_ms:.0f} ms (queueing the rest, as `OLLAMA_NUM_PARALLEL=1`), {clients} concurrent "
        f"clients in a closed loop, {total} non-streamed chats per setup, every answer checked. "
        f"{time.strftime('%Y-%m-%d')}, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}.",
    ]
    if healthy:
        lines += [
            "",
            "## Every host healthy",
            "",
            f"| setup | requests/s | vs {hosts} x one host | p50 (ms) | p99 (ms) | wrong or failed |",
            "|---|---|---|---|---|---|",
        ]
        for o in healthy:
            ratio = f"{o.throughput / (hosts * one):.2f}x" if one else "–"
            lines.append(
                f"| {o.setup} | {o.throughput:.1f} | {ratio} | "
                f"{o.percentile(0.5) * 1000:.0f} | {o.percentile(0.99) * 1000:.0f} | {o.errors} |"
            )
    frozen = results.get("frozen", [])
    if frozen:
        fewer = next((o for o in healthy if o.setup == f"ours: pool of {hosts - 1}"), None)
        full = next((o for o in healthy if o.setup == f"ours: pool of {hosts}"), None)
        lines += [
            "",
            f"## One of {hosts} frozen (SIGSTOP) once half the requests are answered",
            "",
            f"{frozen[0].requests} chats per setup. First-byte timeout {FIRST_BYTE:g} s (our pool's "
            "`first_chunk_timeout`; the careful nginx's `proxy_read_timeout`). Throughput against a healthy "
            f"pool of {hosts - 1}; p99 against a healthy pool of {hosts}. The requests in the frozen box's "
            'queue when it froze are stuck there until their host is given up on; "sent to the frozen box" '
            "counts those sent to it after it froze.",
            "",
            f"| setup | requests/s | vs {hosts - 1} healthy | frozen half: requests/s "
            f"| vs {hosts - 1} healthy | p50 (ms) | p99 (ms) | p99 vs healthy | max (ms) | wrong or failed "
            "| sent to the frozen box |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for o in frozen:
            vs_fewer = f"{o.throughput / fewer.throughput:.2f}x" if fewer else "–"
            vs_full = f"{o.percentile(0.99) / full.percentile(0.99):.2f}x" if full else "–"
            half = o.second_half or 0.0
            half_vs = f"{half / fewer.throughput:.2f}x" if fewer else "–"
            lines.append(
                f"| {o.setup} | {o.throughput:.1f} | {vs_fewer} | {half:.1f} | {half_vs} | "
                f"{o.percentile(0.5) * 1000:.0f} | "
                f"{o.percentile(0.99) * 1000:.0f} | {vs_full} | {max(o.latencies) * 1000:.0f} | {o.errors} | "
                f"{o.asked_while_frozen} |"
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
    parser.add_argument("--scenarios", nargs="+", choices=SCENARIOS, default=list(SCENARIOS))
    parser.add_argument(
        "--frozen-per-client",
        type=int,
        default=None,
        help="requests per client in the frozen scenario (default: 24, quick: 4): its frozen half outlasts "
        "nginx's fail_timeout (10 s), after which nginx tries the frozen box again",
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    per_client = args.per_client or (2 if args.quick else 12)
    results, notes = run(
        args.hosts,
        args.clients,
        per_client,
        args.service_ms,
        shared_cpus=args.shared_cpus,
        scenarios=tuple(args.scenarios),
        frozen_per_client=args.frozen_per_client or (4 if args.quick else 24),
    )
    text = markdown(results, notes, hosts=args.hosts, clients=args.clients, service_ms=args.service_ms)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
