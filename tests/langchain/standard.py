"""What our LangChain classes declare to the langchain-tests standard suites, unit and integration alike."""

from __future__ import annotations

from typing import Any

from langchain_ollama_provider import ChatOllama, OllamaEmbeddings


class OurChatModel:
    """ChatOllama's class and capabilities, mixed into both chat suites."""

    @property
    def chat_model_class(self) -> type[ChatOllama]:
        return ChatOllama

    @property
    def has_tool_choice(self) -> bool:
        return True

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def model_override_value(self) -> str:
        return "smollm2-tools:135m"


class OurEmbeddings:
    """OllamaEmbeddings' class and model, mixed into both embeddings suites."""

    @property
    def embeddings_class(self) -> type[OllamaEmbeddings]:
        return OllamaEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model": "all-minilm:latest"}
