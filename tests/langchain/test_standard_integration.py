"""langchain-tests standard integration suites, replayed from our adapter's own recordings.

The class names match the cassettes in cassettes/recorded/langchain-standard-ours (see conftest.py
for what replays, what is recorded and why). With an Ollama at OLLAMA_HOST the whole suite runs live.
"""

from __future__ import annotations

from typing import Any

from langchain_tests.integration_tests import ChatModelIntegrationTests, EmbeddingsIntegrationTests

from .standard import OurChatModel, OurEmbeddings


class TestChatOllamaIntegration(OurChatModel, ChatModelIntegrationTests):
    @property
    def chat_model_params(self) -> dict[str, Any]:
        # As the recordings were made (see langchain-standard-ours/README.md; replay ignores options).
        return {"model": "smollm2:135m", "seed": 42, "num_predict": 100, "temperature": 0}


class TestOllamaEmbeddingsIntegration(OurEmbeddings, EmbeddingsIntegrationTests):
    """The embeddings suite as it comes: our class and model are all it needs."""
