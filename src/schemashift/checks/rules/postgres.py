"""PostgreSQL lock and rewrite rules (SS-P4xx), aware of the server version.

What each statement locks and whether it rewrites the table comes from
PostgreSQL's documentation of ALTER TABLE / CREATE INDEX (the lock level
of each subcommand) and the release notes for what stopped rewriting:
PostgreSQL 11 adds a column with a non-volatile default without rewriting,
PostgreSQL 12 skips the SET NOT NULL scan when a valid CHECK proves it.
``--trace`` replaces these guesses with what the server really did.
"""

from __future__ import annotations

from typing import Any

from ..actions import Action
from ..findings import Finding
from . import Context, t

ACCESS_EXCLUSIVE = "ACCESS EXCLUSIVE"
_LOCKS = {
    "drop_table": ACCESS_EXCLUSIVE, "add_column": ACCESS_EXCLUSIVE, "drop_column": ACCESS_EXCLUSIVE,
    "alter_type": ACCESS_EXCLUSIVE, "set_not_null": ACCESS_EXCLUSIVE, "drop_not_null": ACCESS_EXCLUSIVE,
    "set_default": ACCESS_EXCLUSIVE, "add_check": ACCESS_EXCLUSIVE, "add_unique": ACCESS_EXCLUSIVE,
    "add_pk": ACCESS_EXCLUSIVE, "rename_table": ACCESS_EXCLUSIVE, "rename_column": ACCESS_EXCLUSIVE,
    "truncate": ACCESS_EXCLUSIVE, "drop_constraint": ACCESS_EXCLUSIVE, "drop_fk": ACCESS_EXCLUSIVE,
    "add_fk": "SHARE ROW EXCLUSIVE", "validate_constraint": "SHARE UPDATE EXCLUSIVE",
    "create_index": "SHARE", "drop_index": ACCESS_EXCLUSIVE, "write": "ROW EXCLUSIVE", "delete_all": "ROW EXCLUSIVE",
    "alter_table": ACCESS_EXCLUSIVE,
}


def version(ctx: Context) -> tuple[int, ...]:
    if ctx.pg_version:
        return ctx.pg_version
    if ctx.facts is not None and ctx.facts.server_version:
        return tuple(ctx.facts.server_version)
    return (16,)


def locks_a_table(action: Action) -> bool:
    """Whether the action takes a table lock at all (creating a table does not): no need to look it up."""
    return action.kind in _LOCKS


def lock_of(action: Action, ctx: Context) -> tuple[str | None, bool]:
    """The table lock the action takes, and whether it rewrites the table (PostgreSQL)."""
    if action.kind in ("create_index", "drop_index") and action.concurrently:
        return "SHARE UPDATE EXCLUSIVE", False
    lock = _LOCKS.get(action.kind)
    if action.kind == "alter_type":
        return lock, rewrites(action, ctx)
    if action.kind == "add_column":
        return lock, _default_rewrites(action, ctx)
    return lock, False


def _default_rewrites(action: Action, ctx: Context) -> bool:
    if not action.has_default:
        return False
    return action.volatile_default or version(ctx) < (11,)


def _type_info(type_: Any, ctx: Context) -> Any:
    from ...schema.types import describe_type

    if type_ is None:
        return None
    if isinstance(type_, str):
        return None
    try:
        return describe_type(type_, ctx.dialect)
    except Exception:
        return None


def _parse_type(type_sql: str | None, ctx: Context) -> Any:
    """A type written in SQL, as a SQLAlchemy type (via the dialect's own name table)."""
    if not type_sql:
        return None
    import re

    import sqlalchemy as sa

    match = re.match(r"\s*([A-Za-z ]+?)\s*(?:\((\d+)(?:\s*,\s*(\d+))?\))?\s*$", type_sql)
    if not match:
        return None
    name, a, b = match.group(1).lower(), match.group(2), match.group(3)
    names = {"varchar": sa.String, "character varying": sa.String, "text": sa.Text, "int": sa.Integer,
             "integer": sa.Integer, "bigint": sa.BigInteger, "smallint": sa.SmallInteger, "numeric": sa.Numeric,
             "decimal": sa.Numeric, "timestamptz": lambda: sa.DateTime(timezone=True),
             "timestamp": sa.DateTime, "boolean": sa.Boolean, "uuid": sa.Uuid}
    factory = names.get(name)
    if factory is None:
        return None
    if factory is sa.String and a:
        return sa.String(int(a))
    if factory is sa.Numeric and a:
        return sa.Numeric(int(a), int(b or 0))
    return factory()


