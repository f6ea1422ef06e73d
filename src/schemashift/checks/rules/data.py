"""Data-dependent rules: changes the rows present would make fail (SS-N2xx).

Each is checked against the live rows, with a count and a few example keys,
so the plan says "3 rows of users.email are NULL (e.g. id=4, 9, 17)" before
the migration fails half way.  A table whose rows the plan changes earlier
(a backfill ``UPDATE``) cannot be judged from today's rows: the finding then
says so and stays informational.
"""

from __future__ import annotations

from typing import Any

from ..actions import Action
from ..findings import Finding
from . import Context, t

EXAMPLES = 3


def check(action: Action, ctx: Context) -> list[Finding]:
    if ctx.facts is None and action.kind == "add_column" and action.not_null and not action.has_default \
            and action.table and ctx.existing(action):
        # lint: rows unknown, but the table exists before this revision, so in production it may hold some
        return [ctx.finding("SS-N203", f"adds NOT NULL column {t(action)}.{action.column} without a server default "
                            "to an existing table (it fails if the table holds rows)", action)]
    kind = action.kind
    relevant = (kind == "add_column" and action.not_null and not action.has_default) or kind in (
        "set_not_null", "add_unique", "add_check", "add_fk") or (kind == "create_index" and action.unique)
    if not relevant or ctx.facts is None or not action.table or not ctx.existing(action):
        return []
    if kind == "add_column":
        return _not_null_column(action, ctx)
    if action.table in ctx.facts.written:
        return [ctx.finding(_RULE[kind if kind != "create_index" else "add_unique"],
                            f"{_what(action)}: not checked against today's rows, the plan changes {t(action)} first",
                            action, level="info")]
    if kind == "set_not_null":
        if action.extra.get("was_not_null"):
            return []
        return _nulls(action, ctx)
    if kind in ("add_unique", "create_index"):
        return _duplicates(action, ctx)
    if kind == "add_check":
        return _violations(action, ctx, f"NOT ({action.condition})" if action.condition else None, "SS-N204")
    if kind == "add_fk":
        return _orphans(action, ctx)
    return []


_RULE = {"set_not_null": "SS-N202", "add_unique": "SS-N201", "add_check": "SS-N204", "add_fk": "SS-N205"}


def _what(action: Action) -> str:
    return {
        "set_not_null": f"SET NOT NULL on {t(action)}.{action.column}",
        "add_unique": f"UNIQUE on {t(action)} ({', '.join(action.columns)})",
        "create_index": f"unique index on {t(action)} ({', '.join(action.columns)})",
        "add_check": f"CHECK on {t(action)}",
        "add_fk": f"FOREIGN KEY on {t(action)} ({', '.join(action.columns)})",
    }.get(action.kind, action.kind)


def _key_sql(ctx: Context, action: Action) -> str:
    """An expression naming a row: its primary key, else the first column."""
    prep = ctx.dialect.identifier_preparer
    try:
        pk = ctx.facts.inspector().get_pk_constraint(ctx.facts.live_name(action.table), schema=action.schema)  # type: ignore[union-attr]
        cols = pk.get("constrained_columns") or []
    except Exception:
        cols = []
    if not cols:
        live = ctx.facts.columns(action.table, action.schema) or {}  # type: ignore[union-attr]
        cols = list(live)[:1]
    return ", ".join(prep.quote(c) for c in cols) or "1"


def _rows(ctx: Context, sql: str) -> list[Any] | None:
    return ctx.facts.query(sql)  # type: ignore[union-attr]


def _violations(action: Action, ctx: Context, predicate: str | None, rule: str, message: str | None = None) -> list[Finding]:
    if not predicate:
        return []
    table = ctx.facts.quoted(action.table, action.schema)  # type: ignore[union-attr,arg-type]
    counted = _rows(ctx, f"SELECT count(*) FROM {table} WHERE {predicate}")
    if not counted or not counted[0][0]:
        return []
    n = int(counted[0][0])
    keys = _rows(ctx, f"SELECT {_key_sql(ctx, action)} FROM {table} WHERE {predicate} LIMIT {EXAMPLES}") or []
    examples = [row[0] if len(row) == 1 else tuple(row) for row in keys]
    text = message or f"{_what(action)}: {n:,} row{'s' if n != 1 else ''} violate it"
    return [ctx.finding(rule, text, action, rows=n, examples=examples, source="data")]


