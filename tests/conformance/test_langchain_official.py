"""The conformance runner's own logic, offline: the expectations file, the verdict, the shim's pieces.

The run itself (``python -m tests.conformance.langchain_official``) needs the network for the sdist
and a live server; here only what decides its outcome is checked.
"""

from __future__ import annotations

import io
import json
import sys
import tarfile
import types
from pathlib import Path
from unittest import mock

import httpx
import pytest

from . import langchain_ollama_shim as shim
from .langchain_official import (
    KINDS,
    Expectations,
    Expected,
    compare,
    load_expectations,
    report,
    top_level_names,
    unpack_tests,
)


def expectations(**tests: str) -> Expectations:
    return Expectations(
        package="langchain-ollama",
        version="1.1.0",
        sha256="0" * 64,
        models={"chat": {}, "embed": {}},
        options={},
        tests={name: Expected(name, kind, "why") for name, kind in tests.items()},
    )


def outcome(result: str) -> dict[str, str]:
    return {"outcome": result, "detail": "E   AssertionError: boom"}


# -- the expectations file --------------------------------------------------------------------------


def test_the_expectations_file_lists_each_test_once_with_a_known_kind_and_a_reason() -> None:
    expected = load_expectations()
    assert expected.package == "langchain-ollama" and len(expected.sha256) == 64
    assert expected.tests, "an empty list would make every official internal a new failure"
    for entry in expected.tests.values():
        assert entry.kind in KINDS and len(entry.reason) > 40
        assert entry.test.startswith(("tests/unit_tests/", "tests/integration_tests/"))
    assert set(expected.models) == {"chat", "embed"}


@pytest.mark.parametrize(
    ("yaml_text", "error"),
    [
        ("- {kind: guess, reason: r, tests: [a]}", "unknown kind"),
        ("- {kind: model, reason: '', tests: [a]}", "no reason"),
        ("- {kind: model, reason: r, tests: [a]}\n- {kind: suite, reason: r, tests: [a]}", "listed twice"),
    ],
)
def test_a_malformed_expectations_file_is_refused(tmp_path: Path, yaml_text: str, error: str) -> None:
    path = tmp_path / "expected.yaml"
    header = "package: p\nversion: 1\nsha256: x\nmodels: {chat: {}, embed: {}}\nexpected:\n"
    path.write_text(header + "\n".join("  " + line for line in yaml_text.splitlines()))
    with pytest.raises(ValueError, match=error):
        load_expectations(path)


# -- the verdict ----------------------------------------------------------------------------------------


def test_an_unlisted_failure_fails_the_run_and_says_why() -> None:
    verdict = compare({"t::a": outcome("passed"), "t::b": outcome("failed")}, expectations(), full_run=True)
    assert not verdict.ok
    assert verdict.new_failures[0].startswith("t::b: failed") and "boom" in verdict.new_failures[0]
    assert "NEW FAILURES" in report(verdict, expectations(), "ours")


@pytest.mark.parametrize("kind", ["documented", "suite", "model"])
def test_a_listed_failure_is_expected(kind: str) -> None:
    listed = expectations(**{"t::a": kind})
    verdict = compare({"t::a": outcome("error")}, listed, full_run=True)
    assert verdict.ok and verdict.expected_failures[kind] == 1


def test_a_listed_difference_that_passes_now_fails_the_run_but_a_model_limit_does_not() -> None:
    listed = expectations(**{"t::documented": "documented", "t::model": "model"})
    results = {"t::documented": outcome("passed"), "t::model": outcome("passed")}
    verdict = compare(results, listed, full_run=True)
    assert verdict.stale == ["t::documented (documented): passed"]
    assert verdict.better == ["t::model (model): passed"]
    assert not verdict.ok


def test_not_applicable_tests_are_only_collected_and_must_still_exist() -> None:
    listed = expectations(**{"t::internal": "not-applicable", "t::renamed": "not-applicable"})
    verdict = compare({"t::internal": outcome("deselected")}, listed, full_run=True)
    assert verdict.expected_failures["not-applicable"] == 1 and verdict.ran == 0
    assert verdict.not_run == ["t::renamed"] and not verdict.ok
    assert compare({"t::internal": outcome("deselected")}, listed, full_run=False).ok  # a -k run


def test_skips_and_expected_failures_of_the_suite_itself_are_fine() -> None:
    results = {"t::a": outcome("skipped"), "t::b": outcome("xfailed"), "t::c": outcome("xpassed")}
    assert compare(results, expectations(), full_run=True).ok


