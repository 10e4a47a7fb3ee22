"""langchain-tests standard unit suites for ChatOllama and OllamaEmbeddings (no server needed)."""

from __future__ import annotations

from typing import Any

from langchain_ollama_provider import ChatOllama, OllamaEmbeddings
from langchain_tests.unit_tests import ChatModelUnitTests, EmbeddingsUnitTests

ENV_HOST = "http://gpu-box:8080"


class TestChatOllamaUnit(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[ChatOllama]:
        return ChatOllama

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": "smollm2:135m"}

    @property
    def has_tool_choice(self) -> bool:
        return True

    @property
    def supports_image_inputs(self) -> bool:
        return True

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def model_override_value(self) -> str:
        return "smollm2-tools:135m"

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return {"OLLAMA_HOST": ENV_HOST}, {"model": "smollm2:135m"}, {"host": ENV_HOST}


class TestOllamaEmbeddingsUnit(EmbeddingsUnitTests):
    @property
    def embeddings_class(self) -> type[OllamaEmbeddings]:
        return OllamaEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model": "all-minilm:latest"}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return {"OLLAMA_HOST": ENV_HOST}, {"model": "all-minilm:latest"}, {"host": ENV_HOST}