def rewrites(action: Action, ctx: Context) -> bool:
    """Whether a type change rewrites the table: False only for PostgreSQL's known binary-compatible changes."""
    new = action.new_type if action.new_type is not None else _parse_type(action.type_sql, ctx)
    old = action.old_type
    if old is None and ctx.facts is not None and action.table and action.column:
        cols = ctx.facts.columns(action.table, action.schema) or {}
        if action.column in cols:
            old = cols[action.column]["type"]
    o, n = _type_info(old, ctx), _type_info(new, ctx)
    if o is None or n is None:
        return True  # unknown: assume the worst, --trace can tell
    if action.extra.get("using"):
        return True
    if o.sql == n.sql:
        return False
    if o.family == "string" and n.family == "string":
        # varchar(n) -> varchar(m >= n), varchar -> text/varchar: no rewrite (PostgreSQL 9.2+)
        return n.length is not None and (o.length is None or n.length < o.length)
    if o.family == "numeric" and n.family == "numeric":
        op_, os_ = getattr(old, "precision", None), getattr(old, "scale", None)
        np_, ns_ = getattr(new, "precision", None), getattr(new, "scale", None)
        if np_ is None:
            return False  # numeric(p,s) -> numeric: no rewrite
        return not (op_ is not None and np_ >= op_ and (ns_ or 0) == (os_ or 0))
    if o.family == "datetime" and n.family == "datetime" and not o.timezone and n.timezone:
        return not (version(ctx) >= (12,) and _session_utc(ctx))
    return True


def _session_utc(ctx: Context) -> bool:
    if ctx.facts is None:
        return False
    rows = ctx.facts.query("SHOW TimeZone")
    return bool(rows) and str(rows[0][0]).upper() in ("UTC", "ETC/UTC", "GMT", "ZULU", "UCT")


def _existing_rows(action: Action, ctx: Context) -> str:
    rows, est = ctx.count(action)
    if rows is None:
        return ""
    return f" ({'about ' if est else ''}{rows:,} row{'s' if rows != 1 else ''})"


def _validated_not_null_check(action: Action, ctx: Context) -> bool:
    """A valid CHECK (col IS NOT NULL) exists on the live table (PostgreSQL 12+ then skips the scan)."""
    if ctx.facts is None:
        return bool(ctx.lock_timeout and False)
    rows = ctx.facts.query(
        "SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid "
        "JOIN pg_namespace n ON n.oid = r.relnamespace WHERE c.contype = 'c' AND c.convalidated "
        "AND r.relname = :t AND n.nspname = coalesce(:s, current_schema())",
        t=ctx.facts.live_name(action.table or ""), s=action.schema,
    ) or []
    col = (action.column or "").lower()
    for (definition,) in rows:
        text = " ".join(str(definition).lower().replace('"', "").replace("(", " ").replace(")", " ").split())
        if f"{col} is not null" in text:
            return True
    return False


_CHECKED = {"create_index", "drop_index", "add_fk", "add_check", "set_not_null", "alter_type", "add_column", "add_pk",
            "add_unique"}


def check(action: Action, ctx: Context) -> list[Finding]:
    if ctx.name != "postgresql" or action.kind not in _CHECKED or not ctx.existing(action):
        return []
    kind = action.kind
    counted, _ = ctx.count(action)
    if counted == 0:
        return []  # an empty table is locked for an instant and rewritten for free
    rows = _existing_rows(action, ctx)
    out: list[Finding] = []
    if kind == "create_index" and not action.concurrently:
        out.append(ctx.finding("SS-P401", f"CREATE INDEX {action.new_name or ''} on {t(action)}{rows} blocks writes "
                               "while it builds", action))
    elif kind == "drop_index" and not action.concurrently:
        out.append(ctx.finding("SS-P402", f"DROP INDEX {action.new_name or ''} locks {t(action)} ACCESS EXCLUSIVE", action))
    elif kind == "add_fk" and not action.not_valid:
        out.append(ctx.finding("SS-P403", f"FOREIGN KEY on {t(action)}{rows} validated while writes wait", action))
    elif kind == "add_check" and not action.not_valid:
        out.append(ctx.finding("SS-P404", f"CHECK on {t(action)}{rows} scans the table under ACCESS EXCLUSIVE", action))
    elif kind == "set_not_null" and not action.extra.get("was_not_null"):
        if not (version(ctx) >= (12,) and _validated_not_null_check(action, ctx)):
            out.append(ctx.finding("SS-P405", f"SET NOT NULL on {t(action)}.{action.column}{rows} scans the table "
                                   "under ACCESS EXCLUSIVE", action))
    elif kind == "alter_type" and rewrites(action, ctx):
        out.append(ctx.finding("SS-P406", f"type change of {t(action)}.{action.column}{rows} rewrites the table "
                               "under ACCESS EXCLUSIVE", action))
    elif kind == "add_column" and _default_rewrites(action, ctx):
        why = "a volatile default" if action.volatile_default else "a default before PostgreSQL 11"
        out.append(ctx.finding("SS-P407", f"ADD COLUMN {t(action)}.{action.column} with {why} rewrites the table{rows}",
                               action))
    elif kind in ("add_pk", "add_unique") and not action.extra.get("using_index"):
        what = "PRIMARY KEY" if kind == "add_pk" else "UNIQUE"
        out.append(ctx.finding("SS-P408", f"ADD {what} on {t(action)}{rows} builds its index under ACCESS EXCLUSIVE",
                               action))
    return out
