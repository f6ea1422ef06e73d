"""Rows to migrate with, and proof that a downgrade kept them.

Why: a downgrade can restore the schema exactly and still lose every row
(drop the table, create it again).  So before each upgrade a few rows are
generated for every empty table from its reflected columns (NOT NULL, primary
and unique keys, foreign keys with parents filled first, enum labels and
``col IN (...)`` checks respected), every row is fingerprinted, and after the
downgrade each value the *upgrade* kept must be back unchanged.  Values the
upgrade itself destroyed (a dropped column or table) cannot come back and are
reported as such, not blamed on the downgrade.

Rows are read without type processing and each value is reduced to a string
(``1``, ``1.5``, ISO dates), so a column whose type went VARCHAR -> TEXT ->
VARCHAR still compares equal.
"""

from __future__ import annotations

import datetime as dt
import decimal
import itertools
import re
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

from .snapshot import SchemaDiff, Snapshot

ROWS_PER_TABLE = 3
MAX_PROBLEMS_PER_TABLE = 5
# seeded integer keys start here: clear of the small ids migrations insert
# themselves (``INSERT INTO roles (id, name) VALUES (1, 'admin')``), and
# still inside SMALLINT
SEED_ID_START = 9001


# ------------------------------------------------------------------ seeding


@dataclass
class SeedResult:
    """Rows inserted per table, and the tables that could not be seeded, with why."""

    inserted: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    samples: dict[str, dict[str, Any]] = field(default_factory=dict)  # first row inserted per table


def _in_list(table: Any) -> dict[str, list[str]]:
    """Allowed values from CHECK constraints of the form ``col IN ('a', 'b')``."""
    import sqlalchemy as sa

    found: dict[str, list[str]] = {}
    for constraint in table.constraints:
        if not isinstance(constraint, sa.CheckConstraint):
            continue
        text = str(getattr(constraint.sqltext, "text", constraint.sqltext))
        match = _IN_LIST.search(text) or _ANY_ARRAY.search(text)  # SQLite keeps IN, PostgreSQL says = ANY
        if match:
            found[match.group(1)] = re.findall(r"'((?:[^']|'')*)'", match.group(2))
    return found


_IN_LIST = re.compile(r"\(?\s*\"?(\w+)\"?\s*\)?\s+IN\s*\(([^)]*)\)", re.IGNORECASE)
_ANY_ARRAY = re.compile(r"\(*\"?(\w+)\"?\)*(?:::[\w ]+)?\s*=\s*ANY\s*\(+ARRAY\[(.*?)\]", re.IGNORECASE)


def _auto_pk(table: Any, dialect: str) -> str | None:
    """The single integer primary-key column the database numbers itself, if any."""
    import sqlalchemy as sa

    pk = list(table.primary_key.columns)
    if len(pk) != 1 or not isinstance(pk[0].type, sa.Integer):
        return None
    col = pk[0]
    if dialect == "sqlite":
        return col.name if type(col.type).__name__.upper() == "INTEGER" else None
    arg = getattr(col.server_default, "arg", None)
    default = str(arg) if arg is not None else ""
    if "nextval" in default or col.identity is not None or getattr(col, "autoincrement", None) is True:
        return col.name
    return None


def _string(name: str, i: int, length: int | None, plain: bool = False) -> str:
    if plain:  # digits: still valid after a later String -> Integer/Numeric conversion
        text = str(SEED_ID_START + i)
        return text if not length or len(text) <= length else str(i + 1)[:length]
    text = f"{name}_{i + 1}"
    if length and len(text) > length:
        text = (str(i + 1) + "abcdefghij" * length)[:length]
    return text


