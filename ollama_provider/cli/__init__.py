"""The ``ollama-provider`` command (``ollama_provider.cli:main``): health, models, show, pull, chat,
embed, replay and demo, as text for people or ``--json`` for scripts. See ``docs/cli.md``.

It uses the client through its public API only; nothing in the client imports it.
"""

from ._app import app, main

__all__ = ["app", "main"]
