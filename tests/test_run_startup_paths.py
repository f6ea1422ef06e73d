"""The run's start-up shortcuts give the answers of what they replace.

- ``script_doc``: Alembic's ``Script.doc`` without its per-call regex split;
- ``headers``: the cold reader's patterns, compiled on first use, match as compiled ones;
- ``plan._holds_schema_objects``: the names skipped by type are never schema objects;
- ``cli_output.Output.is_terminal``: asked once per stream object, asked again for another one.
"""

from __future__ import annotations

import io
import re
import types

import pytest
import sqlalchemy as sa
from alembic.script import Script

from schemashift.checks import plan
from schemashift.cli_output import Output
from schemashift.revisions import headers
from schemashift.revisions.index import script_doc

DOCS = [
    None,
    "",
    "add users",
    "add users\n\nRevision ID: abc\nRevises: \nCreate Date: 2026-01-01",
    "\n\n  leading blank lines\n\nsecond",
    "one\n\n\n\nthree blank lines",
    "windows\r\n\r\nline ends",
    "  padded  \n\n",
    "no blank line\nat all",
]


@pytest.mark.parametrize("doc", DOCS)
def test_script_doc_is_alembic_doc(doc: str | None) -> None:
    module = types.ModuleType("rev_x")
    module.__doc__ = doc
    vars(module).update(down_revision=None, branch_labels=None, depends_on=None)
    script = Script(module, "abc", "/nowhere/abc.py")
    assert script_doc(script) == script.doc


def test_script_doc_of_other_objects_is_their_doc() -> None:
    other = types.SimpleNamespace(doc="from the index")
    assert script_doc(other) == "from the index"
    assert script_doc(types.SimpleNamespace(doc=None)) == ""


def test_lazy_patterns_match_as_compiled_and_take_their_place() -> None:
    lazy = headers._LazyPattern("_probe_pattern", r"(a+)(b)?", re.MULTILINE)
    compiled = re.compile(r"(a+)(b)?", re.MULTILINE)
    text = "aab\nab\nb\naaa"
    assert [m.groups() for m in lazy.finditer(text)] == [m.groups() for m in compiled.finditer(text)]
    assert lazy.sub("-", text) == compiled.sub("-", text)
    assert isinstance(vars(headers)["_probe_pattern"], re.Pattern)  # compiled once, then itself
    del vars(headers)["_probe_pattern"]
    for name in ("_NOT_CODE", "_USUAL_BLOCK", "_SPLIT", "_USUAL_DOC"):
        value = getattr(headers, name)
        pattern = value.pattern if isinstance(value, re.Pattern) else value.pattern
        assert isinstance(re.compile(pattern), re.Pattern)


def _module(**names: object) -> types.ModuleType:
    module = types.ModuleType("rev_y")
    vars(module).update(names)
    return module


class Word(str):
    """A str subclass: not skipped by type, still checked."""


def test_holds_schema_objects_skips_only_plain_names() -> None:
    assert not plan._holds_schema_objects(_module(op=None, sa=sa, revision="a", down_revision=None,
                                                  upgrade=lambda: None, n=1, f=1.0, b=True))
    assert plan._holds_schema_objects(_module(col=sa.Column("x", sa.Integer)))
    assert plan._holds_schema_objects(_module(cols=[sa.Column("x", sa.Integer)]))
    assert plan._holds_schema_objects(_module(t=sa.Table("t", sa.MetaData())))
    assert not plan._holds_schema_objects(_module(word=Word("x")))


class _Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty
        self.asked = 0

    def isatty(self) -> bool:
        self.asked += 1
        return self.tty


def test_is_terminal_asks_each_stream_once(monkeypatch: pytest.MonkeyPatch) -> None:
    output = Output()
    first, second = _Stream(False), _Stream(True)
    monkeypatch.setattr("sys.stdout", first)
    assert [output.is_terminal for _ in range(3)] == [False] * 3
    assert first.asked == 1
    monkeypatch.setattr("sys.stdout", second)  # another stream: asked again
    assert output.is_terminal is True
    assert second.asked == 1
    output.print("plain", markup=False)
    assert first.getvalue() == ""  # printed to the stream in place now, not the one asked before
