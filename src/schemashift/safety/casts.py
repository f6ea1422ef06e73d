"""Plan data-preserving type conversions, per dialect, from SQLAlchemy types.

Autogenerate notices a column's type change but writes no conversion:
PostgreSQL then stops with ``column cannot be cast automatically`` (Alembic
declined to guess a ``USING`` clause, sqlalchemy/alembic#963), and SQLite
cannot change a type without a table rebuild.  ``plan_cast`` looks at the
pair of types (``describe_type`` reduces each to a family: integer, string,
uuid, json, ...) and returns a ``CastPlan``: the expression that converts a
value, a variant that maps unconvertible values to NULL or truncates them
(used only with ``allow_loss=True``), and ``LossCheck`` predicates that find
the rows a conversion would lose, so the migration can refuse before it
starts.  Planning is pure: types in, SQL text out, no database.

PostgreSQL checks use a ``pg_temp`` function that tries the real cast and
returns NULL where PostgreSQL would raise (``try_cast_function``): exact for
every input syntax PostgreSQL accepts, and PostgreSQL 15 has no
``pg_input_is_valid``.  SQLite checks compare ``CAST`` results with the
stored value, and lengths.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator, TypeEngine

from ..schema.sql import tokenize
from ..schema.types import INT_RANGE, TypeInfo, describe_type
from .precheck import LossCheck


@dataclass(frozen=True)
class CastPlan:
    """How to convert a column's values, and how to find the values that would not survive."""

    using: str | None  # SQL computing the new value; None: the database converts by itself
    lossy_using: str | None  # the same, mapping what cannot convert to NULL / truncating
    checks: tuple[tuple[str, str], ...] = ()  # (predicate, reason): rows where it is true lose data
    helpers: tuple[str, ...] = ()  # SQL to run before the checks (PostgreSQL pg_temp functions)
    cleanup: tuple[str, ...] = ()  # SQL to run after converting (the helpers depend on the types)
    note: str = ""

    def loss_checks(self, table: str, column: str, schema: str | None = None) -> list[LossCheck]:
        return [LossCheck(table, column, pred, reason, schema) for pred, reason in self.checks]


# ------------------------------------------------------------------ shared rules


def _narrower_string(old: TypeInfo, new: TypeInfo) -> int | None:
    """The new length limit if it is tighter than the old one."""
    if new.family not in ("string", "enum") or new.length is None:
        return None
    if old.family in ("string", "enum") and old.length is not None and old.length <= new.length:
        return None
    return new.length


def _numeric_limits(old: TypeInfo, new: TypeInfo) -> tuple[int | None, int | None]:
    """(scale, integer digits) the new numeric type imposes, if tighter than the old."""
    if new.family != "numeric" or new.precision is None:
        return None, None
    scale = new.scale or 0
    digits = new.precision - scale
    if old.family == "numeric" and old.precision is not None:
        old_scale = old.scale or 0
        tighter_scale = scale < old_scale
        tighter_digits = digits < old.precision - old_scale
        return (scale if tighter_scale else None), (digits if tighter_digits else None)
    if old.family == "integer":
        return None, digits
    return scale, digits


def same_storage(old: TypeInfo, new: TypeInfo) -> bool:
    """True when every old value fits the new type unchanged (widening or equal)."""
    if old.family != new.family:
        return False
    if old.family == "string":
        return new.length is None or (old.length is not None and old.length <= new.length)
    if old.family == "integer":
        return (new.bits or 32) >= (old.bits or 32)
    if old.family == "numeric":
        scale, digits = _numeric_limits(old, new)
        return scale is None and digits is None
    if old.family == "float":
        return (new.precision or 53) >= (old.precision or 53)
    if old.family == "enum":
        return old.enum_name == new.enum_name and set(old.enum_values) <= set(new.enum_values)
    if old.family in ("datetime", "time"):
        return old.timezone == new.timezone
    return old.sql == new.sql


# ------------------------------------------------------------------ PostgreSQL


#: A text that reads as a number but whose digits say more than the number keeps: the
#: zero of a zip code or an account number ('01234' -> 1234), spaces around it.  Going
#: back gives '1234', so the value is lost even though the number is the same.
PADDED = "has leading zeros or spaces that a number does not keep"


