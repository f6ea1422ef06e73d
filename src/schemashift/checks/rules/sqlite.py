"""SQLite rules: table rebuilds and the ALTER forms SQLite refuses (SS-S5xx).

SQLite's ALTER TABLE only renames, adds a column (with limits) and drops a
column; everything else is a rebuild (a new table, every row copied), which
``op.batch_alter_table`` and ``op.rebuild_table`` do, and which an ``op.*``
call outside them cannot do: the statement fails.
"""

from __future__ import annotations

from typing import Any

from ..actions import Action
from ..findings import Finding
from . import Context, t

# what Alembic's batch mode recreates the table for on SQLite (its requires_recreate_in_batch)
_NEEDS_REBUILD = {"alter_type", "set_not_null", "drop_not_null", "set_default", "add_fk", "drop_fk", "add_check",
                  "add_unique", "add_pk", "drop_constraint", "drop_column", "rename_column", "alter_column"}
_NO_ALTER = {"alter_type", "set_not_null", "drop_not_null", "set_default", "add_fk", "drop_fk", "add_check",
             "add_unique", "add_pk", "drop_constraint", "alter_column"}
_NON_CONSTANT = ("current_timestamp", "current_date", "current_time", "(")


def rebuilds(action: Action) -> bool:
    if action.kind == "rebuild":
        return True
    if action.extra.get("convert"):
        return True  # convert_column rebuilds on SQLite
    if not action.batch:
        return False
    if action.recreate == "always":
        return True
    if action.recreate == "never":
        return False
    if action.kind == "add_column":
        return bool(action.has_default and action.extra.get("default_sql", "").strip().startswith("("))
    return action.kind in _NEEDS_REBUILD


def check(action: Action, ctx: Context) -> list[Finding]:
    if ctx.name != "sqlite":
        return []
    if action.extra.get("rebuild_part"):
        return []  # a part of op.rebuild_table: the rebuild itself is reported once
    if rebuilds(action):
        if not ctx.existing(action):
            return []
        rows, _ = ctx.count(action)
        copied = f", copying {rows:,} row{'s' if rows != 1 else ''}" if rows is not None else ""
        found = [ctx.finding("SS-S501", f"rebuilds table {t(action)}{copied}", action, rows=rows)]
        lost = _unseen_by_reflection(action, ctx) if action.batch and action.kind != "rebuild" else []
        if lost:
            found.append(ctx.finding(
                "SS-S503", f"batch rebuild of {t(action)} loses {', '.join(lost)} (use op.rebuild_table)", action,
            ))
        naming = _views_naming(action, ctx) if action.batch and action.kind != "rebuild" else []
        if naming:
            found.append(ctx.finding(
                "SS-S502", f"batch rebuild of {t(action)} fails: {', '.join(naming)} name{'s' if len(naming) == 1 else ''} "
                "it, and SQLite checks them when the new table is renamed (use op.rebuild_table, which keeps them)",
                action,
            ))
        return found
    if action.batch:
        return []
    if action.kind in _NO_ALTER and not action.extra.get("convert"):
        return [ctx.finding("SS-S502", f"{action.kind.replace('_', ' ')} on {t(action)} outside a batch block: "
                            "SQLite has no ALTER for it", action)]
    if action.kind == "add_column":
        default = (action.extra.get("default_sql") or "").lower()
        if action.not_null and not action.has_default:
            return [ctx.finding("SS-S502", f"adds NOT NULL column {t(action)}.{action.column} without a default: "
                                "SQLite refuses it even on an empty table", action)]
        if action.extra.get("primary_key") or action.extra.get("unique"):
            return [ctx.finding("SS-S502", f"adds a PRIMARY KEY or UNIQUE column {t(action)}.{action.column}: "
                                "SQLite refuses it", action)]
        if default and any(default.startswith(p) for p in _NON_CONSTANT):
            return [ctx.finding("SS-S502", f"adds column {t(action)}.{action.column} with a non-constant default "
                                f"({default}): SQLite refuses it", action)]
    return []


