"""Migration operations for type changes: ``op.convert_column`` and PostgreSQL enums.

Each is a data object registered with Alembic's own hooks
(``Operations.register_operation``, ``implementation_for``,
``renderers.dispatch_for``) and knows its ``reverse()``, so autogenerate can
render it and write the downgrade.  A migration file that uses them imports
this module (the renderers add that import).

- ``convert_column``: change a column's type keeping its data.  Before
  converting, the rows whose value would not survive are counted
  (``safety.precheck``) and the migration refuses unless ``allow_loss=True``.
  PostgreSQL runs ``ALTER COLUMN ... TYPE ... USING``; SQLite a rebuild.
- ``create_enum`` / ``drop_enum``: ``CREATE TYPE ... AS ENUM`` and ``DROP TYPE``
  (autogenerate never creates the type a changed column needs, nor drops the
  one a dropped table leaves behind).
- ``alter_enum``: new values with ``ALTER TYPE ... ADD VALUE``; removed or
  reordered values by swapping in a new type, after checking no row still
  uses a removed value.
"""

from __future__ import annotations

from typing import Any, Sequence

from alembic.autogenerate import renderers
from alembic.operations import MigrateOperation, Operations

from ..errors import Refused, SchemashiftError
from ..safety.precheck import LossCheck, loss_allowed, refuse_if_lossy
from .enum_dependents import default_value, enum_uses
from ..schema.types import compile_type
from ..safety.casts import plan_cast, render_type, substitute_column

OPS_IMPORT = "import schemashift.autogen.type_ops  # noqa: F401  (op.convert_column, op.*_enum)"


class EnumError(SchemashiftError):
    """An enum type cannot be changed as asked."""


class EnumDependents(Refused):
    """Other objects depend on the enum values or type a change would remove."""


# ------------------------------------------------------------------ convert_column


@Operations.register_operation("convert_column")
class ConvertColumnOp(MigrateOperation):
    """Change ``column_name``'s type from ``existing_type`` to ``type_`` keeping every value."""

    def __init__(
        self,
        table_name: str,
        column_name: str,
        type_: Any,
        existing_type: Any,
        *,
        postgresql_using: str | None = None,
        allow_loss: bool = False,
        nullable: bool | None = None,
        existing_nullable: bool | None = None,
        schema: str | None = None,
    ) -> None:
        self.table_name = table_name
        self.column_name = column_name
        self.type_ = type_
        self.existing_type = existing_type
        self.postgresql_using = postgresql_using
        self.allow_loss = allow_loss
        self.nullable = nullable
        self.existing_nullable = existing_nullable
        self.schema = schema

    @classmethod
    def convert_column(
        cls,
        operations: Any,
        table_name: str,
        column_name: str,
        type_: Any,
        existing_type: Any,
        *,
        postgresql_using: str | None = None,
        allow_loss: bool = False,
        nullable: bool | None = None,
        existing_nullable: bool | None = None,
        schema: str | None = None,
    ) -> Any:
        """Convert a column to ``type_``; refuses if any value would be lost, unless ``allow_loss``."""
        return operations.invoke(
            cls(
                table_name,
                column_name,
                type_,
                existing_type,
                postgresql_using=postgresql_using,
                allow_loss=allow_loss,
                nullable=nullable,
                existing_nullable=existing_nullable,
                schema=schema,
            )
        )

    def reverse(self) -> "ConvertColumnOp":
        return ConvertColumnOp(
            self.table_name,
            self.column_name,
            self.existing_type,
            self.type_,
            nullable=self.existing_nullable,
            existing_nullable=self.nullable,
            schema=self.schema,
        )


def _column_default(connection: Any, table: str, column: str, schema: str | None) -> str | None:
    return connection.exec_driver_sql(
        "SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d "
        "JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum "
        "WHERE d.adrelid = to_regclass(%(t)s) AND a.attname = %(c)s",
        {"t": _qualified(connection.dialect, table, schema), "c": column},
    ).scalar()


def _qualified(dialect: Any, name: str, schema: str | None) -> str:
    quote = dialect.identifier_preparer.quote
    return f"{quote(schema)}.{quote(name)}" if schema else quote(name)


