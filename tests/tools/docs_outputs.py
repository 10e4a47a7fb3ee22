"""Regenerate the documentation outputs from the recordings in cassettes/recorded, after a re-recording.

    uv run python -m tests.tools.docs_outputs [--no-notebooks]

Documentation shows the bundled recordings' answers on purpose, and its tests (marked ``docs``)
compare it with them. Once a re-recording is copied over ``cassettes/recorded``:

* doctests: every example whose output differs is run and its expected output rewritten in place
  (an example that raises instead is reported, not rewritten: that is a code problem);
* notebooks: ``notebooks/build_notebooks.py`` rebuilds and re-executes them, saving their outputs.

The demo keeps no saved output (its tests read the recordings), so it needs nothing. Review the
result with ``git diff`` before committing.
"""

from __future__ import annotations

import argparse
import doctest
import importlib
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from ..recordings import REPO_ROOT

OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE  # as pyproject's doctest_optionflags
LINE_LENGTH = 110  # pyproject's ruff line-length: rewritten outputs stay lint-clean
#: Where ``--doctest-modules`` collects (pyproject's testpaths), and the llama-index adapter, whose
#: modules its own runner imports under their real names (tests/llama_index/test_doctests.py).
DOCTEST_TREES = ("ollama_provider", "adapters/langchain/langchain_ollama_provider", "tests")
LLAMA_INDEX_MODULES = "tests.llama_index.test_doctests"


@dataclass(frozen=True)
class Stale:
    """A doctest example whose output is not what its docstring says."""

    path: Path
    opening: int  # 0-based line of the file where the docstring starts
    line: int  # 0-based line of the example's first ``>>>``
    example: doctest.Example
    got: str | None  # None: the example raised an unexpected exception
    where: str


class _Collector(doctest.DocTestRunner):
    def __init__(self) -> None:
        super().__init__(optionflags=OPTIONS)
        self.stale: list[Stale] = []

    def report_failure(self, out: object, test: doctest.DocTest, example: doctest.Example, got: str) -> None:
        self.stale.append(_stale(test, example, got))

    def report_unexpected_exception(
        self, out: object, test: doctest.DocTest, example: doctest.Example, exc_info: object
    ) -> None:
        self.stale.append(_stale(test, example, None))


def _stale(test: doctest.DocTest, example: doctest.Example, got: str | None) -> Stale:
    assert test.filename is not None and test.lineno is not None
    return Stale(Path(test.filename), test.lineno, test.lineno + example.lineno, example, got, test.name)


def stale_examples(modules: Iterable[ModuleType]) -> list[Stale]:
    """Run every doctest of ``modules``; the examples whose output differs."""
    collector = _Collector()
    for module in modules:
        for test in doctest.DocTestFinder().find(module, module.__name__):
            if test.examples:
                collector.run(test, out=lambda _text: None, clear_globs=True)
    return collector.stale


def _expected(got: str, indent: int, raw: bool) -> list[str]:
    """``got`` as the expected output of an example indented by ``indent``, in a (raw) docstring."""
    lines: list[str] = []
    for line in got.rstrip("\n").split("\n"):
        line = line.rstrip() if raw else line.rstrip().replace("\\", "\\\\")  # a docstring unescapes them
        # NORMALIZE_WHITESPACE: any run of whitespace matches any other, so long lines wrap at spaces.
        width = LINE_LENGTH - indent
        wrapped = (
            textwrap.wrap(line, width, break_long_words=False, break_on_hyphens=False)
            if len(line) > width
            else []
        )
        lines += [" " * indent + part for part in wrapped or [line or "<BLANKLINE>"]]
    return lines


def _is_raw(opening_line: str) -> bool:
    """Whether the docstring opening on this line is a raw string (``r`` before its quotes)."""
    quote = min((i for i in (opening_line.find('"""'), opening_line.find("'''")) if i >= 0), default=-1)
    return quote > 0 and opening_line[quote - 1] in "rR"


def rewrite(stale: Iterable[Stale]) -> list[Stale]:
    """Write each example's real output in place of its expected one; returns the examples that raised."""
    raised = [s for s in stale if s.got is None]
    by_file: dict[Path, list[Stale]] = {}
    for item in stale:
        if item.got is not None:
            by_file.setdefault(item.path, []).append(item)
    for path, items in by_file.items():
        lines = path.read_text(encoding="utf-8").split("\n")
        for item in sorted(items, key=lambda s: s.line, reverse=True):  # bottom-up: line numbers hold
            start = item.line + item.example.source.count("\n")
            end = start + item.example.want.count("\n")
            assert item.got is not None
            lines[start:end] = _expected(item.got, item.example.indent, _is_raw(lines[item.opening]))
        path.write_text("\n".join(lines), encoding="utf-8")
    return raised


def module_name(path: Path) -> str:
    """The dotted name of a module file, from the packages (``__init__.py``) that hold it."""
    parts = [path.stem]
    folder = path.parent
    while (folder / "__init__.py").exists():
        parts.insert(0, folder.name)
        folder = folder.parent
    return ".".join(parts)


def doctest_modules() -> Iterator[ModuleType]:
    """The modules whose doctests the suite runs."""
    for tree in DOCTEST_TREES:
        for path in sorted((REPO_ROOT / tree).rglob("*.py")):
            if (
                not path.name.startswith(("test_", "conftest", "__main__"))
                and "__pycache__" not in path.parts
            ):
                yield importlib.import_module(module_name(path))
    yield from (
        importlib.import_module(name) for name in importlib.import_module(LLAMA_INDEX_MODULES).MODULES
    )


def refresh_doctests() -> int:
    """Rewrite the stale doctest outputs; 1 when some example raised (reported), else 0."""
    os.chdir(REPO_ROOT)  # the examples open cassettes/recorded by relative path
    stale = stale_examples(doctest_modules())
    raised = rewrite(stale)
    for item in stale:
        state = "raised: fix it by hand" if item.got is None else "rewritten"
        print(f"{item.path.relative_to(REPO_ROOT)}:{item.line + 1} {item.where}: {state}")
    print(f"doctests: {len(stale) - len(raised)} output(s) rewritten, {len(raised)} example(s) raised")
    print("check them: uv run pytest -m docs ollama_provider adapters/langchain tests")
    return 1 if raised else 0


def refresh_notebooks() -> int:
    """Rebuild and re-execute the notebooks against the replay server (not a live Ollama)."""
    env = {key: value for key, value in os.environ.items() if key != "OLLAMA_HOST"}
    return subprocess.run([sys.executable, "notebooks/build_notebooks.py"], cwd=REPO_ROOT, env=env).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.tools.docs_outputs", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--no-notebooks", action="store_true", help="rewrite the doctests only")
    args = parser.parse_args(argv)
    failed = refresh_doctests()
    if not args.no_notebooks:
        failed |= refresh_notebooks()
    return failed


if __name__ == "__main__":
    sys.exit(main())