def _unseen_by_reflection(action: Action, ctx: Context) -> list[str]:
    """What of the table a rebuild from SQLAlchemy's reflection drops or changes: its
    triggers, and indexes on an expression or with DESC/COLLATE (read from ``sqlite_master``)."""
    if ctx.facts is None or action.extra.get("convert"):
        return []
    rows = _schema_rows(action, ctx, "tbl_name = :table COLLATE NOCASE AND type IN ('table', 'trigger', 'index')")
    lost = []
    for kind, name, sql in rows:
        if kind == "table":
            lost += _table_clauses_lost(ctx, name, action.schema, sql)
        elif kind == "trigger":
            lost.append(f"trigger {name}")
        elif any(not _plain_column(term) for term in _index_terms(sql)):
            lost.append(f"the expression, DESC or COLLATE of index {name}")
    return lost


def _schema_rows(action: Action, ctx: Context, where: str) -> list[Any]:
    """(type, name, sql) rows of the action's schema's ``sqlite_master`` matching ``where`` (``:table`` bound)."""
    assert ctx.facts is not None
    quote_schema = ctx.dialect.identifier_preparer.quote_schema
    master = f"{quote_schema(action.schema)}.sqlite_master" if action.schema else "sqlite_master"
    return ctx.facts.query(
        f"SELECT type, name, sql FROM {master} WHERE {where} AND sql IS NOT NULL ORDER BY type DESC, name",
        table=action.table,
    ) or []


def _views_naming(action: Action, ctx: Context) -> list[str]:
    """Views, and triggers of other tables, whose SQL names the table: batch mode drops the table, then
    renames its copy, and SQLite (``legacy_alter_table`` off) re-reads every one of them then, failing
    on the table it cannot find.  Matched on the identifiers of the SQL (strings are not names)."""
    if ctx.facts is None:
        return []
    rows = _schema_rows(action, ctx, "(type = 'view' OR (type = 'trigger' AND tbl_name <> :table COLLATE NOCASE))")
    if not rows:
        return []
    from ...schema.sql import tokenize  # start-up time: its tokenizer's pattern costs every run's plan

    wanted = (action.table or "").lower()
    out = []
    for kind, name, sql in rows:
        names = {token.ident.lower() for token in tokenize(sql) if token.kind in ("word", "quoted")}
        if wanted in names:
            out.append(f"{kind} {name}")
    return out


def _index_terms(sql: str) -> list[str]:
    """The key terms of a CREATE INDEX (``safety.snapshot``, imported only by a plan that rebuilds a
    table with an index: every run plans, few rebuild)."""
    from ...safety.snapshot import sqlite_index_terms

    return sqlite_index_terms(sql)[0]


def _plain_column(term: str) -> bool:
    """``c`` or ``"c" ASC``: a key reflection describes fully."""
    from ...schema.sql import tokenize  # start-up time: its tokenizer's pattern costs every run's plan

    words = tokenize(term)
    return len(words) == 1 or (len(words) == 2 and words[1].upper == "ASC")


def _table_clauses_lost(ctx: Context, table: str, schema: str | None, sql: str) -> list[str]:
    """Clauses of the table's own SQL that its reflection, compiled again, no longer has
    (AUTOINCREMENT, a column's COLLATE, an unnamed CHECK, ON DELETE/UPDATE, DEFERRABLE):
    what a batch rebuild's new table lacks (batch mode also leaves out unnamed CHECKs).
    Measured against this SQLAlchemy's reflection, so a clause a later version carries
    over is not named."""
    import sqlalchemy as sa
    from sqlalchemy.schema import CreateTable

    from ...schema.reflection import expression_index_skips_hidden

    assert ctx.facts is not None
    try:
        with expression_index_skips_hidden():  # this rule reads them from sqlite_master
            reflected = sa.Table(table, sa.MetaData(), schema=schema, autoload_with=ctx.facts.connection)
        for constraint in list(reflected.constraints):  # batch mode does not copy these (it cannot tell
            if isinstance(constraint, sa.CheckConstraint) and not constraint.name:  # a type's own CHECK apart)
                reflected.constraints.discard(constraint)
        again = str(CreateTable(reflected).compile(dialect=ctx.facts.connection.dialect))
    except Exception:  # reflection this rule cannot do: SS-S501 still says a rebuild happens
        return []
    from ...schema.sqlite_clauses import table_clauses

    missing = table_clauses(sql) - table_clauses(again)
    return sorted(missing.elements())
