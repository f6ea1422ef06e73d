"""Destructive rules: what deletes rows or values (SS-D1xx).

A destructive operation on something empty puts nothing at stake: with live
data it is reported at info level instead of refused.
"""

from __future__ import annotations

from typing import Any

from ..actions import Action
from ..findings import Finding
from ...runtime.watch import savepoint_possible
from . import Context, t


def check(action: Action, ctx: Context) -> list[Finding]:
    kind = action.kind
    if kind == "drop_table":
        return _drop_table(action, ctx)
    if kind == "drop_column":
        return _drop_column(action, ctx)
    if kind == "drop_schema":
        return [ctx.finding("SS-D103", f"drops schema {action.schema} and everything in it", action)]
    if kind in ("truncate", "delete_all"):
        rows, est = ctx.count(action)
        verb = "truncates" if kind == "truncate" else "deletes every row of"
        return [_at_stake(ctx, "SS-D104", f"{verb} {t(action)}", action, rows, est)]
    if kind == "alter_type":
        return _lossy(action, ctx)
    if kind == "drop_fk":
        return [ctx.finding("SS-D106", f"drops foreign key {action.new_name or '(unnamed)'} on {t(action)}", action)]
    return []


def _at_stake(ctx: Context, rule: str, message: str, action: Action, rows: int | None, est: bool,
              what: str = "row") -> Finding:
    if rows is not None:
        if rows == 0:
            return ctx.finding(rule, f"{message} (empty: nothing at stake)", action, level="info", rows=0)
        about = "about " if est else ""
        message = f"{message} holding {about}{rows:,} {what}{'s' if rows != 1 else ''}"
    return ctx.finding(rule, message, action, rows=rows, estimated=est)


def _drop_table(action: Action, ctx: Context) -> list[Finding]:
    rows, est = ctx.count(action)
    rule = "SS-D107" if ctx.direction == "down" else "SS-D101"
    verb = "downgrade drops table" if ctx.direction == "down" else "drops table"
    finding = _at_stake(ctx, rule, f"{verb} {t(action)}", action, rows, est)
    if rows and ctx.name == "sqlite" and ctx.facts is not None:
        effects = sqlite_drop_effects(ctx.facts, action.table, action.schema)
        if effects:
            finding.message += "; with foreign keys on, SQLite's DROP TABLE also " + ", ".join(effects)
    return [finding]


_DROP_ACTIONS = {"CASCADE": "deletes", "SET NULL": "sets to NULL", "SET DEFAULT": "sets to its default"}


def sqlite_drop_effects(facts: Any, table: str | None, schema: str | None) -> list[str]:
    """What else a DROP TABLE changes on SQLite with enforcement on.

    SQLite runs an implicit ``DELETE FROM`` before dropping a table, and that
    delete fires the ON DELETE actions of every table referencing it (plain
    Alembic's drop_table does so too), so the rows at stake are not only the
    dropped table's.  Tables the plan already dropped or just created hold none.
    """
    if not table or facts.query("PRAGMA foreign_keys") != [(1,)]:
        return []
    prep = facts.dialect.identifier_preparer
    prefix = f"{prep.quote_schema(schema)}." if schema else ""
    live = facts.live_name(table)
    # every foreign key to the table with an ON DELETE action, in one read (as safety.rebuild.referencing_tables)
    found = facts.query(
        f'SELECT m.name, f.id, f."from", upper(f.on_delete) FROM {prefix}sqlite_master AS m, '
        'pragma_foreign_key_list(m.name, :schema) AS f WHERE m.type = \'table\' '
        'AND f."table" = :parent COLLATE NOCASE AND m.name <> :parent COLLATE NOCASE '
        "AND upper(f.on_delete) IN ('CASCADE', 'SET NULL', 'SET DEFAULT') ORDER BY m.rowid, f.id, f.seq",
        schema=schema or "main", parent=live,
    ) or []
    keys: dict[tuple[str, int], tuple[str, list[str]]] = {}
    for child, fk_id, column, action in found:
        if child not in facts.dropped and not facts.is_new(child):
            keys.setdefault((child, fk_id), (action, []))[1].append(column)
    effects = []
    for (child, _), (action, columns) in keys.items():
        present = " AND ".join(f"{prep.quote(c)} IS NOT NULL" for c in columns)
        counted = facts.query(f"SELECT count(*) FROM {prefix}{prep.quote(child)} WHERE {present}")
        referencing = int(counted[0][0]) if counted else 0
        if not referencing:
            continue
        rows = f"{referencing:,} row{'s' if referencing != 1 else ''}"
        if action == "CASCADE":
            effects.append(f"deletes {rows} of {child} (ON DELETE CASCADE)")
        else:
            effects.append(f"{_DROP_ACTIONS[action]} {child}.{', '.join(columns)} in {rows} (ON DELETE {action})")
    return effects


def _drop_column(action: Action, ctx: Context) -> list[Finding]:
    values = None
    if ctx.facts is not None and action.table and not ctx.facts.is_new(action.table):
        cols = ctx.facts.columns(action.table, action.schema)
        if cols is not None and action.column in cols:
            values = ctx.facts.non_null(action.table, action.column, action.schema)
        elif cols is not None:
            values = 0  # the column is added earlier in this plan: empty
    elif ctx.facts is not None:
        values = 0
    rule = "SS-D107" if ctx.direction == "down" else "SS-D102"
    verb = "downgrade drops column" if ctx.direction == "down" else "drops column"
    return [_at_stake(ctx, rule, f"{verb} {t(action)}.{action.column}", action, values, False, what="value")]


def _lossy(action: Action, ctx: Context) -> list[Finding]:
    """A type change some live values do not survive (counted with the conversion planner's own checks)."""
    if ctx.facts is None or action.new_type is None or not action.table or ctx.facts.is_new(action.table):
        return []
    cols = ctx.facts.columns(action.table, action.schema)
    if not cols or action.column not in cols:
        return []
    old_type = action.old_type if action.old_type is not None else cols[action.column]["type"]
    from ...safety.casts import plan_cast

    try:
        plan = plan_cast(ctx.dialect, action.column, old_type, action.new_type, action.extra.get("using"))
    except Exception:
        return []
    if not plan.checks:
        return []
    conn = ctx.facts.connection
    lost = 0
    examples: list[object] = []
    reasons = []
    nested = conn.begin_nested() if savepoint_possible(conn) else None
    try:
        for sql in plan.helpers:  # pg_temp functions, rolled back below
            conn.exec_driver_sql(sql)
        from ...safety.precheck import measure

        for report in measure(conn, plan.loss_checks(ctx.facts.live_name(action.table), action.column, action.schema)):
            if report.count:
                lost += report.count
                examples.extend(report.examples)
                reasons.append(report.check.reason)
    except Exception:
        return []
    finally:
        if nested is not None:
            nested.rollback()
    if not lost:
        return []
    allowed = action.allow_loss or ctx.allow_loss
    # convert_column and rebuild_table count the loss again as they run and refuse by themselves
    level = "warning" if allowed or action.extra.get("self_checking") else None
    why = "; ".join(dict.fromkeys(reasons))
    message = f"converting {t(action)}.{action.column} loses data in {lost:,} row{'s' if lost != 1 else ''} ({why})"
    if allowed:
        message += "; loss allowed (allow_loss=True or --allow-loss)"
    elif action.extra.get("self_checking"):
        message += "; the operation refuses by itself unless allow_loss"
    return [ctx.finding("SS-D105", message, action, level=level, rows=lost, examples=examples[:3], source="data")]
