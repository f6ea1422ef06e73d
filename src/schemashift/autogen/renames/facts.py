"""Facts: the structure of tables and columns as plain, comparable data.

Every step of rename detection reads tables through these, whether they come
from the models or from autogenerate's reflection of the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.engine.default import DefaultDialect

from ...schema.sql import default_value
from ...schema.types import describe_type

Key = tuple  # (schema, table)


def type_sql(type_: Any, dialect: Dialect | None = None) -> str:
    if type_ is None:
        return "NULL"
    try:
        return str(type_.compile(dialect=dialect or DefaultDialect())).upper()
    except Exception:
        try:
            return str(type_.compile()).upper()
        except Exception:
            return repr(type_)


@dataclass(frozen=True)
class ColumnFacts:
    name: str
    affinity: str
    nullable: bool
    default: str | None
    primary_key: bool
    position: int
    comment: str | None = None
    column: Any = field(default=None, compare=False, hash=False, repr=False)
    dialect: Any = field(default=None, compare=False, hash=False, repr=False)

    @property
    def type_sql(self) -> str:
        """The type as the dialect renders it (computed when a column pair is scored)."""
        return type_sql(self.column.type if self.column is not None else None, self.dialect)


@dataclass(frozen=True)
class IndexFacts:
    name: str | None
    columns: tuple[str | None, ...]  # None for an expression
    unique: bool


@dataclass(frozen=True)
class ForeignKeyFacts:
    name: str | None
    columns: tuple[str, ...]
    ref_schema: str | None
    ref_table: str
    ref_columns: tuple[str, ...]
    options: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class TableFacts:
    schema: str | None
    name: str
    columns: tuple[ColumnFacts, ...]
    primary_key: tuple[str, ...] = ()
    pk_name: str | None = None
    foreign_keys: tuple[ForeignKeyFacts, ...] = ()
    indexes: tuple[IndexFacts, ...] = ()
    uniques: tuple[IndexFacts, ...] = ()
    checks: tuple[str, ...] = ()
    sequences: tuple[tuple[str, str], ...] = ()  # (column, sequence name), PostgreSQL
    comment: str | None = None

    @property
    def key(self) -> Key:
        return (self.schema, self.name)

    def column(self, name: str) -> ColumnFacts | None:
        for c in self.columns:
            if c.name == name:
                return c
        return None

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


def name_text(value: Any) -> str | None:
    return str(value) if isinstance(value, str) else None


def fk_options(ondelete: Any, onupdate: Any, deferrable: Any, initially: Any, match: Any = None) -> tuple:
    def norm(v: Any) -> Any:
        if v is None:
            return None
        v = str(v).upper()
        return None if v in ("NO ACTION",) else v

    return tuple(
        (k, v)
        for k, v in (
            ("ondelete", norm(ondelete)),
            ("onupdate", norm(onupdate)),
            ("deferrable", bool(deferrable) or None),
            ("initially", norm(initially) if initially and str(initially).upper() != "IMMEDIATE" else None),
            ("match", norm(match)),
        )
        if v is not None
    )


def column_facts(col: sa.Column, position: int, dialect: Dialect | None = None) -> ColumnFacts:
    return ColumnFacts(
        name=col.name,
        affinity=describe_type(col.type, dialect).storage,
        nullable=bool(col.nullable),
        default=default_value(col.server_default),
        primary_key=bool(col.primary_key),
        position=position,
        comment=col.comment,
        column=col,
        dialect=dialect,
    )


def expr_name(expr: Any) -> str | None:
    if isinstance(expr, str):
        return expr
    if isinstance(expr, sa.sql.elements.ColumnClause) and not isinstance(expr, sa.sql.elements.TextClause):
        return expr.name
    return None


def index_facts(index: sa.Index) -> IndexFacts:
    exprs = list(index.expressions) or list(index.columns)
    return IndexFacts(name_text(index.name), tuple(expr_name(e) for e in exprs), bool(index.unique))


def fk_facts(fkc: sa.ForeignKeyConstraint) -> ForeignKeyFacts | None:
    try:
        targets = [fk.column for fk in fkc.elements]
    except Exception:  # unresolvable target: read the spec text instead
        try:
            specs = [fk.target_fullname.split(".") for fk in fkc.elements]
        except Exception:
            return None
        ref_schema = specs[0][0] if len(specs[0]) == 3 else None
        return ForeignKeyFacts(
            name_text(fkc.name),
            tuple(c.name for c in fkc.columns) or tuple(fkc.column_keys),
            ref_schema,
            specs[0][-2],
            tuple(s[-1] for s in specs),
            fk_options(fkc.ondelete, fkc.onupdate, fkc.deferrable, fkc.initially, fkc.match),
        )
    return ForeignKeyFacts(
        name_text(fkc.name),
        tuple(c.name for c in fkc.columns),
        targets[0].table.schema,
        targets[0].table.name,
        tuple(t.name for t in targets),
        fk_options(fkc.ondelete, fkc.onupdate, fkc.deferrable, fkc.initially, fkc.match),
    )


def table_facts(
    table: sa.Table,
    dialect: Dialect | None = None,
    *,
    indexes: Iterable[IndexFacts] | None = None,
    schema: str | None | bool = False,
) -> TableFacts:
    """Facts of a model table or a reflected one (``indexes`` given separately when
    the table object does not carry them, as for Alembic's ``DropTableOp``)."""
    cols = tuple(column_facts(c, i, dialect) for i, c in enumerate(table.columns))
    pk = table.primary_key
    fks = tuple(f for f in (fk_facts(c) for c in table.foreign_key_constraints) if f is not None)
    uniques = tuple(
        IndexFacts(name_text(c.name), tuple(col.name for col in c.columns), True)
        for c in table.constraints
        if isinstance(c, sa.UniqueConstraint)
    )
    checks = tuple(
        str(c.name) for c in table.constraints if isinstance(c, sa.CheckConstraint) and isinstance(c.name, str)
    )
    idx = tuple(indexes) if indexes is not None else tuple(index_facts(i) for i in table.indexes)
    return TableFacts(
        schema=table.schema if schema is False else schema,  # type: ignore[arg-type]
        name=table.name,
        columns=cols,
        primary_key=tuple(c.name for c in pk.columns) if pk is not None else (),
        pk_name=name_text(pk.name) if pk is not None else None,
        foreign_keys=fks,
        indexes=idx,
        uniques=uniques,
        checks=checks,
        comment=table.comment,
    )