def try_cast_function(expr: str, old_sql: str, new_sql: str) -> tuple[str, str, str]:
    """(name, CREATE, DROP) of a ``pg_temp`` function returning ``expr`` of ``v``, or NULL where it raises.

    It must be dropped after the conversion: it depends on both types, and a
    downgrade may drop one of them (an enum) in the same transaction.
    """
    digest = hashlib.sha1(f"{expr}|{old_sql}|{new_sql}".encode()).hexdigest()[:12]
    name = f"pg_temp.schemashift_try_{digest}"
    create = (
        f"CREATE OR REPLACE FUNCTION {name}(v {old_sql}) RETURNS {new_sql} LANGUAGE plpgsql AS $schemashift$\n"
        f"BEGIN\n  RETURN {expr};\nEXCEPTION WHEN others THEN\n  RETURN NULL;\nEND\n$schemashift$"
    )
    return name, create, f"DROP FUNCTION IF EXISTS {name}({old_sql})"


def substitute_column(expr: str, column: str, replacement: str) -> str:
    """Replace references to ``column`` in a SQL expression (token-aware).

    A quoted token matches the name exactly, an unquoted one case-insensitively
    (PostgreSQL folds unquoted names to lower case).
    """
    out, last = [], 0
    for tok in tokenize(expr):
        hit = (tok.kind == "quoted" and tok.ident == column) or (
            tok.kind == "word" and tok.text.lower() == column.lower()
        )
        if hit:
            out.append(expr[last : tok.start])
            out.append(replacement)
            last = tok.end
    out.append(expr[last:])
    return "".join(out)


def pg_using(col: str, old: TypeInfo, new: TypeInfo) -> str | None:
    """The USING expression for the pair; None when PostgreSQL needs none."""
    if same_storage(old, new) and old.family != "enum":
        return None
    if old.family == "integer" and new.family == "boolean":
        return f"{col} <> 0"
    if old.family == "boolean" and new.family in ("integer", "numeric", "float"):
        return f"{col}::integer::{new.sql}" if new.sql.upper() != "INTEGER" else f"{col}::integer"
    if old.family == "datetime" and new.family == "datetime" and old.timezone != new.timezone:
        return f"{col} AT TIME ZONE 'UTC'"
    if old.family == "enum" and new.family == "enum":
        return f"{col}::text::{new.sql}"
    if old.family in ("json", "jsonb") and new.family not in ("json", "jsonb", "string"):
        return f"({col} #>> '{{}}')::{new.sql}"
    return f"{col}::{new.sql}"


def plan_postgresql(col: str, name: str, old: TypeInfo, new: TypeInfo, using: str | None = None) -> CastPlan:
    """Plan a conversion of column ``name`` (``col`` when quoted) on PostgreSQL."""
    planned = pg_using(col, old, new)
    using = using or planned
    if using is None:
        return CastPlan(None, None)
    fn_expr = substitute_column(using, name, "v")
    fname, create, drop = try_cast_function(fn_expr, old.sql, new.sql)
    checks: list[tuple[str, str]] = [(f"{col} IS NOT NULL AND {fname}({col}) IS NULL", f"cannot be converted to {new.sql}")]
    limit = _narrower_string(old, new)
    if limit is not None:
        checks.append((f"char_length({col}::text) > {limit}", f"is longer than {limit} characters"))
    if old.family == "integer" and new.family == "boolean":
        checks = [(f"{col} NOT IN (0, 1)", "is not 0 or 1")]
    if old.family in ("numeric", "float") and new.family == "integer":
        checks.append((f"{col} <> trunc({col})", "has a fractional part"))
    if old.family == "string" and new.family in ("integer", "numeric", "float") and using == planned:
        text = f"{col}::text"
        checks.append((
            f"{fname}({col}) IS NOT NULL AND ({text} ~ '^[[:space:]]|[[:space:]]$' OR ltrim({text}, '+-') ~ '^0[0-9]')",
            PADDED,
        ))
    scale, _digits = _numeric_limits(old, new)
    if scale is not None and old.family in ("numeric", "float"):
        checks.append((f"{col} <> round({col}::numeric, {scale})", f"has more than {scale} decimal places"))
    if old.family == "datetime" and new.family == "date":
        checks.append((f"{col}::time <> '00:00'", "has a time of day"))
    checks.extend(_pg_round_trip(col, old, new))
    if old.family == "enum" and new.family == "enum":
        gone = [v for v in old.enum_values if v not in new.enum_values]
        if gone:
            listed = ", ".join("'" + v.replace("'", "''") + "'" for v in gone)
            checks = [(f"{col}::text IN ({listed})", f"is a value {new.sql} no longer has")]
    lossy = f"{fname}({col})"
    if limit is not None and new.family == "string":
        lossy = f"left({col}::text, {limit})::{new.sql}"
    elif old.family == "integer" and new.family == "boolean":
        lossy = using
    return CastPlan(using, lossy, tuple(checks), (create,), (drop,))


