"""Property: a conversion or rebuild either refuses naming the rows, or keeps every row and value.

Hypothesis generates SQLite tables (random declared types, values of any
storage class: NULLs, extreme integers, 2**53 + 1, floats, unparseable
dates, long and unicode strings, digit strings like '01'), constraints
(UNIQUE with each ON CONFLICT clause, CHECK, a child table with a foreign
key and ON DELETE CASCADE, triggers naming the table in any letter case),
then applies one random operation: a column type conversion (with or
without ``allow_loss``), an added UNIQUE, NOT NULL, or naming a constraint.

Asserted every time:
- refused: the refusal names rows (a count with examples, or row keys) and
  the database is exactly as before;
- done: every row is there with its rowid, untouched columns are equal, the
  converted value reads back as the same value (``same_value``) unless
  ``allow_loss`` was given, and every trigger, index and child row survives.

Bounded: a fixed number of examples on an in-memory database (a few seconds).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import schemashift.autogen.type_ops  # noqa: F401  (op.convert_column)
from schemashift.autogen.type_ops import ConvertColumnOp
from schemashift.errors import Refused
from schemashift.safety import rebuild as rb
from schemashift.safety.precheck import ConversionWouldLoseData, NullsInColumn
from schemashift.safety.row_identity import RebuildWouldLoseRows

TYPES = {
    "INTEGER": sa.Integer(),
    "BIGINT": sa.BigInteger(),
    "TEXT": sa.Text(),
    "VARCHAR(10)": sa.String(10),
    "FLOAT": sa.Float(),
    "NUMERIC": sa.Numeric(),
    "DATETIME": sa.DateTime(),
    "DATE": sa.Date(),
}
COLUMNS = ("a", "b", "c")

values = st.one_of(
    st.none(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.sampled_from([0, 1, -1, 2**53 + 1, 2**63 - 1, -(2**63), 2**60]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.30000000000000004, 1.5, 1e300, -0.0]),
    st.sampled_from([
        "1", "01", " 7", "1.0", "1e3", "abc", "", "2024-01-06 00:00:00.000000", "2024-01-06 12:30:00.000000",
        "2024/01/06 00:00:00", "06.01.2024", "2024-01-06", "x" * 300, "żółć ✓", "NULL",
    ]),
    st.text(max_size=30),
)


@st.composite
def tables(draw):
    types = draw(st.lists(st.sampled_from(list(TYPES)), min_size=len(COLUMNS), max_size=len(COLUMNS)))
    alias = draw(st.booleans())  # id INTEGER PRIMARY KEY (the rowid) or a plain rowid table
    unique_on = draw(st.sampled_from([None, *COLUMNS]))
    clause = draw(st.sampled_from(["", " ON CONFLICT REPLACE", " ON CONFLICT IGNORE", " ON CONFLICT ABORT"]))
    check = draw(st.booleans())
    child = alias and draw(st.booleans())
    trigger_name = draw(st.sampled_from(["t", "T"]))
    rows = draw(st.lists(st.tuples(*(values for _ in COLUMNS)), min_size=1, max_size=8))
    return types, alias, unique_on, clause, check, child, trigger_name, rows


@st.composite
def operations(draw):
    kind = draw(st.sampled_from(["convert", "convert", "convert", "unique", "not_null", "name"]))
    column = draw(st.sampled_from(COLUMNS))
    return kind, column, draw(st.sampled_from(list(TYPES))), draw(st.booleans()), draw(
        st.sampled_from(["", " ON CONFLICT REPLACE", " ON CONFLICT IGNORE"])
    )


def build(conn, table) -> None:
    types, alias, unique_on, clause, check, child, trigger_name, data = table
    cols = [f"{c} {t}" + (f" UNIQUE{clause}" if c == unique_on else "") for c, t in zip(COLUMNS, types)]
    if check:
        cols.append("CHECK (length(c) < 1000 OR c IS NULL)")
    pk = "id INTEGER PRIMARY KEY, " if alias else ""
    conn.exec_driver_sql(f"CREATE TABLE t ({pk}{', '.join(cols)})")
    conn.exec_driver_sql("CREATE TABLE log (what)")
    conn.exec_driver_sql(f"CREATE TRIGGER t_log AFTER UPDATE ON {trigger_name} BEGIN INSERT INTO log VALUES (new.a); END")
    conn.exec_driver_sql(f"CREATE INDEX ix_t_b ON {trigger_name} (b)")
    for row in data:
        try:
            conn.exec_driver_sql("SAVEPOINT r")
            conn.exec_driver_sql("INSERT INTO t (a, b, c) VALUES (?, ?, ?)", row)
            conn.exec_driver_sql("RELEASE r")
        except sa.exc.IntegrityError:  # ABORT on a duplicate: that row is not part of the table
            conn.exec_driver_sql("ROLLBACK TO r")
            conn.exec_driver_sql("RELEASE r")
    if child:
        conn.exec_driver_sql("CREATE TABLE kids (id INTEGER PRIMARY KEY, t_id INTEGER REFERENCES t (id) ON DELETE CASCADE)")
        conn.exec_driver_sql("INSERT INTO kids (t_id) SELECT id FROM t")


def snapshot(conn) -> tuple:
    data = [tuple(r) for r in conn.exec_driver_sql("SELECT rowid, * FROM t ORDER BY rowid")]
    schema = [tuple(r) for r in conn.exec_driver_sql("SELECT type, name, sql FROM sqlite_master ORDER BY name")]
    kids = []
    if conn.exec_driver_sql("SELECT count(*) FROM sqlite_master WHERE name = 'kids'").scalar():
        kids = [tuple(r) for r in conn.exec_driver_sql("SELECT * FROM kids ORDER BY id")]
    return data, schema, kids


def _number(text: str):
    try:
        return Decimal(text.strip())
    except (InvalidOperation, ValueError):
        return None


def same_value(old, new) -> bool:
    """Does ``new`` (after the conversion) stand for the same value as ``old``?"""
    if old is None or new is None:
        return old is None and new is None
    if type(old) is type(new) and old == new:
        return True
    if isinstance(old, (int, float)) and isinstance(new, (int, float)):
        return old == new  # Python compares int and float exactly
    if isinstance(old, str) and isinstance(new, (int, float)):
        parsed = _number(old)
        if parsed is None:
            return False
        return float(old) == new if isinstance(new, float) else parsed == new
    if isinstance(old, (int, float)) and isinstance(new, str):
        parsed = _number(new)
        return parsed is not None and (float(new) == old if isinstance(old, float) else parsed == old)
    if isinstance(old, str) and isinstance(new, str):
        try:  # DATETIME -> DATE at midnight
            return dt.datetime.fromisoformat(old) == dt.datetime.fromisoformat(new)
        except ValueError:
            return False
    return False


def names_rows(error: Refused) -> bool:
    if isinstance(error, (ConversionWouldLoseData, NullsInColumn)):
        reports = error.reports if isinstance(error, ConversionWouldLoseData) else [error.report]
        return all(r.count > 0 and (r.examples or r.check.reason == "is NULL") for r in reports)
    if isinstance(error, RebuildWouldLoseRows):
        return bool(re.search(r"\b(id|rowid) -?\d+", error.one_line()))
    return False


def the_op(table, op):
    types, alias, unique_on, *_ = table
    kind, column, target, allow_loss, clause = op
    index = COLUMNS.index(column)
    if kind == "convert":
        return ConvertColumnOp("t", column, TYPES[target], TYPES[types[index]], allow_loss=allow_loss)
    if kind == "unique":
        if column == unique_on:  # two UNIQUEs with different ON CONFLICT clauses: SQLite rejects the DDL
            return None
        return rb.RebuildTableOp("t", add_constraints=[f"CONSTRAINT uq_t_{column} UNIQUE ({column}){clause}"])
    if kind == "not_null":
        return rb.RebuildTableOp("t", alter_columns={column: {"nullable": False}})
    if unique_on is None:
        return None
    return rb.RebuildTableOp("t", name_constraints=[({"type": "unique", "columns": [unique_on]}, f"uq_t_{unique_on}")])


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(table=tables(), op=operations())
def test_a_conversion_or_rebuild_refuses_or_keeps_every_row_and_value(table, op):
    operation = the_op(table, op)
    if operation is None:
        return
    engine = sa.create_engine("sqlite://", poolclass=sa.pool.StaticPool)
    with engine.connect() as conn:
        conn.connection.dbapi_connection.isolation_level = None
        conn.exec_driver_sql("BEGIN")
        build(conn, table)
        conn.exec_driver_sql("COMMIT")
        before = snapshot(conn)
        conn.exec_driver_sql("BEGIN")
        try:
            Operations(MigrationContext.configure(conn)).invoke(operation)
        except Refused as error:
            conn.exec_driver_sql("ROLLBACK")
            assert names_rows(error), error.one_line()
            assert snapshot(conn) == before
            return
        conn.exec_driver_sql("COMMIT")
        after = snapshot(conn)
    rows_before, schema_before, kids_before = before
    rows_after, schema_after, kids_after = after
    assert [r[0] for r in rows_after] == [r[0] for r in rows_before], "a row was lost or renumbered"
    assert kids_after == kids_before
    objects = lambda schema: {(t, n) for t, n, sql in schema if t in ("trigger", "index") and sql}  # noqa: E731
    assert objects(schema_after) == objects(schema_before)
    kind, column, _target, allow_loss, _clause = op
    offset = 1 + (1 if table[1] else 0)  # rowid, then id when it is a column
    changed = offset + COLUMNS.index(column)
    for old, new in zip(rows_before, rows_after):
        for i, (a, b) in enumerate(zip(old, new)):
            if i == changed and kind == "convert":
                assert allow_loss or same_value(a, b), f"{column}: {a!r} became {b!r} silently"
            else:
                assert a == b and type(a) is type(b), f"column {i}: {a!r} became {b!r}"
