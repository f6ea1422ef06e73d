"""Pipeline steps (``autogen/pipeline.py``) that make type changes run as written.

Each is a function of ops, with no database access of its own:

1. ``convert_types`` (PostgreSQL): a column type change becomes
   ``op.convert_column`` with its ``USING`` cast and a data check; a native
   enum the new type needs is created first (``op.create_enum``), enums the
   upgrade created are dropped at the end of the downgrade, and changed enum
   values become ``op.alter_enum``.
2. ``fold_rebuilds`` (SQLite): changes SQLite cannot make in place (type,
   nullability, default, constraints, dropping columns) are folded, per
   table, into one ``op.rebuild_table``, which keeps everything else; Alembic's
   batch mode would rebuild from reflection and drop inline ``UNIQUE``s and
   unnamed ``CHECK``s.  Column renames stay native (``RENAME COLUMN``, no copy).
3. ``type_imports``: ``import module`` for the project's own types
   (TypeDecorators) that the file renders as ``module.Type()``.
"""

from __future__ import annotations

from typing import Any, Iterable

import sqlalchemy as sa
from alembic.operations import ops

from ..alembic_bridge.ops import restore_of_drop
from ..schema.kinds import KIND_OF_TYPE
from .type_ops import AlterEnumOp, ConvertColumnOp, CreateEnumOp, DropEnumOp
from ..schema.types import describe_type
from ..safety.casts import user_type_imports

# ------------------------------------------------------------------ helpers


def _model_enums(metadata: Iterable[sa.MetaData], dialect: Any) -> dict[str, tuple[str, ...]]:
    found: dict[str, tuple[str, ...]] = {}
    for md in metadata:
        for table in md.tables.values():
            for column in table.columns:
                info = describe_type(column.type, dialect)
                if info.native_enum and info.enum_name:
                    found.setdefault(info.enum_name, info.enum_values)
    return found


def _is_noop_alter(op: ops.AlterColumnOp) -> bool:
    return (
        op.modify_type is None
        and op.modify_nullable is None
        and op.modify_server_default is False
        and op.modify_name is None
        and op.modify_comment is False
    )


# ------------------------------------------------------------------ PostgreSQL types


class _EnumState:
    def __init__(self, existing: dict[str, tuple[str, ...]]) -> None:
        self.existing = existing
        self.created: dict[str, tuple[str, ...]] = {}

    def needs_create(self, info: Any) -> bool:
        return bool(info.native_enum and info.enum_name not in self.existing and info.enum_name not in self.created)


def _convert_alters(table_ops: ops.ModifyTableOps, dialect: Any, enums: _EnumState, upgrade: bool) -> list[Any]:
    """Split a table's ops: type changes become ConvertColumnOp; returns the enum ops to run first."""
    before: list[Any] = []
    kept: list[Any] = []
    for sub in table_ops.ops:
        if not isinstance(sub, ops.AlterColumnOp) or sub.modify_type is None or sub.existing_type is None:
            kept.append(sub)
            continue
        info = describe_type(sub.modify_type, dialect)
        if upgrade and enums.needs_create(info):
            before.append(CreateEnumOp(info.enum_name, info.enum_values, schema=table_ops.schema))
            enums.created[info.enum_name] = info.enum_values  # type: ignore[index]
        kept.append(
            ConvertColumnOp(
                sub.table_name, sub.column_name, sub.modify_type, sub.existing_type,
                nullable=sub.modify_nullable, existing_nullable=sub.existing_nullable, schema=sub.schema,
            )
        )
        sub.modify_type = None
        sub.modify_nullable = None
        if not _is_noop_alter(sub):
            kept.append(sub)
    table_ops.ops = kept
    return before


def _created_by_tables(container: Any, dialect: Any, enums: _EnumState) -> None:
    for op in container.ops:
        if isinstance(op, ops.CreateTableOp):
            for column in op.columns:
                if isinstance(column, sa.Column):
                    info = describe_type(column.type, dialect)
                    if enums.needs_create(info):
                        enums.created[info.enum_name] = info.enum_values  # type: ignore[index]


def database_enums(connection: Any) -> dict[str, tuple[str, ...]]:
    """PostgreSQL enum types of the current schema and their values (read once per autogenerate)."""
    if connection is None:
        return {}
    rows = connection.exec_driver_sql(
        "SELECT t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_type t "
        "JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace "
        "WHERE n.nspname = current_schema() GROUP BY t.typname"
    )
    return {name: tuple(values) for name, values in rows}