@Operations.implementation_for(ConvertColumnOp)
def _convert_column(operations: Any, op: ConvertColumnOp) -> None:
    context = operations.migration_context
    dialect = context.dialect
    if dialect.name == "sqlite":
        from ..safety.rebuild import RebuildTableOp

        change: dict[str, Any] = {"type_": op.type_, "existing_type": op.existing_type}
        if op.nullable is not None:
            change["nullable"] = op.nullable
        operations.invoke(
            RebuildTableOp(op.table_name, alter_columns={op.column_name: change}, allow_loss=op.allow_loss, schema=op.schema)
        )
        return
    if dialect.name != "postgresql":
        operations.alter_column(
            op.table_name, op.column_name, type_=op.type_, existing_type=op.existing_type,
            nullable=op.nullable, existing_nullable=op.existing_nullable, schema=op.schema,
        )
        return
    plan = plan_cast(dialect, op.column_name, op.existing_type, op.type_, using=op.postgresql_using)
    using = plan.using
    default = None
    if plan.using is not None:
        for sql in plan.helpers:
            operations.execute(sql)
        if not context.as_sql:
            connection = operations.get_bind()
            lost = refuse_if_lossy(
                connection,
                plan.loss_checks(op.table_name, op.column_name, op.schema),
                allow_loss=loss_allowed(context, op.allow_loss),
            )
            if lost:
                using = plan.lossy_using
            default = _column_default(connection, op.table_name, op.column_name, op.schema)
    if default is not None:
        operations.alter_column(op.table_name, op.column_name, server_default=None, schema=op.schema)
    operations.alter_column(
        op.table_name,
        op.column_name,
        type_=op.type_,
        existing_type=op.existing_type,
        postgresql_using=using,
        nullable=op.nullable,
        existing_nullable=op.existing_nullable,
        schema=op.schema,
    )
    for sql in plan.cleanup:
        operations.execute(sql)
    if default is not None:
        from sqlalchemy import text

        converted = substitute_column(using, op.column_name, f"({default})") if using else default
        operations.alter_column(op.table_name, op.column_name, server_default=text(converted), schema=op.schema)


@renderers.dispatch_for(ConvertColumnOp)
def _render_convert_column(autogen_context: Any, op: ConvertColumnOp) -> str:
    autogen_context.imports.add(OPS_IMPORT)
    args = [
        repr(op.table_name),
        repr(op.column_name),
        render_type(op.type_, autogen_context),
        render_type(op.existing_type, autogen_context),
    ]
    dialect = autogen_context.dialect
    using = op.postgresql_using
    if using is None and dialect is not None and dialect.name == "postgresql":
        using = plan_cast(dialect, op.column_name, op.existing_type, op.type_).using
    if using:
        args.append(f"postgresql_using={using!r}")
    if op.nullable is not None:
        args.append(f"nullable={op.nullable!r}")
    if op.existing_nullable is not None:
        args.append(f"existing_nullable={op.existing_nullable!r}")
    if op.schema:
        args.append(f"schema={op.schema!r}")
    args.append(f"allow_loss={op.allow_loss!r}")
    return f"op.convert_column({', '.join(args)})"


# ------------------------------------------------------------------ enums


