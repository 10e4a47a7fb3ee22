"""The scenarios, run for one client inside its worker process (see ``bench.worker``)."""

from __future__ import annotations

import asyncio
import gc
import importlib
import json
import time
import traceback
import urllib.request
from collections.abc import Callable
from typing import Any

from bench import measure, payloads
from bench.clients import BY_NAME
from bench.clients.base import BenchClient
from bench.config import Sizes

SMALL_ANSWER_CHUNKS = 8


def _server_stats(base_url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{base_url}/_bench/stats", timeout=10) as response:
        stats: dict[str, Any] = json.load(response)
    return stats


def _server_counters(base_url: str) -> tuple[int, int]:
    """(connections, requests) the fake server has seen, its stats queries excluded."""
    stats = _server_stats(base_url)
    return int(stats["connections"]), int(stats["requests"])


def _prepare(client: BenchClient, model: str) -> None:
    # Framework clients fix the model at construction: build that object before the clock starts.
    prepare = getattr(client, "prepare", None)
    if prepare is not None:
        prepare(model)


def _result(timing: measure.Timing, units: int, ok: bool, **extra: Any) -> dict[str, Any]:
    return {
        "cpu_s": timing.cpu_s,
        "wall_s": timing.wall_s,
        "server_cpu_s": timing.server_cpu_s,
        "units": units,
        "ok": ok,
        **extra,
    }


class ScenarioRunner:
    def __init__(self, client: BenchClient, sizes: Sizes, base_url: str) -> None:
        self.client = client
        self.sizes = sizes
        self.base_url = base_url

    def server_cpu(self) -> float:
        return float(_server_stats(self.base_url)["cpu_s"])

    def construct(self) -> dict[str, Any]:
        self.client.construct_once()  # first build may trigger lazy imports; not what we want to time
        built = []
        # Bounded by count and by time: building an httpx.Client loads the CA bundle (tens of ms).
        deadline = time.perf_counter() + self.sizes.construct_budget_s
        with measure.timed() as timing:
            while len(built) < self.sizes.constructions and (
                len(built) < 3 or time.perf_counter() < deadline
            ):
                built.append(self.client.construct_once())
        count = len(built)
        del built  # destruction is left out of the timed region on purpose
        return _result(timing, count, True)

    def sync_stream(self) -> dict[str, Any]:
        n = self.sizes.sync_chunks
        self.client.stream_sync(payloads.chat_model(self.sizes.warm_chunks))
        model = payloads.chat_model(n)
        _prepare(self.client, model)
        with measure.timed(self.server_cpu) as timing:
            text = self.client.stream_sync(model)
        return _result(timing, n, text == payloads.expected_text(n))

    def async_streams(self) -> dict[str, Any]:
        n_streams, n = self.sizes.async_streams, self.sizes.async_chunks_per_stream
        model = payloads.chat_model(n)

        async def run() -> tuple[measure.Timing, list[str]]:
            warm = payloads.chat_model(self.sizes.warm_chunks)
            await asyncio.gather(*(self.client.stream_async(warm) for _ in range(n_streams)))
            _prepare(self.client, model)
            with measure.timed(self.server_cpu) as timing:
                texts = await asyncio.gather(*(self.client.stream_async(model) for _ in range(n_streams)))
            await self.client.aclose()
            return timing, texts

        timing, texts = asyncio.run(run())
        expected = payloads.expected_text(n)
        return _result(timing, n_streams * n, all(text == expected for text in texts))

    def small_requests(self) -> dict[str, Any]:
        model = payloads.chat_model(SMALL_ANSWER_CHUNKS)
        for _ in range(3):
            self.client.small_request(model)
        connections_before, requests_before = _server_counters(self.base_url)
        count = self.sizes.small_requests
        answers_ok = True
        expected = payloads.expected_text(SMALL_ANSWER_CHUNKS)
        with measure.timed(self.server_cpu) as timing:
            for _ in range(count):
                answers_ok &= self.client.small_request(model) == expected
        connections_after, requests_after = _server_counters(self.base_url)
        return _result(
            timing,
            count,
            answers_ok,
            connections_opened=connections_after - connections_before,
            http_requests=requests_after - requests_before,
        )

    def _embed(self, count: int) -> dict[str, Any]:
        model = payloads.embed_model(self.sizes.embed_dim)
        self.client.embed(payloads.sample_texts(4), model)
        texts = payloads.sample_texts(count)
        _, requests_before = _server_counters(self.base_url)
        with measure.timed(self.server_cpu) as timing:
            vectors = self.client.embed(texts, model)
        _, requests_after = _server_counters(self.base_url)
        return _result(timing, count, vectors == count, http_requests=requests_after - requests_before)

    def embed_small(self) -> dict[str, Any]:
        return self._embed(self.sizes.embed_small)

    def embed_large(self) -> dict[str, Any]:
        return self._embed(self.sizes.embed_large)

    def memory(self) -> dict[str, Any]:
        n = self.sizes.memory_chunks
        self.client.stream_sync(payloads.chat_model(self.sizes.warm_chunks))
        model = payloads.chat_model(n)
        _prepare(self.client, model)
        gc.collect()
        hwm_reset = measure.reset_peak_rss()
        baseline = measure.current_rss_bytes()
        with measure.timed(self.server_cpu) as timing:
            text = self.client.stream_sync(model)
        growth = measure.peak_rss_bytes() - baseline
        return _result(
            timing, n, text == payloads.expected_text(n), peak_rss_growth_bytes=growth, hwm_reset=hwm_reset
        )

    def run(self, name: str) -> dict[str, Any]:
        method: Callable[[], dict[str, Any]] = getattr(self, name)
        try:
            return method()
        except Exception as exc:  # one failing scenario must not hide the others' figures
            return {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc(limit=6)}


def load_client(name: str, base_url: str) -> BenchClient:
    module_name, _, class_name = BY_NAME[name].factory.partition(":")
    factory = getattr(importlib.import_module(module_name), class_name)
    client: BenchClient = factory(base_url)
    return client


def run_worker(name: str, sizes: Sizes, base_url: str, wanted: list[str]) -> dict[str, Any]:
    report: dict[str, Any] = {"client": name, "status": "ok", "scenarios": {}}
    try:
        client = load_client(name, base_url)
    except ImportError as exc:
        return {**report, "status": "unavailable", "error": f"{type(exc).__name__}: {exc}"}
    except Exception as exc:
        return {**report, "status": "error", "error": f"{type(exc).__name__}: {exc}"}
    runner = ScenarioRunner(client, sizes, base_url)
    for scenario in wanted:
        report["scenarios"][scenario] = runner.run(scenario)
    client.close()
    return report
