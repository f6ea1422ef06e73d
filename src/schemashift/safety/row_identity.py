"""Name the rows a SQLite rebuild's copy would lose, and why.

The rebuild copies every row into a new table with one ``INSERT ... SELECT``
and then compares row counts (the new table starts empty and has no
triggers, so equal counts mean equal sets of rows).  A constraint of the
new table can break that: a ``UNIQUE`` or ``PRIMARY KEY`` with ``ON CONFLICT
REPLACE`` deletes the earlier of two rows whose (converted) values collide,
one with ``IGNORE`` skips the later, and any other clause aborts the copy
with ``UNIQUE constraint failed``.  This module runs only after such a
failure: it evaluates the new table's constraints over the converted rows
(the copy's ``SELECT`` as a derived table) and names the offending rows by
their key, so the refusal says which rows to fix.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import exc as sa_exc

from ..errors import Refused
from ..schema.sql import quote
from .sqlite_ddl import KIND_NAMES, Constraint

SHOWN = 5
KEY = "__schemashift_key"


class RebuildWouldLoseRows(Refused):
    """A rebuild's copy would drop, replace or fail on existing rows."""

    def __init__(self, table: str, problems: list[str], lost: int | None) -> None:
        self.table = table
        self.problems = problems
        what = "; ".join(problems) if problems else "rows the new table does not take"
        counted = f"{lost} row{'s' if lost != 1 else ''} would be lost: " if lost else ""
        super().__init__(
            f"rebuild of {table} refused, {counted}{what}",
            hint="fix those rows first, or change the migration; a rebuild never deletes rows, "
            "allow_loss=True or --allow-loss only lets values change",
        )


def _describe(cons: Constraint) -> str:
    what = KIND_NAMES[cons.kind]
    name = f" {cons.name}" if cons.name else ""
    if cons.kind == "check":
        return f"CHECK{name} ({cons.check})"
    return f"{what}{name} ({', '.join(cons.columns)})"


def _key_text(plan: Any, key: Any) -> str:
    labels = [label for label, _ in plan.row_key]
    values = key if isinstance(key, tuple) else (key,)
    return " ".join(f"{label} {value!r}" if isinstance(value, str) else f"{label} {value}" for label, value in zip(labels, values))


def _derived(plan: Any) -> tuple[str, list[str]]:
    """The copy's SELECT over the old table, with the row key: the new table's rows before insertion."""
    key_cols = [f"{expr} AS {quote(f'{KEY}{i}')}" for i, (_, expr) in enumerate(plan.row_key)]
    cols = [f"{expr} AS {quote(col)}" for col, expr in zip(plan.insert_columns, plan.select_exprs)]
    keys = [quote(f"{KEY}{i}") for i in range(len(plan.row_key))]
    return f"(SELECT {', '.join(key_cols + cols)} FROM {quote(plan.table)})", keys


def _rows(connection: Any, sql: str) -> list[tuple]:
    try:
        return [tuple(r) for r in connection.exec_driver_sql(sql)]
    except sa_exc.DBAPIError:  # the constraint reads a column the copy does not fill (an added one)
        return []


def _collisions(connection: Any, plan: Any, derived: str, keys: list[str], cons: Constraint) -> str | None:
    cols = [quote(c) for c in cons.columns]
    if not cols or not all(c.lower() in {i.lower() for i in plan.insert_columns} for c in cons.columns):
        return None
    not_null = " AND ".join(f"{c} IS NOT NULL" for c in cols)
    groups = _rows(
        connection,
        f"SELECT {', '.join(cols)} FROM {derived} WHERE {not_null} GROUP BY {', '.join(cols)} "
        f"HAVING count(*) > 1 LIMIT {SHOWN}",
    )
    if not groups:
        return None
    shown = []
    for values in groups[:3]:
        match = " AND ".join(f"{c} IS ?" for c in cols)
        found = connection.exec_driver_sql(
            f"SELECT {', '.join(keys)} FROM {derived} WHERE {match} ORDER BY {', '.join(keys)} LIMIT {SHOWN}", tuple(values)
        ).fetchall()
        value = ", ".join(repr(v) for v in values)
        shown.append(f"{', '.join(_key_text(plan, tuple(r)) for r in found)} share ({value})")
    clause = cons.text.upper()
    how = (
        " and ON CONFLICT REPLACE would delete all but one"
        if "REPLACE" in clause
        else " and ON CONFLICT IGNORE would skip all but one"
        if "IGNORE" in clause
        else ""
    )
    return f"{_describe(cons)} fails after the copy: {'; '.join(shown)}{how}"


def _violations(connection: Any, derived: str, keys: list[str], plan: Any, cons: Constraint) -> str | None:
    found = _rows(connection, f"SELECT {', '.join(keys)} FROM {derived} WHERE NOT ({cons.check}) LIMIT {SHOWN}")
    if not found:
        return None
    return f"{_describe(cons)} fails for {', '.join(_key_text(plan, r) for r in found)}"


def _nulls(connection: Any, derived: str, keys: list[str], plan: Any) -> list[str]:
    out = []
    for col in plan.definition.columns:
        if col.nullable or col.name.lower() not in {c.lower() for c in plan.insert_columns}:
            continue
        found = _rows(connection, f"SELECT {', '.join(keys)} FROM {derived} WHERE {quote(col.name)} IS NULL LIMIT {SHOWN}")
        if found:
            out.append(f"NOT NULL ({col.name}) fails for {', '.join(_key_text(plan, r) for r in found)}")
    return out


def _missing(connection: Any, plan: Any) -> str | None:
    """Rows of the old table whose rowid is not in the new one (when rows keep their rowid)."""
    if not plan.keeps_rowid:
        return None
    keys = ", ".join(expr for _, expr in plan.row_key)
    found = _rows(
        connection,
        f"SELECT {keys} FROM {quote(plan.table)} WHERE {plan.rowid_name} NOT IN "
        f"(SELECT {plan.new_rowid_name} FROM {quote(plan.temp_name)}) LIMIT {SHOWN}",
    )
    return f"missing after the copy: {', '.join(_key_text(plan, r) for r in found)}" if found else None


def rows_lost(connection: Any, plan: Any, count_before: int, error: str | None) -> RebuildWouldLoseRows:
    """The refusal for a copy that failed (``error``) or kept fewer rows than ``count_before``."""
    lost = None
    if error is None:
        try:
            lost = count_before - int(connection.exec_driver_sql(f"SELECT count(*) FROM {quote(plan.temp_name)}").scalar())
        except sa_exc.DBAPIError:
            lost = None
    problems: list[str] = []
    missing = _missing(connection, plan) if error is None else None
    derived, keys = _derived(plan)
    for _owner, cons in plan.definition.constraints():
        if cons.kind in ("unique", "primary"):
            found = _collisions(connection, plan, derived, keys, cons)
        elif cons.kind == "check" and cons.check:
            found = _violations(connection, derived, keys, plan, cons)
        else:
            found = None
        if found:
            problems.append(found)
    problems.extend(_nulls(connection, derived, keys, plan))
    if missing:
        problems.append(missing)
    if not problems and error:
        problems.append(error)
    return RebuildWouldLoseRows(plan.table, problems, lost)