def _nulls(action: Action, ctx: Context) -> list[Finding]:
    cols = ctx.facts.columns(action.table, action.schema)  # type: ignore[union-attr,arg-type]
    if not cols or action.column not in cols:
        return []
    col = ctx.dialect.identifier_preparer.quote(action.column)
    found = _violations(action, ctx, f"{col} IS NULL", "SS-N202")
    for f in found:
        f.message = f"SET NOT NULL on {t(action)}.{action.column}: {f.rows:,} row{'s' if f.rows != 1 else ''} hold NULL"
    return found


def _not_null_column(action: Action, ctx: Context) -> list[Finding]:
    rows, est = ctx.count(action)
    if not rows:
        return []
    about = "about " if est else ""
    return [ctx.finding("SS-N203", f"adds NOT NULL column {t(action)}.{action.column} without a server default "
                        f"to {about}{rows:,} existing row{'s' if rows != 1 else ''}", action, rows=rows, estimated=est,
                        source="data")]


def _duplicates(action: Action, ctx: Context) -> list[Finding]:
    cols = ctx.facts.columns(action.table, action.schema) or {}  # type: ignore[union-attr,arg-type]
    if not action.columns or any(c not in cols for c in action.columns):
        return []
    prep = ctx.dialect.identifier_preparer
    group = ", ".join(prep.quote(c) for c in action.columns)
    not_null = " AND ".join(f"{prep.quote(c)} IS NOT NULL" for c in action.columns)
    table = ctx.facts.quoted(action.table, action.schema)  # type: ignore[union-attr,arg-type]
    dupes = _rows(ctx, f"SELECT {group}, count(*) FROM {table} WHERE {not_null} GROUP BY {group} HAVING count(*) > 1")
    if not dupes:
        return []
    n = sum(int(row[-1]) for row in dupes)
    examples = [row[0] if len(row) == 2 else tuple(row[:-1]) for row in dupes[:EXAMPLES]]
    return [ctx.finding("SS-N201", f"{_what(action)}: {len(dupes):,} duplicated value{'s' if len(dupes) != 1 else ''} "
                        f"in {n:,} rows", action, rows=n, examples=examples, source="data")]


def _orphans(action: Action, ctx: Context) -> list[Finding]:
    if not action.columns or not action.ref_table or len(action.columns) != len(action.ref_columns):
        return []
    if ctx.facts.is_new(action.ref_table) or not ctx.facts.exists(action.ref_table, action.extra.get("ref_schema")):  # type: ignore[union-attr]
        return []
    prep = ctx.dialect.identifier_preparer
    ref = ctx.facts.quoted(action.ref_table, action.extra.get("ref_schema"))  # type: ignore[union-attr]
    join = " AND ".join(f"r.{prep.quote(rc)} = s.{prep.quote(lc)}" for lc, rc in zip(action.columns, action.ref_columns))
    not_null = " AND ".join(f"s.{prep.quote(c)} IS NOT NULL" for c in action.columns)
    predicate = f"{not_null} AND NOT EXISTS (SELECT 1 FROM {ref} r WHERE {join})"
    table = ctx.facts.quoted(action.table, action.schema)  # type: ignore[union-attr,arg-type]
    counted = _rows(ctx, f"SELECT count(*) FROM {table} s WHERE {predicate}")
    if not counted or not counted[0][0]:
        return []
    n = int(counted[0][0])
    sel = ", ".join(f"s.{prep.quote(c)}" for c in action.columns)
    keys = _rows(ctx, f"SELECT {sel} FROM {table} s WHERE {predicate} LIMIT {EXAMPLES}") or []
    examples = [row[0] if len(row) == 1 else tuple(row) for row in keys]
    return [ctx.finding("SS-N205", f"{_what(action)} -> {action.ref_table}: {n:,} row{'s' if n != 1 else ''} point at "
                        "no existing key", action, rows=n, examples=examples, source="data")]
