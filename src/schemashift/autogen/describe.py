"""One readable line per operation of an autogenerate result.

``describe_ops(upgrade_ops)`` is what ``schemashift check`` prints as drift.
Alembic's ``UpgradeOps.as_diffs()`` raises on rename ops (and its tuples are
not meant for people), so this walks the ops itself: every op Alembic's
autogenerate produces, the rename ops of ``rename_ops.py``, and a generic line
for anything else.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

from alembic.operations import ops
from sqlalchemy.engine import Dialect

from ..schema.kinds import word
from ..schema.sql import default_value
from .renames.facts import expr_name, type_sql
from .renames.ops import RenameObjectOp, RenameObjectSQL



def _t(schema: str | None, table: str | None) -> str:
    return f"{schema}.{table}" if schema else str(table)


def _type(type_: Any, dialect: Dialect | None) -> str:
    if type_ is None:
        return "?"
    return type_sql(type_, dialect)


def _cols(cols: Iterable[Any]) -> str:
    out = []
    for c in cols:
        name = expr_name(c)
        out.append(name if name is not None else str(c))
    return ", ".join(out)


def _default(value: Any) -> str:
    if value is None or value is False:
        return "none"
    text = default_value(value)
    return repr(text) if text is not None else "none"


def _alter_column(op: ops.AlterColumnOp, d: Dialect | None) -> list[str]:
    where = f"{_t(op.schema, op.table_name)}.{op.column_name}"
    out = []
    if op.modify_name is not None:
        out.append(f"rename column {where} to {op.modify_name}")
        where = f"{_t(op.schema, op.table_name)}.{op.modify_name}"
    if op.modify_type is not None:
        out.append(f"alter column {where} type {_type(op.existing_type, d)} -> {_type(op.modify_type, d)}")
    if op.modify_nullable is not None:
        before = "NULL" if op.existing_nullable else "NOT NULL"
        after = "NULL" if op.modify_nullable else "NOT NULL"
        if op.existing_nullable is None:
            out.append(f"alter column {where} {after}")
        else:
            out.append(f"alter column {where} {before} -> {after}")
    if op.modify_server_default is not False:
        out.append(
            f"alter column {where} server default {_default(op.existing_server_default)} -> "
            f"{_default(op.modify_server_default)}"
        )
    if op.modify_comment is not False:
        out.append(f"alter column {where} comment {op.existing_comment!r} -> {op.modify_comment!r}")
    for k, v in op.kw.items():
        if k.startswith("modify_"):
            out.append(f"alter column {where} {k[len('modify_'):]} -> {v!r}")
    return out or [f"alter column {where}"]


def describe_op(op: Any, dialect: Dialect | None = None) -> list[str]:
    """Lines describing one op (a ModifyTableOps gives one line per contained op)."""
    d = dialect
    if isinstance(op, (ops.ModifyTableOps, ops.UpgradeOps, ops.DowngradeOps)):
        return [line for sub in op.ops for line in describe_op(sub, d)]
    if isinstance(op, ops.RenameTableOp):
        return [f"rename table {_t(op.schema, op.table_name)} to {op.new_table_name}"]
    if isinstance(op, (RenameObjectSQL, RenameObjectOp)):
        kind = word(op.kind)
        return [f"rename {kind} {op.old_name} to {op.new_name} (table {_t(op.schema, op.table_name)})"]
    if isinstance(op, ops.AlterColumnOp):
        return _alter_column(op, d)
    if isinstance(op, ops.CreateTableOp):
        n = sum(1 for c in op.columns if c.__class__.__name__ == "Column" or hasattr(c, "type"))
        return [f"add table {_t(op.schema, op.table_name)} ({n} column{'s' if n != 1 else ''})"]
    if isinstance(op, ops.DropTableOp):
        return [f"drop table {_t(op.schema, op.table_name)}"]
    if isinstance(op, ops.AddColumnOp):
        col = op.column
        null = "" if col.nullable else " NOT NULL"
        return [f"add column {_t(op.schema, op.table_name)}.{col.name} {_type(col.type, d)}{null}"]
    if isinstance(op, ops.DropColumnOp):
        return [f"drop column {_t(op.schema, op.table_name)}.{op.column_name}"]
    if isinstance(op, ops.CreateIndexOp):
        kind = "unique index" if op.unique else "index"
        return [f"add {kind} {op.index_name} on {_t(op.schema, op.table_name)} ({_cols(op.columns)})"]
    if isinstance(op, ops.DropIndexOp):
        return [f"drop index {op.index_name} on {_t(op.schema, op.table_name)}"]
    if isinstance(op, ops.CreateForeignKeyOp):
        src = _t(op.kw.get("source_schema"), op.source_table)
        ref = _t(op.kw.get("referent_schema"), op.referent_table)
        name = f" {op.constraint_name}" if op.constraint_name else ""
        return [f"add foreign key{name} on {src} ({_cols(op.local_cols)}) -> {ref} ({_cols(op.remote_cols)})"]
    if isinstance(op, ops.CreateUniqueConstraintOp):
        name = f" {op.constraint_name}" if op.constraint_name else ""
        return [f"add unique constraint{name} on {_t(op.schema, op.table_name)} ({_cols(op.columns)})"]
    if isinstance(op, ops.CreatePrimaryKeyOp):
        name = f" {op.constraint_name}" if op.constraint_name else ""
        return [f"add primary key{name} on {_t(op.schema, op.table_name)} ({_cols(op.columns)})"]
    if isinstance(op, ops.CreateCheckConstraintOp):
        name = f" {op.constraint_name}" if op.constraint_name else ""
        return [f"add check constraint{name} on {_t(op.schema, op.table_name)}"]
    if isinstance(op, ops.DropConstraintOp):
        kind = word(op.constraint_type)
        name = f" {op.constraint_name}" if op.constraint_name else ""
        return [f"drop {kind}{name} on {_t(op.schema, op.table_name)}"]
    if isinstance(op, ops.CreateTableCommentOp):
        return [f"set comment on table {_t(op.schema, op.table_name)}: {op.comment!r}"]
    if isinstance(op, ops.DropTableCommentOp):
        return [f"drop comment on table {_t(op.schema, op.table_name)}"]
    if isinstance(op, ops.ExecuteSQLOp):
        text = op.sqltext if isinstance(op.sqltext, str) else str(op.sqltext)
        return [f"execute SQL: {' '.join(text.split())}"]
    named = _describe_schemashift_op(op, d)
    if named is not None:
        return named
    try:
        diff = op.to_diff_tuple()
    except Exception:
        diff = None
    name = type(op).__name__
    return [f"{name}: {diff!r}" if diff is not None else name]


def _rebuild(op: Any, table: str, d: Dialect | None) -> list[str]:
    """A SQLite table rebuild: one line per change it carries (the rows are copied)."""
    out = []
    for col, ch in op.alter_columns.items():
        where = f"{table}.{col}"
        if "type_" in ch:
            out.append(f"alter column {where} type {_type(ch.get('existing_type'), d)} -> {_type(ch['type_'], d)}")
        if "nullable" in ch:
            before = {True: "NULL", False: "NOT NULL"}.get(ch.get("existing_nullable"))
            after = "NULL" if ch["nullable"] else "NOT NULL"
            out.append(f"alter column {where} {before} -> {after}" if before else f"alter column {where} {after}")
        if "server_default" in ch:
            out.append(
                f"alter column {where} server default {_default(ch.get('existing_server_default'))} -> "
                f"{_default(ch['server_default'])}"
            )
    out += [f"add column {table}.{' '.join(sql.split())}" for sql in op.add_columns]
    out += [f"drop column {table}.{col}" for col in op.drop_columns]
    out += [f"add constraint on {table}: {' '.join(sql.split())}" for sql in op.add_constraints]
    for ref in op.drop_constraints:
        what = ref.get("name") or ", ".join(ref.get("columns") or ()) or ref.get("check") or "?"
        out.append(f"drop {ref.get('type') or 'constraint'} {what} on {table}")
    for ref, new in op.name_constraints:
        out.append(f"name {ref.get('type') or 'constraint'} on {table} {new}")
    return out or [f"rebuild table {table}"]


def _describe_schemashift_op(op: Any, d: Dialect | None) -> list[str] | None:
    """schemashift's own ops (conversions, enums, rebuilds, constraints), by class name:
    describe does not import their modules (which register them with Alembic)."""
    kind = type(op).__name__
    table = _t(getattr(op, "schema", None), getattr(op, "table_name", None))
    if kind == "ConvertColumnOp":
        return [f"alter column {table}.{op.column_name} type {_type(op.existing_type, d)} -> {_type(op.type_, d)}"]
    if kind == "CreateEnumOp":
        return [f"add enum type {op.name} ({', '.join(op.values)})"]
    if kind == "DropEnumOp":
        return [f"drop enum type {op.name}"]
    if kind == "AlterEnumOp":
        added = [v for v in op.values if v not in op.existing_values]
        removed = [v for v in op.existing_values if v not in op.values]
        parts = ([f"add {', '.join(added)}"] if added else []) + ([f"remove {', '.join(removed)}"] if removed else [])
        return [f"alter enum type {op.name}: {'; '.join(parts) or 'reorder values'}"]
    if kind == "RenameConstraintOp":
        return [f"rename constraint {op.old_name} to {op.new_name} (table {table})"]
    if kind == "DropConstraintMatchingOp":
        return [f"drop {word(op.type_)} on {table} (found by its definition)"]
    if kind == "RebuildTableOp":
        return _rebuild(op, table, d)
    return None


def describe_ops(upgrade_ops: Any, dialect: Dialect | None = None) -> list[str]:
    """One line per operation of ``upgrade_ops`` (an UpgradeOps, or any list of ops)."""
    items = upgrade_ops.ops if hasattr(upgrade_ops, "ops") else list(upgrade_ops)
    return [line for op in items for line in describe_op(op, dialect)]


Describer = Callable[[Any], list[str]]
