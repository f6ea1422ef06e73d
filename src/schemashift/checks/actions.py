"""One vocabulary for what a migration does, whether written as ``op.*`` or as SQL.

Rules read ``Action``s, never Alembic op classes or SQL text directly, so a
``DROP TABLE`` in ``op.execute`` and an ``op.drop_table`` meet the same rule.
``from_op`` turns each captured Alembic operation (and schemashift's own ops)
into actions; ``rawsql.analyse`` does the same for SQL text.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

from alembic.operations import ops


@dataclass
class Action:
    kind: str
    table: str | None = None
    column: str | None = None
    schema: str | None = None
    new_name: str | None = None
    concurrently: bool = False
    not_valid: bool = False
    unique: bool = False
    volatile_default: bool = False
    has_default: bool = False
    not_null: bool = False
    type_sql: str | None = None
    condition: str | None = None
    text: str = ""
    columns: tuple[str, ...] = ()
    old_type: Any = None
    new_type: Any = None
    allow_loss: bool = False
    ref_table: str | None = None
    ref_columns: tuple[str, ...] = ()
    batch: bool = False  # queued in a batch block (SQLite recreates the table when needed)
    recreate: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _cols(values: Any) -> tuple[str, ...]:
    out = []
    for value in values or ():
        out.append(value if isinstance(value, str) else getattr(value, "name", None) or str(value))
    return tuple(out)


def _default_volatile(default: Any) -> bool:
    text = getattr(default, "text", None) or (str(getattr(default, "arg", "")) if default is not None else "")
    if not isinstance(text, str):
        text = str(text)
    lowered = text.lower()
    return any(f in lowered for f in ("random(", "gen_random_uuid(", "uuid_generate_v", "clock_timestamp(", "nextval(", "timeofday("))


def _compile(clause: Any, dialect: Any) -> str:
    if clause is None:
        return ""
    if isinstance(clause, str):
        return clause
    try:
        return str(clause.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    except Exception:
        return str(clause)


_PACKAGE = __name__.split(".")[0]


def _loaded(module: str, name: str) -> Any:
    """``name`` from schemashift's ``module`` if that module was imported, else None.

    An operation can only be an instance of a class whose module was
    imported (a revision that calls ``op.convert_column`` imports
    ``autogen.type_ops``, which registers it), so an op class never imported
    needs no ``isinstance``; importing those modules (the rebuild, the type
    conversions) just to say no cost every run's plan a noticeable start-up.
    """
    found = sys.modules.get(f"{_PACKAGE}.{module}")
    return getattr(found, name, None) if found is not None else None


def from_op(op: Any, dialect: Any, *, batch: bool = False, recreate: str | None = None) -> list[Action]:
    """The actions of one captured operation."""
    convert_op = _loaded("autogen.type_ops", "ConvertColumnOp")  # the classes, or None
    rebuild_op = _loaded("safety.rebuild", "RebuildTableOp")

    schema = getattr(op, "schema", None)
    table = getattr(op, "table_name", None)
    common: dict[str, Any] = {"table": table, "schema": schema, "batch": batch, "recreate": recreate}
    if isinstance(op, ops.DropTableOp):
        return [Action("drop_table", **common)]
    if isinstance(op, ops.CreateTableOp):
        return [Action("create_table", **common)]
    if isinstance(op, ops.RenameTableOp):
        return [Action("rename_table", new_name=op.new_table_name, **common)]
    if isinstance(op, ops.DropColumnOp):
        return [Action("drop_column", column=op.column_name, **common)]
    if isinstance(op, ops.AddColumnOp):
        col = op.column
        default = col.server_default
        return [Action(
            "add_column", column=col.name, not_null=col.nullable is False and not col.primary_key,
            has_default=default is not None, volatile_default=_default_volatile(default),
            new_type=col.type, extra={"primary_key": bool(col.primary_key), "unique": bool(col.unique),
                                      "default_sql": _compile(getattr(default, "arg", None), dialect)},
            **common)]
    if isinstance(op, ops.AlterColumnOp):
        out = []
        if op.modify_name:
            out.append(Action("rename_column", column=op.column_name, new_name=op.modify_name, **common))
        if op.modify_type is not None:
            out.append(Action("alter_type", column=op.column_name, old_type=op.existing_type, new_type=op.modify_type,
                              extra={"using": op.kw.get("postgresql_using")}, **common))
        if op.modify_nullable is False and op.existing_nullable is not False:
            out.append(Action("set_not_null", column=op.column_name, **common))
        elif op.modify_nullable is False:
            out.append(Action("set_not_null", column=op.column_name, extra={"was_not_null": True}, **common))
        if op.modify_server_default is not False:
            out.append(Action("set_default", column=op.column_name, **common))
        if op.modify_nullable is True:
            out.append(Action("drop_not_null", column=op.column_name, **common))
        return out or [Action("alter_column", column=op.column_name, **common)]
    if convert_op is not None and isinstance(op, convert_op):
        return [Action("alter_type", column=op.column_name, old_type=op.existing_type, new_type=op.type_,
                       allow_loss=op.allow_loss, extra={"convert": True, "self_checking": True, "using": op.postgresql_using},
                       **common)]
    if isinstance(op, ops.CreateIndexOp):
        return [Action("create_index", new_name=op.index_name, unique=bool(op.unique),
                       concurrently=bool(op.kw.get("postgresql_concurrently")), columns=_cols(op.columns), **common)]
    if isinstance(op, ops.DropIndexOp):
        return [Action("drop_index", new_name=op.index_name,
                       concurrently=bool(op.kw.get("postgresql_concurrently")), **common)]
    if isinstance(op, ops.CreateUniqueConstraintOp):
        return [Action("add_unique", new_name=op.constraint_name, columns=_cols(op.columns), **common)]
    if isinstance(op, ops.CreatePrimaryKeyOp):
        return [Action("add_pk", new_name=op.constraint_name, columns=_cols(op.columns), **common)]
    if isinstance(op, ops.CreateCheckConstraintOp):
        return [Action("add_check", new_name=op.constraint_name, condition=_compile(op.condition, dialect),
                       not_valid=bool(op.kw.get("postgresql_not_valid")), **common)]
    if isinstance(op, ops.CreateForeignKeyOp):
        return [Action("add_fk", table=op.source_table, schema=op.kw.get("source_schema"), new_name=op.constraint_name,
                       columns=_cols(op.local_cols), ref_table=op.referent_table, ref_columns=_cols(op.remote_cols),
                       not_valid=bool(op.kw.get("postgresql_not_valid")), batch=batch, recreate=recreate,
                       extra={"ref_schema": op.kw.get("referent_schema")})]
    if isinstance(op, ops.DropConstraintOp):
        kind = "drop_fk" if op.constraint_type == "foreignkey" else "drop_constraint"
        return [Action(kind, new_name=op.constraint_name, extra={"type": op.constraint_type}, **common)]
    if isinstance(op, ops.BulkInsertOp):
        return [Action("write", table=getattr(op.table, "name", None), schema=getattr(op.table, "schema", None))]
    if rebuild_op is not None and isinstance(op, rebuild_op):
        out = [Action("rebuild", extra={"rebuild_op": True}, **common)]
        inside = {**common, "batch": True, "recreate": "always"}  # parts of the rebuild, not ALTERs of their own
        part = {"rebuild_part": True}
        out += [Action("drop_column", column=c, extra=dict(part), **inside) for c in op.drop_columns]
        for col, change in op.alter_columns.items():
            if "type_" in change:
                out.append(Action("alter_type", column=col, old_type=change.get("existing_type"),
                                  new_type=change.get("type_"), allow_loss=op.allow_loss,
                                  extra={"self_checking": True, "using": change.get("using"), **part}, **inside))
            if change.get("nullable") is False and change.get("existing_nullable") is not False:
                out.append(Action("set_not_null", column=col, extra=dict(part), **inside))
        return out
    if isinstance(op, ops.ExecuteSQLOp):
        from .rawsql import analyse, sql_text

        text = sql_text(op.sqltext, dialect)
        return analyse(text, dialect.name)
    return [Action("other", text=type(op).__name__, **common)]
