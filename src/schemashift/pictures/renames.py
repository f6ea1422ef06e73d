"""Which tables and columns a run of revisions renamed, read from the revision files.

Why from the files: a schema diff alone cannot tell a rename from a drop and
an add (that is the whole rename problem), and guessing would draw renames
that never happened.  The revisions say it exactly: ``op.rename_table(old,
new)``, ``op.alter_column(table, old, new_column_name=new)`` and the same
inside ``with op.batch_alter_table(table) as batch_op:``.  Files are parsed
with ``ast`` (never executed); calls whose names are not literals are ignored.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Iterable

from .erd import Renames


def _literal(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _arg(call: ast.Call, index: int, name: str) -> str | None:
    for kw in call.keywords:
        if kw.arg == name:
            return _literal(kw.value)
    if len(call.args) > index:
        return _literal(call.args[index])
    return None


class _Tracker:
    """Follows names through successive renames, so chains collapse to first -> last."""

    def __init__(self) -> None:
        self.table_origin: dict[str, str] = {}
        self.column_origin: dict[tuple[str, str], str] = {}

    def rename_table(self, old: str, new: str) -> None:
        self.table_origin[new] = self.table_origin.pop(old, old)
        for (table, col), origin in list(self.column_origin.items()):
            if table == old:
                del self.column_origin[(table, col)]
                self.column_origin[(new, col)] = origin

    def rename_column(self, table: str, old: str, new: str) -> None:
        self.column_origin[(table, new)] = self.column_origin.pop((table, old), old)

    def result(self) -> Renames:
        return Renames(
            tables={origin: name for name, origin in self.table_origin.items() if origin != name},
            columns={(t, origin): c for (t, c), origin in self.column_origin.items() if origin != c},
        )


class _Visitor(ast.NodeVisitor):
    def __init__(self, tracker: _Tracker) -> None:
        self.tracker = tracker
        self.batch: dict[str, str] = {}  # batch_op variable -> table

    def visit_With(self, node: ast.With) -> None:
        for item in node.items:
            call = item.context_expr
            if (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Attribute)
                and call.func.attr == "batch_alter_table"
                and isinstance(item.optional_vars, ast.Name)
            ):
                table = _arg(call, 0, "table_name")
                if table:
                    self.batch[item.optional_vars.id] = table
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute):
            owner = func.value.id if isinstance(func.value, ast.Name) else None
            if func.attr == "rename_table":
                old, new = _arg(node, 0, "old_table_name"), _arg(node, 1, "new_table_name")
                if old and new:
                    self.tracker.rename_table(old, new)
            elif func.attr == "alter_column":
                new = next((_literal(k.value) for k in node.keywords if k.arg == "new_column_name"), None)
                if owner in self.batch:
                    table, column = self.batch[owner], _arg(node, 0, "column_name")
                else:
                    table, column = _arg(node, 0, "table_name"), _arg(node, 1, "column_name")
                if table and column and new:
                    self.tracker.rename_column(table, column, new)
        self.generic_visit(node)


def _function(tree: ast.Module, name: str) -> ast.FunctionDef | None:
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return node
    return None


def renames_in(paths: Iterable[str | Path], *, direction: str = "upgrade") -> Renames:
    """Renames made by running each file's ``upgrade()`` (or ``downgrade()``) in the given order."""
    tracker = _Tracker()
    for path in paths:
        try:
            tree = ast.parse(Path(path).read_text(encoding="utf-8"))
        except (OSError, SyntaxError, ValueError):
            continue
        fn = _function(tree, direction)
        if fn is not None:
            visitor = _Visitor(tracker)
            for stmt in fn.body:
                visitor.visit(stmt)
    return tracker.result()


__all__ = ["renames_in", "Renames"]