# -- the sdist -------------------------------------------------------------------------------------------


def test_only_the_tests_are_unpacked_and_the_official_names_are_read(tmp_path: Path) -> None:
    archive = tmp_path / "langchain_ollama-1.1.0.tar.gz"
    files = {
        "langchain_ollama-1.1.0/tests/unit_tests/test_x.py": "def test_x(): pass\n",
        "langchain_ollama-1.1.0/langchain_ollama/chat_models.py": "from ollama import Client\n_x = 1\n",
        "langchain_ollama-1.1.0/langchain_ollama/__init__.py": "__all__ = []\n",
        "langchain_ollama-1.1.0/tests/../../escape.py": "evil\n",
    }
    with tarfile.open(archive, "w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    tests_dir, modules = unpack_tests(archive, tmp_path / "work")
    assert [p.relative_to(tmp_path / "work").as_posix() for p in tests_dir.rglob("*.py")] == [
        "tests/unit_tests/test_x.py"
    ]
    assert modules == {"langchain_ollama.chat_models": ["Client", "_x"], "langchain_ollama": ["__all__"]}
    assert not (tmp_path / "escape.py").exists()


def test_top_level_names_are_what_a_module_binds() -> None:
    source = "import a.b\nfrom c import d as e\ndef f(): x = 1\nclass G: pass\nH: int = 1\nI = J = 2\n"
    assert top_level_names(source) == ["G", "H", "I", "J", "a", "e", "f"]


# -- the shim ----------------------------------------------------------------------------------------------


def test_shim_modules_serve_our_names_and_placeholders_for_official_internals() -> None:
    ours = types.ModuleType("ours")
    ours.ChatOllama = object  # type: ignore[attr-defined]
    module = shim.shim_module("langchain_ollama.chat_models", ours, ["Client", "_parse_json_string"])
    assert module.ChatOllama is object
    with mock.patch.object(module, "Client") as patched:  # patching an internal works ...
        assert module.Client is patched
    with pytest.raises(NotImplementedError, match="internal of the official langchain-ollama"):
        module._parse_json_string("{}")  # ... using one fails
    with pytest.raises(AttributeError):
        module.Nothing  # noqa: B018


def test_installing_the_shim_makes_langchain_ollama_our_package() -> None:
    import langchain_ollama_provider

    names = ("langchain_ollama", "langchain_ollama.chat_models")
    saved = {name: sys.modules.get(name) for name in names}
    try:
        shim.install_shim({"langchain_ollama": ["__version__"], "langchain_ollama.chat_models": ["Client"]})
        from langchain_ollama import ChatOllama, __version__
        from langchain_ollama.chat_models import ChatOllama as same

        assert ChatOllama is same is langchain_ollama_provider.ChatOllama
        assert __version__ == langchain_ollama_provider.__version__
    finally:  # the official package (bench group) or nothing, as before
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


SETTINGS = {
    "models": {"chat": {"llama3.1": "smollm2-tools:135m"}, "embed": {"llama3.1": "all-minilm:latest"}},
    "options": {"seed": 42, "num_predict": 48},
}


def test_the_suite_models_become_the_stand_ins_with_the_runs_options() -> None:
    chat = httpx.Request(
        "POST",
        "http://h:1/api/chat",
        headers={"X-Ollama-Model": "llama3.1:latest"},
        content=json.dumps({"model": "llama3.1:latest", "messages": [], "options": {"seed": 7}}),
    )
    sent = shim.rewrite_request(chat, SETTINGS)
    body = json.loads(sent.content)
    assert body["model"] == "smollm2-tools:135m" and sent.headers["x-ollama-model"] == "smollm2-tools:135m"
    assert body["options"] == {"seed": 7, "num_predict": 48}  # the test's own seed stays
    assert int(sent.headers["content-length"]) == len(sent.content)

    embed = httpx.Request("POST", "http://h:1/api/embed", json={"model": "llama3.1", "input": ["x"]})
    assert json.loads(shim.rewrite_request(embed, SETTINGS).content) == {
        "model": "all-minilm:latest",
        "input": ["x"],
    }
    other = httpx.Request("POST", "http://h:1/api/chat", json={"model": "qwen2.5:7b", "messages": []})
    assert json.loads(shim.rewrite_request(other, SETTINGS).content)["model"] == "qwen2.5:7b"
    tags = httpx.Request("GET", "http://h:1/api/tags")
    assert shim.rewrite_request(tags, SETTINGS) is tags
