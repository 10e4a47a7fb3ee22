"""ollama-provider: a resilient, typed, fast sync + async client for Ollama.

>>> import ollama_provider
>>> with ollama_provider.OllamaProvider(model="llama3.2") as provider:  # no I/O until a call
...     provider.config.retries
3
"""

from __future__ import annotations

__version__ = "0.1.0"

from . import _moved
from .config import OllamaConfig, resolve_host
from .errors import (
    ContextLengthError,
    IncompleteStreamError,
    InvalidRequestError,
    InvalidResponseError,
    ModelNotFoundError,
    OllamaConnectionError,
    OllamaError,
    OllamaResponseError,
    OllamaTimeoutError,
    ServerBusyError,
    StreamError,
    UnsupportedCapabilityError,
)
from .interface import AsyncProvider, Provider
from .models import RECOMMENDED_MODELS, RecommendedModel
from .provider import AsyncOllamaProvider, OllamaProvider
from .streams import AsyncStream, Stream
from .types import (
    ChatResponse,
    EmbedResponse,
    GenerateResponse,
    HealthStatus,
    Message,
    ModelDetails,
    ModelInfo,
    Options,
    ProgressResponse,
    PullProgress,
    RunningModel,
    ShowResponse,
    Timings,
    TokenLogprob,
    ToolCall,
    ToolCallFunction,
    Usage,
)

__all__ = [
    "RECOMMENDED_MODELS",
    "AsyncOllamaProvider",
    "AsyncProvider",
    "AsyncStream",
    "ChatResponse",
    "ContextLengthError",
    "EmbedResponse",
    "GenerateResponse",
    "HealthStatus",
    "IncompleteStreamError",
    "InvalidRequestError",
    "InvalidResponseError",
    "Message",
    "ModelDetails",
    "ModelInfo",
    "ModelNotFoundError",
    "OllamaConfig",
    "OllamaConnectionError",
    "OllamaError",
    "OllamaProvider",
    "OllamaResponseError",
    "OllamaTimeoutError",
    "Options",
    "ProgressResponse",
    "Provider",
    "PullProgress",
    "RecommendedModel",
    "RunningModel",
    "ServerBusyError",
    "ShowResponse",
    "Stream",
    "StreamError",
    "Timings",
    "TokenLogprob",
    "ToolCall",
    "ToolCallFunction",
    "UnsupportedCapabilityError",
    "Usage",
    "__version__",
    "resolve_host",
]

_moved.install()
