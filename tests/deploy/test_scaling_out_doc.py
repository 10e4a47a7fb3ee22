"""The README's "Scaling out" section: every Python example in it runs, as a doctest, here."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def _section(heading: str) -> str:
    start = README.index(f"\n## {heading}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


def test_the_configuration_reference_links_to_the_section() -> None:
    assert "](#scaling-out)" in README
    assert "\n## Scaling out\n" in README


def test_every_python_example_in_the_section_runs() -> None:
    section = _section("Scaling out")
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    assert len(blocks) >= 2
    assert all(">>> " in block for block in blocks), "a Python example without >>> would never run"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    parser = doctest.DocTestParser()
    for number, block in enumerate(blocks, 1):  # each on its own, as a reader would paste it
        line = README[: README.index(block)].count("\n")
        runner.run(parser.get_doctest(block, {}, f"README Scaling out, example {number}", "README.md", line))
    assert runner.summarize(verbose=False).failed == 0
