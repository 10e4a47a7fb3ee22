"""Conformance runs: the official integrations' own test suites, run against our adapters.

``python -m tests.conformance.langchain_official`` downloads the pinned ``langchain-ollama`` sdist,
runs its ``tests/`` live through :mod:`tests.conformance.langchain_ollama_shim` and compares the
outcome with ``langchain_official.yaml`` (see that module).
"""
