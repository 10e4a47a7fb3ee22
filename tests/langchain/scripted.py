"""ChatOllama / OllamaLLM answering from :class:`ollama_provider.testing.ScriptedProvider` (no server).

The adapter builds its core providers lazily; these helpers put the scripted ones in their place,
so every request goes through the adapter's real translation and the core's real validation.
"""

from __future__ import annotations

from typing import Any

from langchain_ollama_provider import ChatOllama

from ollama_provider import Message
from ollama_provider.testing import ScriptedProvider


def scripted_chat(
    replies: list[str | Message], *, model: str = "scripted:latest", **settings: Any
) -> tuple[ChatOllama, ScriptedProvider]:
    """A ChatOllama whose sync and async calls answer ``replies`` in order (one shared script)."""
    fake = ScriptedProvider(replies, models=[model])
    llm = ChatOllama(model=model, **settings)
    use_scripted(llm, fake)
    return llm, fake


def use_scripted(llm: Any, fake: ScriptedProvider) -> None:
    llm._sync_provider = fake
    llm._async_provider = fake.asynchronous()