def convert_types(
    up: ops.UpgradeOps, *, dialect: Any, metadata: Any, db_enums: dict[str, tuple[str, ...]]
) -> tuple[ops.UpgradeOps, list[Any]]:
    """Pipeline step (PostgreSQL): type changes as ``convert_column`` with the enum types they
    need, changed enum values as ``alter_enum``.  Returns the upgrade and the downgrade's
    typed tail: ``drop_enum`` for the enum types ``create_table`` made implicitly."""
    if dialect.name != "postgresql":
        return up, []
    mds = list(metadata) if isinstance(metadata, (list, tuple)) else ([metadata] if metadata is not None else [])
    enums = _EnumState(db_enums)
    changes = [
        AlterEnumOp(name, values, db_enums[name])
        for name, values in _model_enums(mds, dialect).items()
        if name in db_enums and tuple(values) != db_enums[name]
    ]
    new_up: list[Any] = list(changes)
    for op in up.ops:
        if isinstance(op, ops.ModifyTableOps):
            new_up.extend(_convert_alters(op, dialect, enums, upgrade=True))
        new_up.append(op)
    explicit = set(enums.created)
    out = ops.UpgradeOps(ops=new_up)
    _created_by_tables(out, dialect, enums)
    tail = [DropEnumOp(n, v) for n, v in enums.created.items() if n not in explicit]
    return out, tail


# ------------------------------------------------------------------ SQLite rebuilds


