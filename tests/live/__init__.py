"""The live tier's own servers: real ``ollama serve`` processes that the tests start, load, kill and restart.

Run it with a real binary and a model store holding ``smollm2:135m`` and ``all-minilm:latest``::

    OLLAMA_PROVIDER_LIVE_BIN=~/.cache/ollama-live/0.33.0-rc2/bin/ollama \\
    OLLAMA_PROVIDER_LIVE_MODELS=~/.cache/ollama-live/0.33.0-rc2/models \\
    OLLAMA_PROVIDER_TEST_REGISTRY=127.0.0.1:5000 \\
        uv run pytest tests/live -m live_servers

(``../shared/ollama/start-ollama`` unpacks the binary and fills the store; ``ollama`` on PATH with its own
store works too; ``OLLAMA_PROVIDER_LIVE_PORTS=LOW-HIGH`` keeps the servers' ports in a range). Without a
binary every test here is skipped, saying what to set; the registry tests also skip without a registry.
"""
