"""Stream objects returned by ``stream=True``: iterate them, and leave early without leaking.

Breaking out of a ``for`` loop over a temporary stream closes it at once; keep a reference and
use ``with`` (or ``close()``) to release the connection deterministically.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from types import TracebackType
from typing import Generic, TypeVar

T = TypeVar("T")


class Stream(Generic[T]):
    """A synchronous stream of typed chunks; the HTTP response is opened on the first ``next()``.

    Iterate it with ``for``. Leaving early inside ``with`` (or calling :meth:`close`) releases the
    connection at once.

    >>> from itertools import islice
    >>> from ollama_provider import OllamaProvider
    >>> from ollama_provider.testing import ReplayServer
    >>> server = ReplayServer("cassettes/recorded/api").start(); provider = OllamaProvider(server.url)
    >>> stream = provider.generate("Name three colours of the rainbow.", model="smollm2:135m", stream=True)
    >>> with stream:  # only the first seven chunks are wanted
    ...     words = [chunk.response for chunk in islice(stream, 7)]
    >>> print("".join(words))
    1. Red
    2. Orange
    >>> next(stream, "closed")
    'closed'
    >>> provider.close(); server.stop()
    """

    __slots__ = ("_chunks",)

    def __init__(self, chunks: Iterator[T]) -> None:
        self._chunks = chunks

    def __iter__(self) -> Iterator[T]:
        return self._chunks

    def __next__(self) -> T:
        return next(self._chunks)

    def close(self) -> None:
        """Release the connection (idempotent).

        >>> numbers = Stream(number for number in range(3))
        >>> next(numbers)
        0
        >>> numbers.close(); numbers.close()
        >>> list(numbers)
        []
        """
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> Stream[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncStream(Generic[T]):
    """An asynchronous stream of typed chunks.

    ``async for chunk in await provider.chat(..., stream=True)``; leaving early inside ``async with``
    (or awaiting :meth:`aclose`) releases the connection at once.

    >>> import asyncio
    >>> from ollama_provider import AsyncOllamaProvider
    >>> from ollama_provider.testing import ReplayServer
    >>> server = ReplayServer("cassettes/recorded/api").start()
    >>> async def first_chunks(prompt, count):
    ...     async with AsyncOllamaProvider(server.url, model="smollm2:135m") as provider:
    ...         stream = await provider.generate(prompt, stream=True)
    ...         async with stream:
    ...             return [(await anext(stream)).response for _ in range(count)]
    >>> print("".join(asyncio.run(first_chunks("Name three colours of the rainbow.", 7))))
    1. Red
    2. Orange
    >>> server.stop()
    """

    __slots__ = ("_chunks",)

    def __init__(self, chunks: AsyncIterator[T]) -> None:
        self._chunks = chunks

    def __aiter__(self) -> AsyncIterator[T]:
        return self._chunks

    async def __anext__(self) -> T:
        return await self._chunks.__anext__()

    async def aclose(self) -> None:
        """Release the connection (idempotent).

        >>> import asyncio
        >>> async def numbers():
        ...     for number in range(3):
        ...         yield number
        >>> async def take_one_then_close():
        ...     stream = AsyncStream(numbers())
        ...     first = await anext(stream)
        ...     await stream.aclose()
        ...     await stream.aclose()
        ...     return first, [number async for number in stream]
        >>> asyncio.run(take_one_then_close())
        (0, [])
        """
        aclose = getattr(self._chunks, "aclose", None)
        if aclose is not None:
            await aclose()

    async def __aenter__(self) -> AsyncStream[T]:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
