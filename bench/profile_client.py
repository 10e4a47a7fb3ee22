"""Profile one client's hot path: ``python -m bench.profile_client langchain-ollama``.

Starts the fake server, warms the client up, then runs one long stream (or, with ``--small-requests
N``, N small non-streamed chats) under cProfile and prints the functions with the most own time. For
finding where a client spends its per-chunk or per-request time, not for figures (the profiler itself
slows every call).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats

from bench import payloads
from bench.clients import BY_NAME
from bench.scenario_runner import SMALL_ANSWER_CHUNKS, load_client
from bench.server_process import FakeServerProcess


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("client", choices=sorted(BY_NAME))
    parser.add_argument("--chunks", type=int, default=20_000)
    parser.add_argument(
        "--use-async", action="store_true", help="profile 32 concurrent async streams instead"
    )
    parser.add_argument(
        "--small-requests", type=int, metavar="N", help="profile N small requests instead of a stream"
    )
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--sort", default="tottime", choices=["tottime", "cumulative"])
    args = parser.parse_args(argv)
    with FakeServerProcess(warm_chunks=[args.chunks]) as server:
        client = load_client(args.client, server.base_url)
        model = payloads.chat_model(args.chunks)
        client.stream_sync(payloads.chat_model(64))
        getattr(client, "prepare", lambda _model: None)(model)
        profiler = cProfile.Profile()
        if args.small_requests:
            small = payloads.chat_model(SMALL_ANSWER_CHUNKS)
            for _ in range(20):  # lazy imports, the connection, the model's facts
                client.small_request(small)

            def requests() -> None:
                for _ in range(args.small_requests):
                    client.small_request(small)

            profiler.runcall(requests)
        elif args.use_async:

            async def streams() -> None:
                await asyncio.gather(*(client.stream_async(model) for _ in range(32)))

            profiler.runcall(asyncio.run, streams())
        else:
            profiler.runcall(client.stream_sync, model)
    pstats.Stats(profiler).strip_dirs().sort_stats(args.sort).print_stats(args.top)


if __name__ == "__main__":
    main()
