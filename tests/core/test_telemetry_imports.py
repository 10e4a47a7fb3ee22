"""OpenTelemetry stays a soft dependency: nothing of it is imported, and nothing changes, unless the
application brought it in and set a provider. Each case runs in a fresh interpreter (the test suite
itself has imported OpenTelemetry long before)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

#: Imports the core, serves a fake Ollama in-process, and runs a plain chat, a streamed chat, an embed
#: batch and a failing call; prints what it saw as JSON.
WORKLOAD = """
import json, sys
{prelude}
before = {{name for name in sys.modules if name.startswith("opentelemetry")}}
import ollama_provider
from ollama_provider import OllamaProvider, ModelNotFoundError
from ollama_provider.testing import FakeOllama

with FakeOllama(models=["llama3.2", "all-minilm"]) as server, OllamaProvider(server.url) as provider:
    answer = provider.chat("hi", model="llama3.2").message.content
    streamed = "".join(chunk.message.content for chunk in provider.chat("hi", model="llama3.2", stream=True))
    vectors = provider.embed(["a", "b", "c"], model="all-minilm", batch_size=2)
    try:
        provider.chat("hi", model="missing")
    except ModelNotFoundError:
        failed = True
after = {{name for name in sys.modules if name.startswith("opentelemetry")}}
print(json.dumps({{
    "answer": answer, "streamed": streamed, "vectors": len(vectors), "failed": failed,
    "imported_by_us": sorted(after - before), "otel_modules": sorted(after),
    "our_otel_module": "ollama_provider.telemetry._otel" in sys.modules,
    {extra}
}}))
"""

#: Makes ``opentelemetry`` impossible to import, as if it were not installed, and counts the attempts.
BLOCKER = """
import importlib.abc
attempts = []
class NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "opentelemetry" or name.startswith("opentelemetry."):
            attempts.append(name)
            raise ModuleNotFoundError(f"No module named {name!r}")
        return None
sys.meta_path.insert(0, NotInstalled())
"""


def run(prelude: str = "", extra: str = "") -> dict[str, object]:
    script = WORKLOAD.format(prelude=textwrap.dedent(prelude), extra=extra)
    process = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert process.returncode == 0, process.stderr
    result: dict[str, object] = json.loads(process.stdout.splitlines()[-1])
    assert result["answer"] == result["streamed"] == "fake says: hi"
    assert result["vectors"] == 3 and result["failed"] is True
    return result


def test_installed_but_unused_opentelemetry_is_never_imported() -> None:
    pytest.importorskip("opentelemetry.trace")  # installed here (dev group): the point of this test
    result = run()
    assert result["otel_modules"] == []
    assert result["our_otel_module"] is False


def test_without_opentelemetry_installed_nothing_tries_to_import_it() -> None:
    result = run(prelude=BLOCKER, extra='"attempts": attempts,')
    assert result["attempts"] == []
    assert result["otel_modules"] == []


def test_an_imported_api_without_a_provider_records_nothing_and_imports_nothing_more() -> None:
    pytest.importorskip("opentelemetry.trace")
    prelude = """
        from opentelemetry import trace, metrics  # an application (or a library) imported the API
    """
    extra = """
    "start": ollama_provider.telemetry.start(ollama_provider._calls.version(), server.url) is None,
    """
    result = run(prelude=prelude, extra=extra)
    assert result["imported_by_us"] == []  # no SDK, no semantic-conventions package, nothing
    assert result["start"] is True  # nobody listens: no operation at all
    assert not any(name.startswith("opentelemetry.sdk") for name in result["otel_modules"])  # type: ignore[union-attr]


def test_the_readme_example_prints_the_answer_and_its_span() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### OpenTelemetry spans and metrics", 1)[1]
    example = section.split("```python\n", 1)[1].split("```", 1)[0]
    process = subprocess.run(
        [sys.executable, "-c", example],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert process.returncode == 0, process.stderr
    haiku, _, exported = process.stdout.partition("{")
    assert haiku.strip(), "no answer printed"
    span = json.loads("{" + exported)
    assert span["name"] == "chat smollm2:135m" and span["kind"] == "SpanKind.CLIENT"
    assert span["attributes"]["gen_ai.provider.name"] == "ollama"
    assert span["attributes"]["gen_ai.usage.output_tokens"] > 0
    assert span["attributes"]["gen_ai.response.time_to_first_chunk"] > 0