def generate_value(column: Any, i: int, allowed: dict[str, list[str]], plain: bool = False) -> Any:
    """A plausible value for ``column`` in row ``i`` (distinct per row);
    ``plain`` values survive the common later conversions (digit strings)."""
    import sqlalchemy as sa

    coltype = column.type
    if column.name in allowed and allowed[column.name]:
        return allowed[column.name][i % len(allowed[column.name])]
    enums = getattr(coltype, "enums", None)
    if enums:
        return enums[i % len(enums)]
    try:
        python_type = coltype.python_type
    except (NotImplementedError, AttributeError):
        python_type = None
    if isinstance(coltype, sa.Boolean) or python_type is bool:
        return i % 2 == 0
    if python_type is int:
        return i + 1
    if python_type is float:
        return i + 1.5
    if python_type is decimal.Decimal:
        scale = getattr(coltype, "scale", None) or 0
        precision = getattr(coltype, "precision", None)
        whole = i + 1 if precision is None or precision - scale >= 1 else 0
        value = decimal.Decimal(whole) + (decimal.Decimal("0.5") if scale else 0)
        return value.quantize(decimal.Decimal(1).scaleb(-scale)) if scale else value
    if python_type is dt.datetime:
        tz = dt.timezone.utc if getattr(coltype, "timezone", False) else None
        return dt.datetime(2024, 1, 1 + i, 12, 30, tzinfo=tz)
    if python_type is dt.date:
        return dt.date(2024, 1, 1 + i)
    if python_type is dt.time:
        return dt.time(12, i)
    if python_type is dt.timedelta:
        return dt.timedelta(hours=i + 1)
    if python_type is bytes:
        length = getattr(coltype, "length", None) or 4
        return bytes([65 + i]) * min(length, 4)
    if python_type is dict:
        return {"n": i + 1}
    if python_type is list:
        return []
    if python_type is uuid.UUID:
        return uuid.UUID(int=i + 1)
    return _string(column.name, i, getattr(coltype, "length", None), plain)


def _target(fk: Any) -> tuple[str, list[str]]:
    """(referred table's key, referred columns) of a foreign key, without resolving it;
    the key is ``schema.table`` for a table outside the default schema, as ``MetaData.tables`` keys it."""
    table = fk.elements[0].target_fullname.rsplit(".", 1)[0]
    return table, [el.target_fullname.rsplit(".", 1)[1] for el in fk.elements]


def _table_clause(key: str) -> Any:
    """``sa.table`` for a table key (``name`` or ``schema.name``)."""
    import sqlalchemy as sa

    schema, dot, name = key.rpartition(".")
    return sa.table(name, schema=schema) if dot else sa.table(key)


def _parent_rows(connection: Any, fk: Any) -> list[tuple[Any, ...]]:
    table, columns = _target(fk)
    quote = connection.dialect.identifier_preparer.quote
    schema, dot, name = table.rpartition(".")
    source = f"{quote(schema)}.{quote(name)}" if dot else quote(table)
    sql = f"SELECT {', '.join(quote(c) for c in columns)} FROM {source} LIMIT 50"
    return [tuple(r) for r in connection.exec_driver_sql(uncached(connection, sql))]


_reads = itertools.count(1)


def uncached(connection: Any, sql: str) -> str:
    """``sql`` with a comment that makes its text unique, on drivers that keep
    prepared statements by text (asyncpg, through SQLAlchemy's statement cache).

    Why: verify reads the same tables with the same text before and after each
    step; after an ``ALTER ... TYPE`` that SQLAlchemy did not see as DDL (plain
    SQL in ``op.execute``), asyncpg runs the statement prepared before it and
    PostgreSQL refuses it ("cached statement plan is invalid"), failing the
    transaction.  A text of its own is never found in that cache; the
    migrations' own statements are left as they are (at most pushed out of
    the cache by these, to be prepared again).
    """
    if connection.dialect.driver != "asyncpg":
        return sql
    return f"{sql} /* schemashift read {next(_reads)} */"