def _enum_sql_values(values: Sequence[str]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


@Operations.register_operation("create_enum")
class CreateEnumOp(MigrateOperation):
    """``CREATE TYPE name AS ENUM (...)`` (PostgreSQL; a no-op elsewhere)."""

    def __init__(self, name: str, values: Sequence[str], *, schema: str | None = None) -> None:
        self.name = name
        self.values = list(values)
        self.schema = schema

    @classmethod
    def create_enum(cls, operations: Any, name: str, values: Sequence[str], *, schema: str | None = None) -> Any:
        """Create enum type ``name`` with ``values`` (PostgreSQL)."""
        return operations.invoke(cls(name, values, schema=schema))

    def reverse(self) -> "DropEnumOp":
        return DropEnumOp(self.name, self.values, schema=self.schema)


@Operations.register_operation("drop_enum")
class DropEnumOp(MigrateOperation):
    """``DROP TYPE name`` (PostgreSQL; a no-op elsewhere).  ``values`` are kept for the reverse."""

    def __init__(self, name: str, values: Sequence[str] = (), *, schema: str | None = None) -> None:
        self.name = name
        self.values = list(values)
        self.schema = schema

    @classmethod
    def drop_enum(cls, operations: Any, name: str, values: Sequence[str] = (), *, schema: str | None = None) -> Any:
        """Drop enum type ``name`` (PostgreSQL)."""
        return operations.invoke(cls(name, values, schema=schema))

    def reverse(self) -> CreateEnumOp:
        return CreateEnumOp(self.name, self.values, schema=self.schema)


@Operations.implementation_for(CreateEnumOp)
def _create_enum(operations: Any, op: CreateEnumOp) -> None:
    dialect = operations.migration_context.dialect
    if dialect.name == "postgresql":
        operations.execute(
            f"CREATE TYPE {_qualified(dialect, op.name, op.schema)} AS ENUM ({_enum_sql_values(op.values)})"
        )


@Operations.implementation_for(DropEnumOp)
def _drop_enum(operations: Any, op: DropEnumOp) -> None:
    dialect = operations.migration_context.dialect
    if dialect.name == "postgresql":
        operations.execute(f"DROP TYPE {_qualified(dialect, op.name, op.schema)}")


@Operations.register_operation("alter_enum")
class AlterEnumOp(MigrateOperation):
    """Change enum type ``name`` from ``existing_values`` to ``values`` (PostgreSQL)."""

    def __init__(
        self,
        name: str,
        values: Sequence[str],
        existing_values: Sequence[str],
        *,
        allow_loss: bool = False,
        schema: str | None = None,
    ) -> None:
        self.name = name
        self.values = list(values)
        self.existing_values = list(existing_values)
        self.allow_loss = allow_loss
        self.schema = schema

    @classmethod
    def alter_enum(
        cls,
        operations: Any,
        name: str,
        values: Sequence[str],
        existing_values: Sequence[str],
        *,
        allow_loss: bool = False,
        schema: str | None = None,
    ) -> Any:
        """Give enum ``name`` the ``values``; refuses to drop a value rows still use, unless ``allow_loss``."""
        return operations.invoke(cls(name, values, existing_values, allow_loss=allow_loss, schema=schema))

    def reverse(self) -> "AlterEnumOp":
        return AlterEnumOp(self.name, self.existing_values, self.values, schema=self.schema)

    @property
    def only_adds(self) -> bool:
        """True when every old value stays, in the same order (``ADD VALUE`` suffices)."""
        kept = [v for v in self.values if v in self.existing_values]
        return kept == self.existing_values


@Operations.implementation_for(AlterEnumOp)
def _alter_enum(operations: Any, op: AlterEnumOp) -> None:
    context = operations.migration_context
    dialect = context.dialect
    if dialect.name != "postgresql":
        return
    type_name = _qualified(dialect, op.name, op.schema)
    if op.only_adds:
        for i, value in enumerate(op.values):
            if value in op.existing_values:
                continue
            # values are added in order, so the one before this exists by now
            if i > 0:
                where = f" AFTER {_enum_sql_values([op.values[i - 1]])}"
            else:
                where = f" BEFORE {_enum_sql_values([op.existing_values[0]])}" if op.existing_values else ""
            operations.execute(f"ALTER TYPE {type_name} ADD VALUE {_enum_sql_values([value])}{where}")
        return
    if context.as_sql:
        raise EnumError(f"alter_enum({op.name!r}) removes values; it reads the columns using it and cannot run with --sql")
    connection = operations.get_bind()
    quote = dialect.identifier_preparer.quote
    uses = enum_uses(connection, type_name)
    if uses.blockers:
        raise EnumDependents(
            f"cannot change the values of enum {op.name}: {', '.join(uses.blockers)} "
            f"use{'s' if len(uses.blockers) == 1 else ''} it, and swapping in a new type would break "
            f"{'it' if len(uses.blockers) == 1 else 'them'}",
            hint="drop them before op.alter_enum in the migration and create them again after it",
        )
    gone = [v for v in op.existing_values if v not in op.values]
    stale = [(c, default_value(c.default)) for c in uses.columns if default_value(c.default) in gone]
    if stale:
        shown = ", ".join(f"{c.table}.{c.column} DEFAULT {v!r}" for c, v in stale)
        raise EnumDependents(
            f"cannot remove {', '.join(repr(v) for _, v in stale)} from enum {op.name}: the column default "
            f"{shown} uses it",
            hint="change the default first (op.alter_column(..., server_default=...)) in the same migration",
        )
    checks = [
        LossCheck(c.table, c.column, _uses_gone(quote(c.column), c.is_array, gone), f"uses a value {op.name} loses", c.schema)
        for c in uses.columns
    ] if gone else []
    lossy = bool(refuse_if_lossy(connection, checks, allow_loss=loss_allowed(context, op.allow_loss)))
    old_name = f"{op.name}__schemashift_old"
    for c in uses.columns:  # defaults name the type: off before the swap, back (naming the new type) after
        if c.default is not None:
            operations.execute(f"ALTER TABLE {quote(c.schema)}.{quote(c.table)} ALTER COLUMN {quote(c.column)} DROP DEFAULT")
    operations.execute(f"ALTER TYPE {type_name} RENAME TO {quote(old_name)}")
    operations.execute(f"CREATE TYPE {type_name} AS ENUM ({_enum_sql_values(op.values)})")
    kept = _enum_sql_values(op.values)
    for c in uses.columns:
        col = quote(c.column)
        target = f"{quote(c.schema)}.{quote(c.table)}"
        if c.is_array:
            using = f"{col}::text[]::{type_name}[]"
            if lossy:
                using = f"ARRAY(SELECT x FROM unnest({col}::text[]) AS x WHERE x IN ({kept}))::{type_name}[]"
            operations.execute(f"ALTER TABLE {target} ALTER COLUMN {col} TYPE {type_name}[] USING {using}")
        else:
            using = f"{col}::text::{type_name}"
            if lossy:
                using = f"CASE WHEN {col}::text IN ({kept}) THEN {using} END"
            operations.execute(f"ALTER TABLE {target} ALTER COLUMN {col} TYPE {type_name} USING {using}")
        if c.default is not None:
            operations.execute(f"ALTER TABLE {target} ALTER COLUMN {col} SET DEFAULT {c.default}")
    old_qualified = f"{quote(op.schema)}.{quote(old_name)}" if op.schema else quote(old_name)
    operations.execute(f"DROP TYPE {old_qualified}")


def _uses_gone(col: str, is_array: bool, gone: list[str]) -> str:
    if is_array:
        return f"{col}::text[] && ARRAY[{_enum_sql_values(gone)}]::text[]"
    return f"{col}::text IN ({_enum_sql_values(gone)})"


def _enum_args(name: str, values: Sequence[str], schema: str | None) -> list[str]:
    args = [repr(name), repr(list(values))]
    if schema:
        args.append(f"schema={schema!r}")
    return args


@renderers.dispatch_for(CreateEnumOp)
def _render_create_enum(autogen_context: Any, op: CreateEnumOp) -> str:
    autogen_context.imports.add(OPS_IMPORT)
    return f"op.create_enum({', '.join(_enum_args(op.name, op.values, op.schema))})"


@renderers.dispatch_for(DropEnumOp)
def _render_drop_enum(autogen_context: Any, op: DropEnumOp) -> str:
    autogen_context.imports.add(OPS_IMPORT)
    return f"op.drop_enum({', '.join(_enum_args(op.name, op.values, op.schema))})"


@renderers.dispatch_for(AlterEnumOp)
def _render_alter_enum(autogen_context: Any, op: AlterEnumOp) -> str:
    autogen_context.imports.add(OPS_IMPORT)
    args = [repr(op.name), repr(op.values), repr(op.existing_values)]
    if op.schema:
        args.append(f"schema={op.schema!r}")
    if not op.only_adds:
        args.append(f"allow_loss={op.allow_loss!r}")
    return f"op.alter_enum({', '.join(args)})"


__all__ = ["ConvertColumnOp", "CreateEnumOp", "DropEnumOp", "AlterEnumOp", "compile_type"]
