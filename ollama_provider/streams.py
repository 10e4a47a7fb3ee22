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
    """A synchronous stream of typed chunks; the HTTP response is opened on the first ``next()``."""

    __slots__ = ("_chunks",)

    def __init__(self, chunks: Iterator[T]) -> None:
        self._chunks = chunks

    def __iter__(self) -> Iterator[T]:
        return self._chunks

    def __next__(self) -> T:
        return next(self._chunks)

    def close(self) -> None:
        """Release the connection (idempotent)."""
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> Stream[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncStream(Generic[T]):
    """An asynchronous stream of typed chunks.

    ``async for chunk in await provider.chat(..., stream=True)``
    """

    __slots__ = ("_chunks",)

    def __init__(self, chunks: AsyncIterator[T]) -> None:
        self._chunks = chunks

    def __aiter__(self) -> AsyncIterator[T]:
        return self._chunks

    async def __anext__(self) -> T:
        return await self._chunks.__anext__()

    async def aclose(self) -> None:
        """Release the connection (idempotent)."""
        aclose = getattr(self._chunks, "aclose", None)
        if aclose is not None:
            await aclose()

    async def __aenter__(self) -> AsyncStream[T]:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