def _rows_for(
    table: Any, connection: Any, rows: int, minimal: bool, dialect: str, plain: bool = False, hints: Any = None
) -> list[dict[str, Any]] | str:
    """Rows to insert, or why none can be made."""
    import sqlalchemy as sa

    allowed = _in_list(table)
    auto = _auto_pk(table, dialect)
    keys = [c.name for c in table.primary_key.columns]
    int_key = keys[0] if len(keys) == 1 and isinstance(table.c[keys[0]].type, sa.Integer) else None
    fk_values: dict[str, list[Any]] = {}
    count = rows
    unique_cols = {c.name for c in table.primary_key.columns}
    for constraint in table.constraints:
        if isinstance(constraint, sa.UniqueConstraint):
            unique_cols.update(c.name for c in constraint.columns)
    for index in table.indexes:
        if index.unique:
            unique_cols.update(c.name for c in index.columns)
    for fk in table.foreign_key_constraints:
        local = [c.name for c in fk.columns]
        nullable = all(table.c[name].nullable for name in local)
        parent = _target(fk)[0]
        if parent == table.key:
            if nullable:
                continue
            return f"it has a NOT NULL foreign key to itself ({', '.join(local)})"
        parents = _parent_rows(connection, fk)
        if not parents:
            if nullable:
                continue
            return f"its parent table {parent} has no rows"
        if unique_cols & set(local):
            count = min(count, len(parents))
        for pos, name in enumerate(local):
            fk_values[name] = [parents[i % len(parents)][pos] for i in range(rows)]
    out = []
    for i in range(count):
        row: dict[str, Any] = {}
        for col in table.columns:
            always = col.identity is not None and getattr(col.identity, "always", False)
            if col.computed is not None or always:
                continue
            if col.name == int_key and col.name not in fk_values:
                row[col.name] = SEED_ID_START + i  # explicit, clear of ids the migrations insert
                continue
            if col.name in fk_values:  # before the key's own generator: a key that is also a foreign key
                row[col.name] = fk_values[col.name][i]  # (dag_run_note.dag_run_id) must point at a parent row
                continue
            if col.name == auto or col.identity is not None:
                continue
            if col.foreign_keys:  # nullable, and no parent row to point at
                row[col.name] = None
                continue
            later_not_null = hints is not None and col.name in hints.not_null
            if col.nullable and col.name not in unique_cols and not later_not_null and (
                minimal or (i == rows - 1 and not plain)
            ):
                row[col.name] = None  # exercise NULLs too (last row), or avoid unknown CHECKs
                continue
            later_numeric = hints is not None and col.name in hints.numeric
            if hints is not None and col.name in hints.json and isinstance(col.type, sa.String):
                row[col.name] = f'{{"n": {SEED_ID_START + i}}}'  # a JSON object, for a later cast to JSON
                continue
            row[col.name] = generate_value(col, i, allowed, plain or later_numeric)
        out.append(row)
    return out


def _parents_first(tables: list[Any]) -> list[Any]:
    """Order tables so each comes after the tables it references (cycles: by name)."""
    names = {t.key for t in tables}
    needs = {t.key: {_target(fk)[0] for fk in t.foreign_key_constraints} & names - {t.key} for t in tables}
    by_name = {t.key: t for t in tables}
    ordered: list[Any] = []
    while needs:
        ready = sorted(n for n, deps in needs.items() if not deps) or [sorted(needs)[0]]
        for name in ready:
            ordered.append(by_name[name])
            del needs[name]
        for deps in needs.values():
            deps.difference_update(ready)
    return ordered


def reflect_tables(connection: Any, keys: Iterable[str]) -> dict[str, Any]:
    """``sa.Table`` objects of ``keys`` (``name`` or ``schema.name``), foreign
    keys not followed (parents are read by name, not reflected)."""
    import sqlalchemy as sa

    metadata = sa.MetaData()
    by_schema: dict[str | None, list[str]] = {}
    keys = list(keys)
    for key in keys:
        schema, dot, name = key.rpartition(".")
        by_schema.setdefault(schema if dot else None, []).append(name if dot else key)
    for schema, only in by_schema.items():
        metadata.reflect(connection, only=only, schema=schema, resolve_fks=False)
    return {key: metadata.tables[key] for key in keys}


def seed_tables(
    connection: Any, names: Iterable[str], *, rows: int = ROWS_PER_TABLE, plain: bool = False, hints: Any = None,
    known_empty: bool = False, reflect: Any = reflect_tables,
) -> SeedResult:
    """Insert ``rows`` generated rows into each of ``names`` that is empty.

    Parents are filled before children.  Each table is inserted in a
    savepoint; a table whose rows the database refuses (twice: once with
    every column filled, once with nullable columns left NULL) is skipped
    and the reason kept.  ``known_empty``: the caller has just read every one
    of ``names`` and found it empty; ``reflect(connection, keys)`` gives the
    tables' ``sa.Table`` objects (``reflect_tables``, or a cache of its own).
    """
    import sqlalchemy as sa

    result = SeedResult()
    empty = sorted(set(names)) if known_empty else [
        name for name in sorted(set(names))
        if connection.execute(sa.select(sa.literal(1)).select_from(_table_clause(name)).limit(1)).first() is None
    ]
    if not empty:
        return result
    try:  # only the empty tables
        tables = reflect(connection, empty)
    except Exception as exc:  # a table reflection chokes on: say so, seed none
        for name in empty:
            result.skipped[name] = f"cannot reflect: {_first_line(exc)}"
        return result
    dialect = connection.dialect.name
    for table in _parents_first([tables[name] for name in empty]):
        reason = ""
        for minimal in (False, True):
            made = _rows_for(table, connection, rows, minimal, dialect, plain, hints)
            if isinstance(made, str):
                reason = made
                break
            if not made:
                reason = "no rows could be made"
                break
            try:
                with connection.begin_nested():
                    connection.execute(table.insert(), made)
            except Exception as exc:  # the database said no: try simpler rows, then give up
                reason = f"the database refused generated rows: {_first_line(exc)}"
                continue
            result.inserted[table.key] = len(made)
            result.samples[table.key] = made[0]
            reason = ""
            break
        if reason:
            result.skipped[table.key] = reason
    return result


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# ------------------------------------------------------------ fingerprints


