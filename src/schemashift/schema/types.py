"""The one type classifier: a SQLAlchemy type reduced to a family and its limits.

``describe_type`` answers "what kind of values does this column hold?" for
every caller: type conversions (``safety/casts.plan_cast``), rename evidence
(``TypeInfo.storage``: families that store values alike), the lint rules,
verify's snapshots and fill-down placeholders.  ``sqlite_affinity`` is SQLite's
own rule for a declared type text, for what is only known as DDL text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator, TypeEngine

INT_BITS = {"SmallInteger": 16, "Integer": 32, "BigInteger": 64}
INT_RANGE = {16: 2**15, 32: 2**31, 64: 2**63}

#: families whose values are stored alike (an enum is text, a float a number)
STORAGE = {"enum": "string", "float": "numeric", "jsonb": "json"}


@dataclass(frozen=True)
class TypeInfo:
    """What matters about a type for converting, comparing or seeding its values."""

    #: integer numeric float string boolean uuid json jsonb datetime date time interval
    #: enum binary array null other
    family: str
    length: int | None = None
    bits: int | None = None
    precision: int | None = None
    scale: int | None = None
    timezone: bool = False
    enum_name: str | None = None
    enum_values: tuple[str, ...] = ()
    native_enum: bool = False
    type_: Any = field(default=None, compare=False, repr=False)
    dialect: Any = field(default=None, compare=False, repr=False)

    @cached_property
    def sql(self) -> str:
        """The DDL type for the dialect (rendered when first asked: rendering is the slow part)."""
        return compile_type(self.type_, self.dialect) if self.type_ is not None else "NULL"

    @property
    def storage(self) -> str:
        """The family of stored values: equal for two columns that can hold the same data
        unchanged (an unknown type is only like itself)."""
        if self.family == "other":
            return "other:" + type(self.type_).__name__.lower()
        return STORAGE.get(self.family, self.family)


def unwrap(type_: TypeEngine, dialect: Any) -> TypeEngine:
    """The type the database actually stores (TypeDecorators and variants resolved)."""
    seen = 0
    while isinstance(type_, TypeDecorator) and seen < 10:
        type_ = type_.load_dialect_impl(dialect)
        seen += 1
    variants = getattr(type_, "_variant_mapping", None)
    if variants and dialect.name in variants:
        return unwrap(variants[dialect.name], dialect)
    return type_


def compile_type(type_: TypeEngine, dialect: Any) -> str:
    try:
        return type_.compile(dialect=dialect)
    except Exception:  # a type this dialect cannot render: show what we can
        return type(type_).__name__.upper()


def _default_dialect() -> Any:
    from sqlalchemy.engine.default import DefaultDialect

    return DefaultDialect()


def describe_type(type_: TypeEngine | type | None, dialect: Any = None) -> TypeInfo:
    """The family and limits of ``type_`` as ``dialect`` stores it (default: generic SQL)."""
    if dialect is None:
        dialect = _default_dialect()
    if type_ is None:
        return TypeInfo("null", dialect=dialect)
    if isinstance(type_, type):
        type_ = type_()
    t = unwrap(type_, dialect)
    info: dict[str, Any] = {"type_": type_, "dialect": dialect}
    if isinstance(t, sa.Enum):
        native = bool(t.native_enum and dialect.name == "postgresql" and t.name)
        return TypeInfo("enum", length=t.length, enum_name=t.name, enum_values=tuple(t.enums), native_enum=native, **info)
    if isinstance(t, sa.Boolean):
        return TypeInfo("boolean", **info)
    if isinstance(t, sa.Integer):
        bits = 64 if isinstance(t, sa.BigInteger) else 16 if isinstance(t, sa.SmallInteger) else 32
        return TypeInfo("integer", bits=bits, **info)
    if isinstance(t, sa.Float):
        return TypeInfo("float", precision=t.precision, **info)
    if isinstance(t, sa.Numeric):
        return TypeInfo("numeric", precision=t.precision, scale=t.scale, **info)
    if isinstance(t, sa.JSON):
        return TypeInfo("jsonb" if "JSONB" in type(t).__name__.upper() else "json", **info)
    if isinstance(t, sa.Uuid):
        return TypeInfo("uuid", **info)
    if isinstance(t, sa.DateTime):
        return TypeInfo("datetime", timezone=bool(t.timezone), **info)
    if isinstance(t, sa.Date):
        return TypeInfo("date", **info)
    if isinstance(t, sa.Time):
        return TypeInfo("time", timezone=bool(getattr(t, "timezone", False)), **info)
    if isinstance(t, sa.Interval) or type(t).__name__.upper() == "INTERVAL":  # PostgreSQL's native INTERVAL
        return TypeInfo("interval", **info)
    if isinstance(t, sa.String):
        return TypeInfo("string", length=t.length, **info)
    if isinstance(t, sa.LargeBinary):
        return TypeInfo("binary", length=getattr(t, "length", None), **info)
    if isinstance(t, sa.ARRAY):
        return TypeInfo("array", **info)
    if isinstance(t, sa.types.NullType):
        return TypeInfo("null", **info)
    return TypeInfo("other", **info)


def sqlite_affinity(declared: str) -> str:
    """SQLite's column affinity for a declared type text
    (https://www.sqlite.org/datatype3.html#determination_of_column_affinity)."""
    upper = declared.upper()
    if "INT" in upper:
        return "INTEGER"
    if any(k in upper for k in ("CHAR", "CLOB", "TEXT")):
        return "TEXT"
    if "BLOB" in upper or not upper:
        return "BLOB"
    if any(k in upper for k in ("REAL", "FLOA", "DOUB")):
        return "REAL"
    return "NUMERIC"


__all__ = ["INT_BITS", "INT_RANGE", "TypeInfo", "compile_type", "describe_type", "sqlite_affinity", "unwrap"]