def _pg_round_trip(col: str, old: TypeInfo, new: TypeInfo) -> list[tuple[str, str]]:
    """Checks for casts PostgreSQL makes without an error but with a different value.

    A number that becomes a float is compared with the float read back exactly:
    an integer through ``int8`` (exact for an integral double), a decimal
    through the float's shortest text (what a reader of the column sees).
    """
    if new.family == "float" and old.family == "integer":
        as_float = f"{col}::{new.sql}::float8"
        return [(f"{col} IS NOT NULL AND (abs({as_float}) >= 9.2e18 OR {as_float}::int8 <> {col})",
                 f"loses precision as {new.sql}")]
    if new.family == "float" and old.family == "numeric":
        return [(f"{col} IS NOT NULL AND {col}::{new.sql}::float8::text::numeric <> {col}",
                 f"loses digits as {new.sql}")]
    if new.family == "float" and old.family == "float" and (new.precision or 53) < (old.precision or 53):
        return [(f"{col} IS NOT NULL AND {col}::{new.sql}::float8 <> {col}::float8", f"loses digits as {new.sql}")]
    if new.family == "numeric" and old.family == "float":
        return [(f"{col} IS NOT NULL AND {col}::{new.sql}::float8 <> {col}::float8",
                 f"loses digits as {new.sql}")]
    return []


# ------------------------------------------------------------------ SQLite