def norm_value(value: Any) -> str | None:
    """One value as comparable text: equal data compares equal across types."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        value = decimal.Decimal(repr(value))
    if isinstance(value, decimal.Decimal):
        text = format(value.normalize(), "f")
        return text[:-2] if text.endswith(".0") else text
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    return str(value)


@dataclass
class TableRows:
    """Every row of one table: column names, key columns, normalised values."""

    columns: tuple[str, ...]
    key: tuple[str, ...]
    rows: list[tuple[str | None, ...]]

    def project(self, columns: Iterable[str]) -> list[tuple[str | None, ...]]:
        positions = [self.columns.index(c) for c in columns]
        return [tuple(r[p] for p in positions) for r in self.rows]

    def by_key(self, key: tuple[str, ...]) -> dict[tuple[str | None, ...], tuple[str | None, ...]]:
        positions = [self.columns.index(c) for c in key]
        return {tuple(r[p] for p in positions): r for r in self.rows}


def _norm_cell(value: Any) -> str | None:
    kind = type(value)
    if kind is str or value is None:
        return value
    return str(value) if kind is int else norm_value(value)


def _table_rows(info: Any, rows: Any) -> "TableRows":
    values = [tuple(map(_norm_cell, row)) for row in rows]
    key = info.primary_key.columns if info.primary_key else ()
    return TableRows(info.column_names, tuple(key), values)


def fingerprint(connection: Any, snapshot: Snapshot, only: Iterable[str] | None = None) -> dict[str, TableRows]:
    """All rows of every table in ``snapshot`` (or of ``only`` those), keyed by
    primary key when there is one.  Plain SQL, values as the driver returns them."""
    quote = connection.dialect.identifier_preparer.quote
    names = snapshot.tables if only is None else [n for n in only if n in snapshot.tables]
    out: dict[str, TableRows] = {}
    if connection.dialect.is_async:
        # through SQLAlchemy, not the driver's cursor (async drivers only work
        # behind its adaptation), each read with a text of its own: see ``uncached``
        for name in names:
            info = snapshot.tables[name]
            out[name] = _table_rows(info, connection.exec_driver_sql(uncached(connection, info.select_sql(quote))))
        return out
    cursor = connection.connection.cursor()  # the driver's own: hundreds of reads per walk
    try:
        for name in names:
            info = snapshot.tables[name]
            cursor.execute(info.select_sql(quote))
            out[name] = _table_rows(info, cursor.fetchall())
    finally:
        cursor.close()
    return out


# ---------------------------------------------------------- round trip


@dataclass(frozen=True)
class RowProblem:
    """Data the downgrade lost or changed."""

    table: str
    problem: str
    key: str = ""
    detail: str = ""

    def one_line(self) -> str:
        where = f"{self.table} row {self.key}" if self.key else self.table
        return f"{where}: {self.problem}{' (' + self.detail + ')' if self.detail else ''}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Loss:
    """Data the upgrade destroys and the downgrade does not bring back.

    ``rule``: ``SS-V101`` a dropped table or column, ``SS-V102`` deleted rows,
    ``SS-V103`` values changed in place.  A revision acknowledges a rule with
    ``# schemashift: allow SS-V101 -- <reason>`` (see ``acknowledge``).
    """

    rule: str
    table: str
    what: str
    count: int = 0
    example: str = ""

    def one_line(self) -> str:
        return f"[{self.rule}] {self.what}" + (f" (e.g. {self.example})" if self.example else "")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


DROPPED, DELETED, CHANGED = "SS-V101", "SS-V102", "SS-V103"


@dataclass
class RowCheck:
    problems: list[RowProblem] = field(default_factory=list)
    losses: list[Loss] = field(default_factory=list)
    values_checked: int = 0

    @property
    def lost_by_upgrade(self) -> list[str]:
        return [loss.one_line() for loss in self.losses]


def _fmt_key(key: tuple[str, ...], values: tuple[str | None, ...]) -> str:
    return ", ".join(f"{k}={v}" for k, v in zip(key, values))


def check_round_trip(
    before: dict[str, TableRows],
    after_up: dict[str, TableRows],
    after_down: dict[str, TableRows],
    up_diff: SchemaDiff,
) -> RowCheck:
    """Every value from before the upgrade must be back after the downgrade.

    A value that is not back is blamed on the downgrade (a ``RowProblem``)
    when the upgrade kept it: after the upgrade the same row (same key) of
    the same table (or the one it was renamed to) still held it in the same
    column (or the one it was renamed to).  Otherwise the upgrade destroyed
    it, and it is a ``Loss``: dropped table or column, deleted rows, or
    values changed in place.
    """
    check = RowCheck()
    for name, old in before.items():
        if not old.rows:
            continue
        down = after_down.get(name)
        new_name = up_diff.renamed_tables.get(name, name)
        up = after_up.get(new_name)
        if up is None:
            back = _rows_back(old, down)
            if back < len(old.rows):
                check.losses.append(
                    Loss(DROPPED, name, f"table {name}: the upgrade drops it with {len(old.rows)} row(s); "
                         f"{len(old.rows) - back} not restored by the downgrade", len(old.rows) - back)
                )
            continue
        mapping = {c: up_diff.column_after(name, c) for c in old.columns}
        kept = [c for c in old.columns if mapping[c] in up.columns]
        for c in old.columns:
            if c not in kept:
                lost = _values_not_back(old, down, c)
                if lost:
                    check.losses.append(
                        Loss(DROPPED, name, f"column {name}.{c}: the upgrade drops it; {lost} non-empty value(s) "
                             "not restored by the downgrade", lost)
                    )
        if not kept:
            continue
        if old.key and all(k in kept for k in old.key):
            _check_keyed(name, old, up, down, kept, mapping, check)
        else:
            _check_multiset(name, old, up, down, kept, mapping, check)
    return check


def _rows_back(old: TableRows, down: TableRows | None) -> int:
    """How many of ``old``'s rows are back, whole, in ``down``."""
    if down is None or any(c not in down.columns for c in old.columns):
        return 0
    return sum((Counter(old.rows) & Counter(down.project(old.columns))).values())


