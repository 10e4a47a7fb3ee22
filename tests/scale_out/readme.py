"""The README's examples of batch jobs ("Processes and batch jobs"), run as doctests by the test modules."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
SECTION = "Processes and batch jobs"


def run_example(heading: str) -> doctest.TestResults:
    """Run the one Python example under ``### heading`` of the section, as a reader would paste it."""
    start = README.index(f"\n## {SECTION}\n")
    section = README[start : README.find("\n## ", start + 1)]
    begin = section.index(f"\n### {heading}\n")
    end = section.find("\n### ", begin + 1)
    blocks = re.findall(r"```python\n(.*?)```", section[begin : end if end != -1 else None], flags=re.DOTALL)
    assert len(blocks) == 1 and ">>> " in blocks[0], f"one doctest expected under {heading!r}"
    line = README[: README.index(blocks[0])].count("\n")
    # As a script's: classes and functions defined there travel to the workers by value.
    test = doctest.DocTestParser().get_doctest(
        blocks[0], {"__name__": "__main__"}, heading, "README.md", line
    )
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    return runner.summarize(verbose=False)