def _sql_list(values: tuple[str, ...]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


BOOLEAN_WORDS = {"1": 1, "0": 0, "true": 1, "false": 0, "t": 1, "f": 0, "yes": 1, "no": 0, "y": 1, "n": 0}


NUMBERS = ("integer", "boolean", "float", "numeric")


def _sqlite_affinity_cast(col: str, old: TypeInfo, new: TypeInfo, checks: list[tuple[str, str]]) -> tuple[str, str]:
    """Casts for number and text targets; other targets keep the value (affinity converts when lossless).

    ``CAST(x AS NUMERIC)`` of a non-number text is 0, so a CAST is only used
    where the target is a number or text, and a check flags every value the
    CAST would change (``CAST(x AS T) IS NOT x`` compares with SQLite's
    affinity rules, so '12' and 12 are the same value).
    """
    nn = f"{col} IS NOT NULL AND "
    target = {"integer": "INTEGER", "float": "REAL", "numeric": "NUMERIC", "string": "TEXT"}.get(new.family)
    if target is None:
        return col, col
    planned = f"CAST({col} AS {target})" if old.family != new.family else col
    if target == "TEXT" and old.family in NUMBERS:  # an INTEGER column may hold reals too
        # CAST(real AS TEXT) prints 15 digits (0.1 + 0.2 -> '0.3'); 17 where 15 do not read back
        planned = (
            f"CASE WHEN typeof({col}) = 'real' AND CAST(CAST({col} AS TEXT) AS REAL) <> {col} "
            f"THEN printf('%!.17g', {col}) ELSE CAST({col} AS TEXT) END"
        )
        # SQLite's printf is not exact near the ends of the double range: what still does not read back
        checks.append((f"{nn}typeof({col}) = 'real' AND CAST({planned} AS REAL) <> {col}", "cannot be written as text exactly"))
    lossy = planned
    if target == "INTEGER" and old.family in ("float", "numeric"):
        checks.append((f"{nn}CAST({col} AS INTEGER) IS NOT {col}", "has a fractional part"))
        lossy = f"CAST(round({col}) AS INTEGER)"  # like PostgreSQL: numbers are rounded
    elif target != "TEXT" and planned != col:
        # every value, not only text: a column of any declared type may hold any value, and SQLite
        # compares an integer with a real exactly (2**53 + 1 IS NOT CAST(2**53 + 1 AS REAL))
        word = {"INTEGER": "an integer", "REAL": f"a number {new.sql} holds exactly"}.get(target, "a number")
        checks.append((f"{nn}CAST({col} AS {target}) IS NOT {col}", f"is not {word}"))
        if old.family == "string":  # a number, but its text says more than the number keeps
            checks.append((
                f"{nn}typeof({col}) = 'text' AND CAST({col} AS {target}) = {col} "
                f"AND (trim({col}) <> {col} OR ltrim({col}, '+-') GLOB '0[0-9]*')",
                PADDED,
            ))
        rounds = f"typeof({col}) IN ('integer', 'real') OR " if target == "REAL" else ""  # numbers are rounded
        lossy = f"CASE WHEN {rounds}CAST({col} AS {target}) = {col} THEN CAST({col} AS {target}) END"
    if new.family == "integer" and old.family == "integer" and (new.bits or 64) < (old.bits or 64):
        bound = INT_RANGE[new.bits or 64]
        checks.append((f"{nn}({col} < -{bound} OR {col} >= {bound})", f"is out of range for {new.sql}"))
        lossy = f"CASE WHEN {col} >= -{bound} AND {col} < {bound} THEN {col} END"
    return planned, lossy


def plan_sqlite(col: str, old: TypeInfo, new: TypeInfo, using: str | None = None) -> CastPlan:
    """Plan a conversion of column ``col`` (already quoted) for a SQLite rebuild."""
    if using is None and (same_storage(old, new) or old.sql == new.sql):
        return CastPlan(None, None)
    nn = f"{col} IS NOT NULL AND "
    checks: list[tuple[str, str]] = []
    lossy: str | None = None
    fam = new.family
    if fam == "boolean" and old.family in ("string", "enum"):
        words = " ".join(f"WHEN '{w}' THEN {v}" for w, v in BOOLEAN_WORDS.items())
        planned = f"CASE lower(trim({col})) {words} END"
        checks.append((f"{nn}lower(trim({col})) NOT IN ({_sql_list(tuple(BOOLEAN_WORDS))})", "is not a boolean word"))
        lossy = planned
    elif fam == "boolean":
        planned = f"CASE WHEN {col} IS NULL THEN NULL WHEN {col} = 0 THEN 0 ELSE 1 END"
        checks.append((f"{nn}{col} NOT IN (0, 1)", "is not 0 or 1"))
        lossy = planned
    elif fam == "uuid" and old.family != "uuid":
        hexed = f"lower(replace(replace(replace(trim({col}), '-', ''), '{{', ''), '}}', ''))"
        ok = f"(length({hexed}) = 32 AND {hexed} NOT GLOB '*[^0-9a-f]*')"
        planned = hexed if "CHAR(32)" in new.sql.upper() else col
        checks.append((f"{nn}NOT {ok}", "is not a UUID"))
        lossy = f"CASE WHEN {ok} THEN {planned} END"
    elif old.family == "uuid" and fam == "string" and "CHAR(32)" in old.sql.upper():
        planned = (
            f"substr({col}, 1, 8) || '-' || substr({col}, 9, 4) || '-' || substr({col}, 13, 4) || '-' "
            f"|| substr({col}, 17, 4) || '-' || substr({col}, 21, 12)"
        )
    elif fam in ("json", "jsonb"):
        planned = col
        if old.family not in ("json", "jsonb"):
            checks.append((f"{nn}json_valid({col}) = 0", "is not valid JSON"))
            lossy = f"CASE WHEN json_valid({col}) THEN {col} END"
    elif fam == "enum":
        planned = col
        checks.append((f"{nn}{col} NOT IN ({_sql_list(new.enum_values)})", f"is not one of {', '.join(new.enum_values)}"))
        lossy = f"CASE WHEN {col} IN ({_sql_list(new.enum_values)}) THEN {col} END"
    elif fam in ("datetime", "date", "time") and old.family in ("string", "enum"):
        fn = {"datetime": "datetime", "date": "date", "time": "time"}[fam]
        planned = col
        checks.append((f"{nn}{fn}({col}) IS NULL", f"is not a {fam}"))
        lossy = f"CASE WHEN {fn}({col}) IS NOT NULL THEN {col} END"
    elif fam == "date" and old.family == "datetime":
        # date() of text SQLite cannot read is NULL; compare the whole value, fractions included
        planned = f"date({col})"
        checks.append((f"{nn}(typeof({col}) <> 'text' OR date({col}) IS NULL)", "is not a date-time SQLite can read"))
        checks.append((f"{nn}julianday({col}) <> julianday(date({col}))", "has a time of day"))
        lossy = planned
    else:
        planned, lossy = _sqlite_affinity_cast(col, old, new, checks)
    scale, digits = _numeric_limits(old, new)
    if scale is not None and old.family in ("numeric", "float"):
        checks.append((f"{nn}round({col}, {scale}) <> {col}", f"has more than {scale} decimal places"))
        lossy = f"round({col}, {scale})"
    if digits is not None:
        bound = 10**digits
        checks.append((f"{nn}abs({col}) >= {bound}", f"does not fit {new.sql}"))
        lossy = f"CASE WHEN abs({col}) < {bound} THEN {lossy or col} END"
    limit = _narrower_string(old, new)
    if limit is not None and fam == "string":
        checks.append((f"{nn}length({planned}) > {limit}", f"is longer than {limit} characters"))
        lossy = f"substr({planned}, 1, {limit})"
    final = using or planned
    if using is not None and using != planned:
        lossy = using
        checks = [c for c in checks if c[1] != PADDED]  # a hand-written conversion says what it keeps
    return CastPlan(None if final == col else final, lossy if lossy != col else None, tuple(checks))


def plan_cast(dialect: Any, column: str, old: TypeEngine | TypeInfo, new: TypeEngine | TypeInfo, using: str | None = None) -> CastPlan:
    """The conversion of ``column`` from ``old`` to ``new`` on ``dialect``."""
    old_info = old if isinstance(old, TypeInfo) else describe_type(old, dialect)
    new_info = new if isinstance(new, TypeInfo) else describe_type(new, dialect)
    col = dialect.identifier_preparer.quote(column)
    if dialect.name == "postgresql":
        return plan_postgresql(col, column, old_info, new_info, using)
    if dialect.name == "sqlite":
        return plan_sqlite(col, old_info, new_info, using)
    return CastPlan(using, using)


# ------------------------------------------------------------------ rendering


_BARE_TYPE = re.compile(r"(?<![\w.])([A-Z][A-Za-z0-9_]*)\(")


def _qualify_nested(text: str) -> str:
    """``ARRAY(Integer())`` -> ``ARRAY(sa.Integer())``: nested SQLAlchemy types need the prefix too."""
    import sqlalchemy.types as sa_types

    def fix(match: re.Match[str]) -> str:
        name = match.group(1)
        return f"sa.{name}(" if match.start() > 0 and hasattr(sa_types, name) else match.group(0)

    return _BARE_TYPE.sub(fix, text)


def render_type(type_: TypeEngine, autogen_context: Any) -> str:
    """Python source for ``type_`` in a migration file, adding the import it needs.

    The dialect's own renderer goes first (Alembic's ``impl.render_type``:
    PostgreSQL's JSONB, ARRAY, ...); otherwise SQLAlchemy's types render as
    ``sa.X(...)``, dialect types as ``postgresql.X(...)``, a project's own
    types (TypeDecorators) as ``module.X(...)`` with ``import module``.
    """
    imports = getattr(autogen_context, "imports", None)
    if isinstance(type_, type):
        type_ = type_()
    module = type(type_).__module__
    match = re.match(r"sqlalchemy\.dialects\.(\w+)", module)
    if match and imports is not None:
        imports.add(f"from sqlalchemy.dialects import {match.group(1)}")
    impl = getattr(getattr(autogen_context, "migration_context", None), "impl", None)
    rendered = impl.render_type(type_, autogen_context) if impl is not None else False
    if rendered:
        return rendered
    text = _qualify_nested(repr(type_))
    if match:
        return f"{match.group(1)}.{text}"
    if module.startswith("sqlalchemy."):
        return f"sa.{text}"
    if imports is not None:
        imports.add(f"import {module}")
    return f"{module}.{text}"


def user_type_imports(type_: Any) -> set[str]:
    """``import module`` lines for a project's own types (TypeDecorators, variants) inside ``type_``."""
    found: set[str] = set()
    stack = [type_]
    while stack:
        t = stack.pop()
        if t is None or isinstance(t, type):
            continue
        module = type(t).__module__
        if not module.startswith("sqlalchemy") and module != "builtins":
            found.add(f"import {module.split('.')[0] if module == '__main__' else module}")
        stack.extend(getattr(t, "_variant_mapping", {}).values())
        item = getattr(t, "item_type", None)
        if item is not None:
            stack.append(item)
    return found