def _values_not_back(old: TableRows, down: TableRows | None, column: str) -> int:
    """Non-NULL values of ``column`` not back in ``down`` (by key when there is one)."""
    position = old.columns.index(column)
    values = [(r, r[position]) for r in old.rows if r[position] is not None]
    if not values:
        return 0
    if down is None or column not in down.columns:
        return len(values)
    if old.key and all(k in down.columns for k in old.key):
        rows = down.by_key(old.key)
        keys = [old.columns.index(k) for k in old.key]
        at = down.columns.index(column)
        return sum(
            1 for r, v in values
            if (found := rows.get(tuple(r[k] for k in keys))) is None or found[at] != v
        )
    return sum((Counter(v for _, v in values) - Counter(x[0] for x in down.project([column]))).values())


def _check_keyed(
    name: str, old: TableRows, up: TableRows, down: TableRows | None,
    kept: list[str], mapping: dict[str, str], check: RowCheck,
) -> None:
    up_rows = up.by_key(tuple(mapping[k] for k in old.key))
    down_rows = down.by_key(old.key) if down is not None and all(k in down.columns for k in old.key) else None
    down_cols = down.columns if down is not None else ()
    required: dict[tuple[str | None, ...], dict[str, str | None]] = {}
    deleted: list[str] = []
    changed: dict[str, list[str]] = {}
    for row in old.rows:
        values = dict(zip(old.columns, row))
        key = tuple(values[k] for k in old.key)
        back = dict(zip(down_cols, down_rows[key])) if down_rows is not None and key in down_rows else None
        up_row = up_rows.get(key)
        if up_row is None:
            if back is None:
                deleted.append(_fmt_key(old.key, key))
            continue
        up_values = dict(zip(up.columns, up_row))
        required[key] = {c: values[c] for c in kept if up_values.get(mapping[c]) == values[c]}
        for c in kept:
            if c in required[key]:
                continue
            if back is None or c not in back or back[c] != values[c]:
                after = back.get(c) if back is not None else None
                changed.setdefault(c, []).append(f"{_fmt_key(old.key, key)}: {values[c]!r} -> {up_values.get(mapping[c])!r}"
                                                 + (f", back as {after!r}" if back is not None and c in back else ""))
    if deleted:
        check.losses.append(
            Loss(DELETED, name, f"table {name}: the upgrade deletes {len(deleted)} row(s); not restored by the downgrade",
                 len(deleted), deleted[0])
        )
    for column, examples in changed.items():
        check.losses.append(
            Loss(CHANGED, name, f"column {name}.{column}: the upgrade changes {len(examples)} value(s) in place; "
                 "not restored by the downgrade", len(examples), examples[0])
        )
    if not required:
        return
    check.values_checked += sum(len(v) for v in required.values())
    if down is None:
        check.problems.append(RowProblem(name, f"table is gone after the downgrade; {len(required)} row(s) lost"))
        return
    missing_cols = sorted({c for cells in required.values() for c in cells if c not in down.columns})
    for col in missing_cols:
        check.problems.append(RowProblem(name, f"column {col} is gone after the downgrade; its values are lost"))
    if down_rows is None:
        return
    problems = []
    for key, cells in required.items():
        row = down_rows.get(key)
        label = _fmt_key(old.key, key)
        if row is None:
            problems.append(RowProblem(name, "row lost", label))
            continue
        values = dict(zip(down.columns, row))
        diffs = [f"{c}: {v!r} -> {values[c]!r}" for c, v in cells.items() if c in values and values[c] != v]
        if diffs:
            problems.append(RowProblem(name, "row changed", label, "; ".join(diffs)))
    _add_capped(check, name, problems)


