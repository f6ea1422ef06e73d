"""What later revisions will ask of today's rows, read from the history.

Why: rows verify seeds before revision 3 are still there when revision 9
converts ``qty`` from a string to an integer or sets ``email`` NOT NULL.
Rows that real data would have (numbers in ``qty``, an email everywhere)
pass; generated ``'qty_1'`` or NULL would fail the revision for verify's own
choice of values.  verify knows the whole history, so before the walk it
reads every revision's ``alter_column`` calls (by parsing the source, never
running it) and seeds such columns with values every later step accepts:
digit strings for columns later converted to a numeric or boolean type, a
JSON object's text for columns later converted to JSON, no NULL for columns
later made NOT NULL.  Columns are matched by name, which
can only make a few more values plain, never fewer.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

JSONISH = re.compile(r"JSON", re.IGNORECASE)
NUMERIC = re.compile(r"Integer|Numeric|Float|Decimal|Double|Boolean|REAL|INT|NUMERIC|BOOL", re.IGNORECASE)


@dataclass
class SeedHints:
    """Column names whose seeded values must stay plain (digits) or non-NULL."""

    numeric: set[str] = field(default_factory=set)
    not_null: set[str] = field(default_factory=set)
    json: set[str] = field(default_factory=set)


def _column_name(call: ast.Call) -> str | None:
    """``op.alter_column("t", "c", ...)`` or ``batch_op.alter_column("c", ...)``."""
    for kw in call.keywords:
        if kw.arg == "column_name" and isinstance(kw.value, ast.Constant):
            return str(kw.value.value)
    strings = [a.value for a in call.args[:2] if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    return strings[-1] if strings else None


def read_hints(paths: Iterable[str | Path | None]) -> SeedHints:
    """Hints from the ``upgrade()`` functions of the given revision files."""
    hints = SeedHints()
    for path in paths:
        if not path:
            continue
        try:
            tree = ast.parse(Path(path).read_text(encoding="utf-8", errors="replace"))
        except (OSError, SyntaxError, ValueError):
            continue
        for fn in tree.body:
            if not (isinstance(fn, ast.FunctionDef) and fn.name == "upgrade"):
                continue
            for node in ast.walk(fn):
                if not (isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "alter_column"):
                    continue
                name = _column_name(node)
                if name is None:
                    continue
                for kw in node.keywords:
                    if kw.arg == "type_" and JSONISH.search(ast.unparse(kw.value)):
                        hints.json.add(name)
                    elif kw.arg == "type_" and NUMERIC.search(ast.unparse(kw.value)):
                        hints.numeric.add(name)
                    if kw.arg == "nullable" and isinstance(kw.value, ast.Constant) and kw.value.value is False:
                        hints.not_null.add(name)
    return hints
