"""The replay server the demo and the notebooks start: the recordings, plus one equivalence Ollama has.

Ollama's ``/api/embed`` answers ``"input": "text"`` and ``"input": ["text"]`` alike (one vector in
``embeddings``). The official LlamaIndex integration sent its RAG query as a bare string (recorded in
``frameworks/li_rag.yaml``) while this project's core always sends a list, and the shared matcher
(:func:`ollama_provider.cassettes.semantic_body`) tells the two apart. Until it does not, this catalog
retries an unmatched one-element ``input`` list as the bare string, so the LlamaIndex RAG flow replays.

>>> import httpx
>>> with TolerantReplayServer("cassettes/recorded") as server:
...     answer = httpx.post(server.url + "/api/embed",
...                         json={"model": "all-minilm", "input": ["When was the Eiffel Tower finished?"]})
>>> answer.status_code, len(answer.json()["embeddings"][0])
(200, 384)
"""

from __future__ import annotations

import orjson

from .cassettes import decode_json_object
from .replay import ReplayServer
from .replay_catalog import ReplayAnswer, ReplayCatalog

__all__ = ["EmbedInputTolerantCatalog", "TolerantReplayServer"]


class EmbedInputTolerantCatalog(ReplayCatalog):
    """A :class:`ReplayCatalog` that also matches ``/api/embed`` ``["text"]`` with a recorded ``"text"``.

    >>> catalog = EmbedInputTolerantCatalog.from_directory("cassettes/recorded")
    >>> body = b'{"model": "all-minilm", "input": ["When was the Eiffel Tower finished?"]}'
    >>> catalog.answer("POST", "/api/embed", body).status
    200
    """

    def answer(self, method: str, path: str, body: bytes | str | None) -> ReplayAnswer:
        """The recorded answer; for a single listed embed input, the bare-string recording if needed."""
        answer = super().answer(method, path, body)
        if answer.status != 404 or path != "/api/embed":
            return answer
        decoded = decode_json_object(body)
        texts = decoded.get("input") if decoded is not None else None
        if decoded is None or not isinstance(texts, list) or len(texts) != 1 or not isinstance(texts[0], str):
            return answer
        retried = super().answer(method, path, orjson.dumps({**decoded, "input": texts[0]}))
        return retried if retried.status != 404 else answer


class TolerantReplayServer(ReplayServer):
    """A :class:`ReplayServer` whose catalog is an :class:`EmbedInputTolerantCatalog`.

    >>> with TolerantReplayServer("cassettes/recorded") as server:
    ...     isinstance(server.catalog, EmbedInputTolerantCatalog)
    True
    """

    @property
    def catalog(self) -> ReplayCatalog:
        """The indexed recordings (loaded on first use)."""
        if self._catalog is None:
            self._catalog = EmbedInputTolerantCatalog.from_directory(self.cassette_dir)
        return self._catalog