def _check_multiset(
    name: str, old: TableRows, up: TableRows, down: TableRows | None,
    kept: list[str], mapping: dict[str, str], check: RowCheck,
) -> None:
    before_rows = Counter(old.project(kept))
    survived = before_rows & Counter(up.project([mapping[c] for c in kept]))
    gone = before_rows - survived  # deleted or changed by the upgrade: cannot tell which without a key
    if gone:
        back = Counter(down.project(kept)) if down is not None and all(c in down.columns for c in kept) else Counter()
        not_back = gone - back
        if not_back:
            example = _fmt_key(tuple(kept), next(iter(not_back)))
            check.losses.append(
                Loss(DELETED, name, f"table {name}: the upgrade deletes or rewrites {sum(not_back.values())} row(s); "
                     "not restored by the downgrade", sum(not_back.values()), example)
            )
    if not survived:
        return
    check.values_checked += sum(survived.values()) * len(kept)
    if down is None:
        check.problems.append(
            RowProblem(name, f"table is gone after the downgrade; {sum(survived.values())} row(s) lost")
        )
        return
    present = [c for c in kept if c in down.columns]
    if len(present) < len(kept):
        for col in kept:
            if col not in present:
                check.problems.append(RowProblem(name, f"column {col} is gone after the downgrade; its values are lost"))
        positions = [kept.index(c) for c in present]
        survived = Counter({tuple(r[p] for p in positions): n for r, n in survived.items()})
        kept = present
    missing = survived - Counter(down.project(kept))
    problems = [
        RowProblem(name, "row lost" + (f" ({n} copies)" if n > 1 else ""), _fmt_key(tuple(kept), row))
        for row, n in missing.items()
    ]
    _add_capped(check, name, problems)


def _add_capped(check: RowCheck, name: str, problems: list[RowProblem]) -> None:
    check.problems += problems[:MAX_PROBLEMS_PER_TABLE]
    if len(problems) > MAX_PROBLEMS_PER_TABLE:
        check.problems.append(RowProblem(name, f"and {len(problems) - MAX_PROBLEMS_PER_TABLE} more row(s)"))
