"""``python -m tests.tools.docs_outputs``: stale doctest outputs are rewritten in place, and only those.

The module under repair is a throwaway one written to a temporary folder, never a file of the project.
"""

from __future__ import annotations

import doctest
import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from .docs_outputs import module_name, rewrite, stale_examples

STALE = '''\
"""A module whose examples say what an older recording answered.

>>> print("first line\\\\nsecond line")
first line
old second line
>>> "a" * 40  # still right, with an ellipsis
'aaaa...'
>>> " ".join(["a long answer"] * 20)  # wrapped at spaces: NORMALIZE_WHITESPACE matches it
'a short one'
"""


def shout(text: str) -> str:
    r"""Upper case, and a backslash kept as written in a raw docstring.

    >>> shout("hi")
    'HI!'
    >>> "\\\\" + shout("x")
    '\\\\Y'
    >>> [shout("a"), "", shout("b")]
    ['a']
    """
    return text.upper()


def broken() -> None:
    """
    >>> 1 / 0
    1
    """
'''


@pytest.fixture
def stale_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, ModuleType]]:
    package = tmp_path / "docs_sample"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    source = package / "answers.py"
    source.write_text(STALE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield source, importlib.import_module("docs_sample.answers")
    for name in ("docs_sample.answers", "docs_sample"):
        sys.modules.pop(name, None)


def failures(module: ModuleType) -> int:
    return doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE).failed


def test_the_stale_outputs_are_found_and_the_right_ones_kept(stale_module: tuple[Path, ModuleType]) -> None:
    _, module = stale_module

    stale = stale_examples([module])

    assert [(s.example.source.strip(), s.got is None) for s in stale] == [  # docstrings by name
        ('print("first line\\nsecond line")', False),
        ('" ".join(["a long answer"] * 20)  # wrapped at spaces: NORMALIZE_WHITESPACE matches it', False),
        ("1 / 0", True),  # raised: reported, never rewritten
        ('shout("hi")', False),
        ('"\\\\" + shout("x")', False),
        ('[shout("a"), "", shout("b")]', False),
    ]


def test_rewritten_outputs_pass_and_nothing_else_changes(stale_module: tuple[Path, ModuleType]) -> None:
    source, module = stale_module
    before = source.read_text(encoding="utf-8").split("\n")

    raised = rewrite(stale_examples([module]))

    after = source.read_text(encoding="utf-8")
    assert [s.example.source.strip() for s in raised] == ["1 / 0"]
    assert "first line\nsecond line\n>>> \"a\" * 40  # still right, with an ellipsis\n'aaaa...'" in after
    assert "    'HI'\n" in after
    assert "    '\\\\X'\n" in after  # the raw docstring keeps one backslash per backslash
    assert "    ['A', '', 'B']\n" in after
    assert len(after.split("\n")) == len(before) + 2  # the long answer took three lines
    assert max(len(line) for line in after.split("\n")) <= 110  # lint-clean
    sys.modules.pop("docs_sample.answers")
    assert failures(importlib.import_module("docs_sample.answers")) == 1  # only the raising example


def test_module_names_follow_the_packages(stale_module: tuple[Path, ModuleType]) -> None:
    source, _ = stale_module
    assert module_name(source) == "docs_sample.answers"
    assert module_name(Path(__file__)) == "tests.tools.test_docs_outputs"
