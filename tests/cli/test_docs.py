"""The README and docs/cli.md stay in step with the code: every option, error, command and exit code."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

import ollama_provider
from ollama_provider import OllamaConfig, errors
from ollama_provider.cli import app
from ollama_provider.cli._output import ExitCode

REPO_ROOT = Path(__file__).resolve().parents[2]
README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
CLI_DOC = (REPO_ROOT / "docs" / "cli.md").read_text(encoding="utf-8")


def _section(text: str, heading: str) -> str:
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def test_readme_gives_exactly_the_two_setup_commands() -> None:
    commands = re.findall(r"```bash\n(python3 -m pip install uv && uv run [^\n]+)\n```", README)
    assert commands == [
        "python3 -m pip install uv && uv run ollama-provider demo",
        "python3 -m pip install uv && uv run pytest",
    ]


@pytest.mark.parametrize("option", [f.name for f in dataclasses.fields(OllamaConfig)])
def test_configuration_reference_lists_every_option(option: str) -> None:
    assert f"| `{option}` |" in _section(README, "Configuration reference")


def test_configuration_reference_states_the_real_defaults() -> None:
    reference = _section(README, "Configuration reference")
    config = OllamaConfig()
    for field in dataclasses.fields(OllamaConfig):
        value = getattr(config, field.name)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            assert f"| `{field.name}` | `{value}` |" in reference, field.name


@pytest.mark.parametrize("name", errors.__all__)
def test_error_reference_lists_every_error_class(name: str) -> None:
    assert f"| `{name}`" in _section(README, "Error reference")
    assert getattr(ollama_provider, name) is getattr(errors, name)  # importable from the package


def test_readme_keeps_a_benchmarks_section_for_the_benchmark_run() -> None:
    assert "\n## Benchmarks\n" in README


def test_cli_doc_describes_every_command() -> None:
    commands = sorted(c.name or c.callback.__name__ for c in app.registered_commands if c.callback)
    assert commands == ["chat", "demo", "embed", "health", "models", "pull", "replay", "show"]
    for command in commands:
        assert f"| `{command}" in CLI_DOC, command


@pytest.mark.parametrize("code", list(ExitCode))
def test_cli_doc_explains_every_exit_code(code: ExitCode) -> None:
    assert f"| {int(code)} |" in _section(CLI_DOC, "Exit codes")


def test_linked_files_exist() -> None:
    for target in re.findall(r"\]\(((?:docs|notebooks|cassettes|deploy)/[^)#]+)\)", README):
        assert (REPO_ROOT / target).exists(), target
