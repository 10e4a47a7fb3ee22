"""The package's parts and the direction of imports between them (docs/architecture.md).

Read from the source with ``ast``, so a new import that points the wrong way fails here, with the file
and line, before it becomes a cycle.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import ollama_provider
from ollama_provider._moved import MOVED

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "ollama_provider"
ADAPTERS = REPO / "adapters"
#: the client core: the top-level modules (public and ``_private``) and the two parts the providers use
CORE_PARTS = {"pool", "telemetry"}
#: offline tools and the command line: built on the client, never imported by it
TOOL_PARTS = {"testing", "cli"}
#: what reports to telemetry
CALLERS_OF_TELEMETRY = ("ollama_provider.provider", "ollama_provider._transport")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> list[tuple[int, str]]:
    """Every module ``path`` imports, absolute, with its line."""
    tree = ast.parse(path.read_text(), str(path))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def part_of(module: str) -> str | None:
    """``pool``, ``telemetry``, ``testing``, ``cli``, ``core`` (the top level) or ``None`` (not ours)."""
    parts = module.split(".")
    if parts[0] != "ollama_provider":
        return None
    if len(parts) > 1 and parts[1] in CORE_PARTS | TOOL_PARTS:
        return parts[1]
    return "core"


def package_files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", package_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_imports_point_one_way(path: Path) -> None:
    here = part_of(module_name(path))
    wrong = []
    for line, target in imports(path):
        there = part_of(target)
        if there is None or there == here:
            continue
        if (here != "cli" and there == "cli") or (here in {"core", *CORE_PARTS} and there in TOOL_PARTS):
            wrong.append(f"line {line}: {target} (the client never imports the offline tools or the CLI)")
        if here == "telemetry" and (there == "pool" or target.startswith(CALLERS_OF_TELEMETRY)):
            wrong.append(f"line {line}: {target} (telemetry is reported to; it never calls up)")
        if here == "pool" and target.startswith("ollama_provider.provider"):
            wrong.append(f"line {line}: {target} (the pool sits below the providers)")
    assert not wrong, f"{path.relative_to(REPO)} imports the wrong way:\n" + "\n".join(wrong)


def test_telemetry_does_not_import_its_own_seam_back() -> None:
    for name in ("_otel.py", "_genai.py"):
        targets = {target for _, target in imports(PACKAGE / "telemetry" / name)}
        assert "ollama_provider.telemetry" not in targets, name


@pytest.mark.parametrize("path", sorted(ADAPTERS.rglob("*.py")), ids=lambda p: str(p.relative_to(ADAPTERS)))
def test_adapters_use_only_the_public_api(path: Path) -> None:
    private = [
        f"line {line}: {target}"
        for line, target in imports(path)
        if target.startswith("ollama_provider.")
        and any(part.startswith("_") for part in target.split(".")[1:2])
    ]
    assert not private, f"{path.relative_to(REPO)} reaches into the core's internals:\n" + "\n".join(private)


def test_every_public_name_is_importable_and_listed() -> None:
    for module in ("ollama_provider", "ollama_provider.testing", "ollama_provider.integrations"):
        public = importlib.import_module(module)
        missing = [name for name in public.__all__ if not hasattr(public, name)]
        assert not missing, (module, missing)
    assert "OllamaProvider" in ollama_provider.__all__


@pytest.mark.parametrize("old", sorted(MOVED))
def test_an_old_module_name_says_where_its_names_are_now(old: str) -> None:
    with pytest.raises(
        ImportError, match=rf"`ollama_provider\.{old}` moved: .*`ollama_provider[.\w]*`"
    ) as raised:
        importlib.import_module(f"ollama_provider.{old}")
    assert raised.value.name == f"ollama_provider.{old}"


def test_the_moved_readme_import_names_its_new_home() -> None:
    with pytest.raises(ImportError, match=r"from ollama_provider\.testing import ReplayServer"):
        from ollama_provider.replay import ReplayServer  # noqa: F401


def test_a_module_that_never_existed_is_an_ordinary_import_error() -> None:
    with pytest.raises(ModuleNotFoundError, match=r"No module named 'ollama_provider\.nothing_here'"):
        importlib.import_module("ollama_provider.nothing_here")
