"""``python -m ollama_provider.testing --port 0 --name gpu-1 ...``: one fake Ollama server in this process
(what :class:`~ollama_provider.testing.FakeHost` starts; ``--help`` lists the options)."""

from ._fake_server import main

main()
