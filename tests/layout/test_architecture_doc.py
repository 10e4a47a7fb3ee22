"""docs/architecture.md: its examples run, and its map names every module of the package."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOC = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")


def test_every_python_example_runs() -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC, flags=re.DOTALL)
    assert len(blocks) >= 2
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    parser = doctest.DocTestParser()
    for number, block in enumerate(blocks, 1):
        line = DOC[: DOC.index(block)].count("\n")
        runner.run(
            parser.get_doctest(block, {}, f"architecture.md example {number}", "architecture.md", line)
        )
    assert runner.summarize(verbose=False).failed == 0


def test_the_map_names_every_module_and_part() -> None:
    package = REPO / "ollama_provider"
    names = {p.name for p in package.glob("*.py") if p.name != "__init__.py"}
    names |= {f"{p.name}/" for p in package.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    unnamed = sorted(name for name in names if name.removesuffix(".py").removesuffix("/") not in DOC)
    assert not unnamed, f"docs/architecture.md does not place: {unnamed}"
