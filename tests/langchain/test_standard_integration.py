"""langchain-tests standard integration suites, replayed from our adapter's own recordings.

The class names match the cassettes in cassettes/recorded/langchain-standard-ours (see conftest.py
for what replays, what is recorded and why). With an Ollama at OLLAMA_HOST the whole suite runs live.
"""

from __future__ import annotations

from typing import Any

from langchain_ollama_provider import ChatOllama, OllamaEmbeddings
from langchain_tests.integration_tests import ChatModelIntegrationTests, EmbeddingsIntegrationTests


class TestChatOllamaIntegration(ChatModelIntegrationTests):
    @property
    def chat_model_class(self) -> type[ChatOllama]:
        return ChatOllama

    @property
    def chat_model_params(self) -> dict[str, Any]:
        # As the recordings were made (see langchain-standard-ours/README.md; replay ignores options).
        return {"model": "smollm2:135m", "seed": 42, "num_predict": 100, "temperature": 0}

    @property
    def has_tool_choice(self) -> bool:
        return True

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def model_override_value(self) -> str:
        return "smollm2-tools:135m"


class TestOllamaEmbeddingsIntegration(EmbeddingsIntegrationTests):
    @property
    def embeddings_class(self) -> type[OllamaEmbeddings]:
        return OllamaEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model": "all-minilm:latest"}