def _sql_default(value: Any, dialect: Any) -> Any:
    """An Alembic server default as SQL text (None: no default)."""
    if value is None:
        return None
    arg = getattr(value, "arg", value)
    if isinstance(arg, str):
        return "'" + arg.replace("'", "''") + "'"
    text = getattr(arg, "text", None)
    if text is not None:
        return text
    return str(arg.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def _constraint_sql(constraint: Any, dialect: Any) -> str:
    return dialect.ddl_compiler(dialect, None).process(constraint)


def _column_sql(column: sa.Column, dialect: Any) -> str:
    from sqlalchemy.schema import CreateColumn

    return str(CreateColumn(column).compile(dialect=dialect)).strip()


def _needs_rebuild(op: Any) -> bool:
    if isinstance(op, ops.AlterColumnOp):
        return (
            op.modify_type is not None
            or op.modify_nullable is not None
            or op.modify_server_default is not False
        )
    if isinstance(op, (ops.AddConstraintOp, ops.DropConstraintOp, ops.DropColumnOp)):
        return True
    if isinstance(op, ops.AddColumnOp):
        col = op.column
        default = col.server_default
        return bool(
            col.primary_key
            or col.unique
            or (not col.nullable and default is None)
            or (default is not None and not isinstance(getattr(default, "arg", None), str))
        )
    return False


def _rebuild_from(table_ops: ops.ModifyTableOps, members: list[Any], dialect: Any) -> Any:
    from ..safety.rebuild import RebuildTableOp

    rebuild = RebuildTableOp(table_ops.table_name, schema=table_ops.schema)
    for op in members:
        if isinstance(op, ops.AlterColumnOp):
            change: dict[str, Any] = {}
            if op.modify_type is not None:
                change["type_"] = op.modify_type
                change["existing_type"] = op.existing_type
            if op.modify_nullable is not None:
                change["nullable"] = op.modify_nullable
                if op.existing_nullable is not None:
                    change["existing_nullable"] = op.existing_nullable
            if op.modify_server_default is not False:
                change["server_default"] = _sql_default(op.modify_server_default, dialect)
                change["existing_server_default"] = _sql_default(op.existing_server_default or None, dialect)
            rebuild.alter_columns.setdefault(op.column_name, {}).update(change)
        elif isinstance(op, ops.DropColumnOp):
            rebuild.drop_columns.append(op.column_name)
            try:
                rebuild.restore_columns[op.column_name] = _column_sql(op.to_column(), dialect)
            except Exception:  # no reverse information: the downgrade cannot re-add it
                pass
        elif isinstance(op, ops.AddColumnOp):
            rebuild.add_columns.append(_column_sql(op.column, dialect))
        elif isinstance(op, ops.AddConstraintOp):
            rebuild.add_constraints.append(_constraint_sql(op.to_constraint(), dialect))
        elif isinstance(op, ops.DropConstraintOp):
            rebuild.drop_constraints.append(_drop_ref(op).as_dict())
            restore = restore_of_drop(op)
            if restore is not None:
                rebuild.restore_constraints.append(_constraint_sql(restore.to_constraint(), dialect))
    return rebuild


def _drop_ref(op: ops.DropConstraintOp) -> Any:
    from ..safety.sqlite_ddl import ConstraintRef
    from .constraints import ref_of_drop

    kind = KIND_OF_TYPE.get(op.constraint_type or "", None)
    if op.constraint_name is not None:
        return ConstraintRef(kind=kind, name=str(op.constraint_name))
    found = ref_of_drop(op)
    if found is None:
        return ConstraintRef(kind=kind)
    return found[0]


def _fold(table_ops: ops.ModifyTableOps, dialect: Any) -> list[Any]:
    """One table's ops: [native ops first] + [one rebuild] + [index creation after]."""
    if not any(_needs_rebuild(op) for op in table_ops.ops):
        return [table_ops]
    before, members, after, renames = [], [], [], []
    for op in table_ops.ops:
        if _needs_rebuild(op):
            if isinstance(op, ops.AlterColumnOp) and op.modify_name is not None:
                renames.append(ops.AlterColumnOp(op.table_name, op.column_name, modify_name=op.modify_name, schema=op.schema))
                op.column_name, op.modify_name = op.modify_name, None
            members.append(op)
        elif isinstance(op, ops.AlterColumnOp) and op.modify_name is not None:
            renames.append(op)
        elif isinstance(op, ops.CreateIndexOp):
            after.append(op)
        else:
            before.append(op)
    out: list[Any] = []
    if before:
        out.append(ops.ModifyTableOps(table_ops.table_name, before, schema=table_ops.schema))
    out.extend(renames)  # top level, so rendered as plain op.alter_column: RENAME COLUMN in place
    out.append(_rebuild_from(table_ops, members, dialect))
    if after:
        out.append(ops.ModifyTableOps(table_ops.table_name, after, schema=table_ops.schema))
    return out


def _pull_renames(table_ops: ops.ModifyTableOps) -> list[Any]:
    """Column renames out of the batch block (batch would rebuild the table for them)."""
    renames = [op for op in table_ops.ops if isinstance(op, ops.AlterColumnOp) and op.modify_name is not None and _is_rename_only(op)]
    if not renames:
        return [table_ops]
    rest = [op for op in table_ops.ops if op not in renames]
    out: list[Any] = list(renames)
    if rest:
        out.append(ops.ModifyTableOps(table_ops.table_name, rest, schema=table_ops.schema))
    return out


def _is_rename_only(op: ops.AlterColumnOp) -> bool:
    return op.modify_type is None and op.modify_nullable is None and op.modify_server_default is False


def fold_rebuilds(container: Any, dialect: Any) -> None:
    """Pipeline step (SQLite): fold, in place, the changes of ``container`` (an upgrade or a
    downgrade) that need a table rebuild into ``op.rebuild_table``."""
    if dialect.name != "sqlite":
        return
    new: list[Any] = []
    for op in container.ops:
        if isinstance(op, ops.ModifyTableOps):
            for part in _fold(op, dialect):
                new.extend(_pull_renames(part) if isinstance(part, ops.ModifyTableOps) else [part])
        else:
            new.append(op)
    container.ops = new


# ------------------------------------------------------------------ imports


def _types_in(op: Any) -> Iterable[Any]:
    if isinstance(op, (ops.ModifyTableOps, ops.UpgradeOps, ops.DowngradeOps)):
        for sub in op.ops:
            yield from _types_in(sub)
    elif isinstance(op, ops.CreateTableOp):
        for col in op.columns:
            if isinstance(col, sa.Column):
                yield col.type
    elif isinstance(op, ops.AddColumnOp):
        yield op.column.type
    elif isinstance(op, ops.AlterColumnOp):
        yield op.modify_type
        yield op.existing_type
    elif isinstance(op, ConvertColumnOp):
        yield op.type_
        yield op.existing_type
    else:
        for change in getattr(op, "alter_columns", {}).values():
            yield change.get("type_")
            yield change.get("existing_type")


def type_imports(container: Any) -> set[str]:
    """Pipeline step: ``import module`` lines for the project-defined types ``container`` renders."""
    out: set[str] = set()
    for type_ in _types_in(container):
        out.update(user_type_imports(type_))
    return out


__all__ = ["convert_types", "database_enums", "fold_rebuilds", "type_imports"]
