"""Host resolution (OLLAMA_HOST rules), config validation, model-name grammar, model lookup."""

from __future__ import annotations

import base64

import httpx
import pytest

from ollama_provider import InvalidRequestError, OllamaConfig, OllamaProvider, resolve_host
from ollama_provider._names import canonical_name, validate_model_name
from ollama_provider.models import RECOMMENDED_MODELS, closest_models, find_model, recommended


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1.2.3.4", "http://1.2.3.4:11434"),
        ("example.com:1234", "http://example.com:1234"),
        ("http://1.2.3.4", "http://1.2.3.4:80"),
        ("https://x.org", "https://x.org:443"),
        ("::1", "http://[::1]:11434"),
        ("[::1]:9000", "http://[::1]:9000"),
        ("0.0.0.0", "http://127.0.0.1:11434"),
        ("[::]", "http://[::1]:11434"),
        (":1234", "http://127.0.0.1:1234"),
        ("  'localhost:11434'  ", "http://localhost:11434"),
        ("https://example.com/ollama/", "https://example.com:443/ollama"),
        ("ollama.com", "https://ollama.com:443"),
        ("example.com:99999", "http://example.com:11434"),
        ("me:pw@box:1", "http://box:1"),  # userinfo: sent as Basic auth, never part of the base URL
        ("me@::1", "http://[::1]:11434"),
    ],
)
def test_resolve_host_follows_the_cli(raw: str, expected: str) -> None:
    assert resolve_host(raw) == expected


@pytest.mark.parametrize("raw", ["[::1", "[gpu-box]:1", "http://me:pw@[::1/x"])
def test_a_malformed_host_is_a_typed_error_without_its_credentials(raw: str) -> None:
    with pytest.raises(InvalidRequestError, match="malformed Ollama host") as raised:
        resolve_host(raw)
    assert "pw" not in str(raised.value)


def test_host_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    assert OllamaProvider().host == "http://127.0.0.1:11434"
    monkeypatch.setenv("OLLAMA_HOST", "gpu-box:8080")
    assert OllamaProvider().host == "http://gpu-box:8080"
    assert OllamaProvider("other:1").host == "http://other:1"
    with pytest.raises(InvalidRequestError):
        resolve_host("ftp://x")


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_userinfo_in_a_host_is_sent_as_basic_auth(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, str | None]] = []

    def proxy(request: httpx.Request) -> httpx.Response:
        seen.append((str(request.url), request.headers.get("authorization")))
        return httpx.Response(200, json={"version": "0.33.0"})

    transport = {"client_kwargs": {"transport": httpx.MockTransport(proxy)}, "retries": 0}
    with OllamaProvider("https://me:p%40ss@proxy.example/ollama", **transport) as provider:  # type: ignore[arg-type]
        provider.version()
    monkeypatch.setenv("OLLAMA_HOST", "me:pw@box:1")  # no scheme, from the environment
    with OllamaProvider(**transport) as provider:  # type: ignore[arg-type]
        provider.version()
    assert seen == [
        ("https://proxy.example/ollama/api/version", basic("me", "p@ss")),
        ("http://box:1/api/version", basic("me", "pw")),
    ]


def test_basic_auth_from_userinfo_yields_to_a_header_and_follows_the_host() -> None:
    given = OllamaConfig(host="http://me:pw@box:1", headers={"authorization": "Bearer t"})
    assert dict(given.request_headers) == {"authorization": "Bearer t"}
    proxied = OllamaConfig(host="http://me:pw@box:1", headers={"X-Team": "a"})
    assert dict(proxied.headers) == {"X-Team": "a"}  # what the user gave stays as given
    assert dict(proxied.request_headers) == {"Authorization": basic("me", "pw"), "X-Team": "a"}
    # Another host, through the provider's overrides: the credentials of the first do not follow.
    moved = OllamaProvider("other:1", config=proxied).config
    assert dict(moved.request_headers) == {"X-Team": "a"}
    pooled = OllamaConfig(hosts=["http://me:pw@a:1", "b:1"])
    assert [dict(pooled.for_host(url).request_headers) for url in pooled.base_urls] == [
        {"Authorization": basic("me", "pw")}
    ] * 2
    assert "pw" not in repr(pooled) and basic("me", "pw") not in repr(pooled)
    with pytest.raises(InvalidRequestError, match="different user:password@ credentials"):
        OllamaConfig(host="http://me:one@a:1,http://me:two@b:1")


@pytest.mark.parametrize(
    "settings",
    [
        {"retries": -1},
        {"timeout": 0},
        {"connect_timeout": 0},
        {"embed_batch_size": 0},
        {"max_connections": 0},
    ],
)
def test_config_rejects_nonsense(settings: dict[str, float]) -> None:
    with pytest.raises(InvalidRequestError):
        OllamaConfig(**settings)  # type: ignore[arg-type]


def test_provider_overrides_a_given_config() -> None:
    provider = OllamaProvider("h:1", config=OllamaConfig(retries=0, model="m"), timeout=5)
    assert (provider.host, provider.config.retries, provider.config.timeout, provider.config.model) == (
        "http://h:1",
        0,
        5,
        "m",
    )
    assert "h:1" in repr(provider)


@pytest.mark.parametrize(
    "name",
    [
        "llama3.2",
        "llama3.2:3b",
        "library/llama3.2:latest",
        "myns/my-model_v2:q4_K_M",
        "127.0.0.1:5000/library/all-minilm:latest",
        "registry.example.com/ns/m:tag",
        "gpt-oss:20b-cloud",
        "qwen3:cloud",
        "_private",
    ],
)
def test_valid_names(name: str) -> None:
    assert validate_model_name(name) == name


def test_canonical_names_and_lookup() -> None:
    assert canonical_name("Library/Llama3.2") == "llama3.2:latest"
    assert canonical_name("registry.ollama.ai/library/qwen2.5:7b") == "qwen2.5:7b"
    assert canonical_name("ns/m") == "ns/m:latest"
    assert canonical_name("host:5000/ns/m:t") == "host:5000/ns/m:t"
    installed = ["smollm2:135m", "smollm2-tools:135m", "all-minilm:latest"]
    assert find_model(installed, "all-minilm") == "all-minilm:latest"
    assert find_model(installed, "smollm2") is None
    assert closest_models(installed, "smollm2")[0] == "smollm2:135m"
    assert closest_models(installed, "zzz") == []


def test_recommended_models_table() -> None:
    assert {m.name for m in RECOMMENDED_MODELS} >= {
        "qwen2.5:0.5b",
        "qwen2.5:3b",
        "qwen2.5:7b",
        "qwen2.5:14b",
        "llama3.2:3b",
    }
    entry = recommended("llama3.2:3b")
    assert entry is not None and entry.context_length == 131_072 and "tool" in entry.use_case
    assert recommended("unknown") is None
