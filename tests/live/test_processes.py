"""Processes against three real servers: forked children asking at once at a barrier, a spawn pool.

The parent uses its provider first (it then holds pooled connections, and an async provider's client is
bound to the parent's open event loop) and hands it to its children. A child that used its parent's
socket would interleave its request with its siblings' and get another's answer: every vector is checked
against what one server alone gave for its text, every chat answer against one server's answer.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest

from ollama_provider import AsyncOllamaProvider, OllamaProvider

from .conftest import CHAT_MODEL, OPTIONS
from .servers import OllamaServers
from .work import CORPUS, child_chats_async, child_embeds, embed, embed_share, mismatches

pytestmark = pytest.mark.live_servers

CHILDREN = 4
QUESTION = "Name a colour."


def gather(context: Any, target: Any, args: Any) -> list[tuple[int, int, Any]]:
    """Start CHILDREN children of ``target(*args, index, ..., barrier, results)``: every one waits at the
    barrier, so they all send at once; their results, in the order of their index."""
    barrier, results = context.Barrier(CHILDREN), context.Queue()
    children = [context.Process(target=target, args=args(i, barrier, results)) for i in range(CHILDREN)]
    for child in children:
        child.start()
    collected = sorted(results.get(timeout=120) for _ in children)
    for child in children:
        child.join(30)
        assert child.exitcode == 0
    return collected


def test_forked_children_embed_at_once_across_the_servers(
    servers: OllamaServers, reference_vectors: dict[str, list[float]]
) -> None:
    with OllamaProvider(hosts=servers.urls) as provider:
        assert (
            mismatches(CORPUS[:5], embed(provider, CORPUS[:5]), reference_vectors) == []
        )  # connections held
        marks = servers.marks()
        shares = gather(
            multiprocessing.get_context("fork"),
            child_embeds,
            lambda i, barrier, results: (provider, i, CHILDREN, barrier, results),
        )
        assert (
            mismatches(CORPUS[5:10], embed(provider, CORPUS[5:10]), reference_vectors) == []
        )  # the parent's own
    assert os.getpid() not in {pid for _, pid, _ in shares} and len({pid for _, pid, _ in shares}) == CHILDREN
    for index, _, vectors in shares:
        assert mismatches(CORPUS[index::CHILDREN], vectors, reference_vectors) == [], f"child {index}"
    per_server = servers.requests("POST", "/api/embed", since=marks)
    assert all(per_server), f"every server embedded: {per_server}"


def test_forked_children_of_an_async_provider_chat_at_once(servers: OllamaServers) -> None:
    with OllamaProvider(servers[0].url) as alone:
        reference = alone.chat(QUESTION, model=CHAT_MODEL, options=OPTIONS).message.content
    provider = AsyncOllamaProvider(hosts=servers.urls)
    loop = asyncio.new_event_loop()  # left open while the children fork: its client holds connections
    try:
        first = loop.run_until_complete(provider.chat(QUESTION, model=CHAT_MODEL, options=OPTIONS))
        assert first.message.content == reference
        answers = gather(
            multiprocessing.get_context("fork"),
            child_chats_async,
            lambda i, barrier, results: (provider, i, barrier, results, (QUESTION, CHAT_MODEL, OPTIONS)),
        )
        again = loop.run_until_complete(provider.chat(QUESTION, model=CHAT_MODEL, options=OPTIONS))
        assert again.message.content == reference
        loop.run_until_complete(provider.close())
    finally:
        loop.close()
    assert [texts for _, _, texts in answers] == [[reference] * 3] * CHILDREN


def test_a_spawn_pool_embeds_with_a_used_provider(
    servers: OllamaServers, reference_vectors: dict[str, list[float]]
) -> None:
    shares = [CORPUS[i::6] for i in range(6)]
    with OllamaProvider(hosts=servers.urls) as provider:
        embed(provider, CORPUS[:3])  # used: it pickles as its configuration all the same
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
            results = list(pool.map(embed_share, [provider] * len(shares), shares))
    assert len({pid for pid, _ in results}) == 2 and os.getpid() not in {pid for pid, _ in results}
    for texts, (_, vectors) in zip(shares, results, strict=True):
        assert mismatches(texts, vectors, reference_vectors) == []
