"""The cluster benchmark: K Ollama servers, 64 concurrent clients, side by side in one run.

``uv run python -m bench.cluster [--quick] [--hosts 4] [--clients 64] [--service-ms 50]``

Each fake server (``ollama_provider.fake_server``, its own process) serves one request at a time
with a fixed service time and queues the rest, as Ollama does with ``OLLAMA_NUM_PARALLEL=1``. Every
setup gets the same closed loop: ``clients`` threads, each sending its requests one after another
(non-streamed chats, every answer checked against its question). Setups:

* ``one host`` — our provider on one server: the yardstick of one host's throughput;
* ``ours: pool`` — ``OllamaProvider(hosts=[...])`` over the K servers;
* ``ours: pool, max_in_flight_per_host=1`` — the same, queueing client-side instead of on the servers;
* ``naive round-robin`` — K single-host providers taken in turn (what users hand-roll);
* ``nginx round-robin`` / ``nginx least_conn`` — a real nginx in front of the K servers, from
  ``deploy/nginx/ollama.conf`` with only the balancing method and the upstream servers changed
  (skipped with a note where there is no nginx binary).

Prints throughput (requests/s, and as a ratio to K x one host), p50 and p99 latency, and writes
``bench/results/cluster.md``.
"""

from __future__ import annotations

import argparse
import itertools
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ollama_provider import OllamaProvider
from ollama_provider.fake_server import FakeHost

REPO_ROOT = Path(__file__).resolve().parent.parent
NGINX_CONF = REPO_ROOT / "deploy" / "nginx" / "ollama.conf"
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


# -- nginx ------------------------------------------------------------------------------------------------
def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def balanced_conf(upstreams: list[str], method: str) -> str:
    """The shipped config with ``method`` (``""`` = round-robin, ``"least_conn;"``) instead of the
    hash on the model, and our servers in its upstream block."""
    text = NGINX_CONF.read_text()
    text = re.sub(r"^\s*hash\s+\$http_x_ollama_model[^;]*;", f"    {method}", text, flags=re.M)
    servers = "".join(f"    server {url.removeprefix('http://')} max_fails=0;\n" for url in upstreams)
    first = True

    def replace_servers(match: re.Match[str]) -> str:
        nonlocal first
        keep, first = first, False
        return servers if keep else ""

    return re.sub(r"^\s*server\s+[^;]+;\n", replace_servers, text, flags=re.M)


@contextmanager
def nginx(upstreams: list[str], method: str) -> Iterator[str]:
    binary = nginx_binary()
    assert binary is not None
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-nginx-") as tmp:
        site = Path(tmp) / "ollama.conf"
        site.write_text(balanced_conf(upstreams, method))
        listen = re.compile(r"^\s*listen\s+[^;]+;", re.M)
        site.write_text(listen.sub(f"        listen 127.0.0.1:{port};", site.read_text()))
        main = Path(tmp) / "nginx.conf"
        kinds = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        temp_paths = "".join(f"  {kind}_temp_path {tmp}/{kind};\n" for kind in kinds)
        main.write_text(
            f"worker_processes 1;\npid {tmp}/nginx.pid;\nerror_log {tmp}/error.log warn;\n"
            f"events {{ worker_connections 1024; }}\n"
            f"http {{\n  access_log off;\n{temp_paths}  include {site};\n}}\n"
        )
        process = subprocess.Popen([binary, "-p", tmp, "-c", str(main), "-g", "daemon off;"])
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or process.poll() is not None:
                        raise RuntimeError(
                            f"nginx did not start: {Path(tmp, 'error.log').read_text()}"
                        ) from None
                    time.sleep(0.05)
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(10)


# -- the run -----------------------------------------------------------------------------------------------
def run(hosts: int, clients: int, per_client: int, service_ms: float) -> tuple[list[Outcome], list[str]]:
    notes: list[str] = []
    outcomes: list[Outcome] = []
    settings = {"max_connections": clients, "max_keepalive_connections": clients, "timeout": 120.0}
    servers = [
        FakeHost.start(name=f"box-{i}", models=[MODEL], parallel=1, service_time=service_ms / 1000, chunks=1)
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
        if nginx_binary() is None:
            notes.append("nginx rows skipped: no nginx binary here (`apt-get install nginx`).")
        elif not NGINX_CONF.exists():
            notes.append(f"nginx rows skipped: {NGINX_CONF.relative_to(REPO_ROOT)} is missing.")
        else:
            for label, method in (("nginx round-robin", ""), ("nginx least_conn", "least_conn;")):
                with nginx(urls, method) as url, OllamaProvider(url, **settings) as behind:
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
        "--per-client", type=int, default=None, help="requests per client (default: 5, quick: 2)"
    )
    parser.add_argument("--service-ms", type=float, default=50.0)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    per_client = args.per_client or (2 if args.quick else 5)
    outcomes, notes = run(args.hosts, args.clients, per_client, args.service_ms)
    text = markdown(outcomes, notes, hosts=args.hosts, clients=args.clients, service_ms=args.service_ms)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
