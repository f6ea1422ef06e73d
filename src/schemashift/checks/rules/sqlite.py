"""SQLite rules: table rebuilds and the ALTER forms SQLite refuses (SS-S5xx).

SQLite's ALTER TABLE only renames, adds a column (with limits) and drops a
column; everything else is a rebuild (a new table, every row copied), which
``op.batch_alter_table`` and ``op.rebuild_table`` do, and which an ``op.*``
call outside them cannot do: the statement fails.
"""

from __future__ import annotations

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
    if action.batch and action.recreate == "always" and action.kind != "rebuild" and not action.extra.get("convert"):
        return []  # a part of op.rebuild_table: the rebuild itself is reported once
    if rebuilds(action):
        if not ctx.existing(action):
            return []
        rows, _ = ctx.count(action)
        copied = f", copying {rows:,} row{'s' if rows != 1 else ''}" if rows is not None else ""
        return [ctx.finding("SS-S501", f"rebuilds table {t(action)}{copied}", action, rows=rows)]
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
