"""langchain-tests standard unit suites for ChatOllama and OllamaEmbeddings (no server needed)."""

from __future__ import annotations

from typing import Any

from langchain_tests.unit_tests import ChatModelUnitTests, EmbeddingsUnitTests

from .standard import OurChatModel, OurEmbeddings

ENV_HOST = "http://gpu-box:8080"


class TestChatOllamaUnit(OurChatModel, ChatModelUnitTests):
    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": "smollm2:135m"}

    @property
    def supports_image_inputs(self) -> bool:
        return True

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return {"OLLAMA_HOST": ENV_HOST}, {"model": "smollm2:135m"}, {"host": ENV_HOST}


class TestOllamaEmbeddingsUnit(OurEmbeddings, EmbeddingsUnitTests):
    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return {"OLLAMA_HOST": ENV_HOST}, {"model": "all-minilm:latest"}, {"host": ENV_HOST}
