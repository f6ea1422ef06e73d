"""Issue 16: conversions and SQLite rebuilds that cannot lose a row, a value or a trigger.

Each reproduction from the issue runs a real migration operation on a real
database (raw SQL builds the tables, so inline clauses are exactly as a user
wrote them), then compares the rows value by value after the upgrade and
again after the downgrade (the operation's ``reverse()``), or checks that the
operation refuses naming the rows and leaves them untouched.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations

import schemashift.autogen.type_ops  # noqa: F401  (op.convert_column, op.alter_enum)
from schemashift.errors import Refused
from schemashift.safety import rebuild as rb
from schemashift.safety.precheck import ConversionWouldLoseData


def make_engine(url: str) -> sa.Engine:
    """SQLite with real transactions (BEGIN on begin), as the runner sets it up; any other URL as is."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    if engine.dialect.name == "sqlite":

        @sa.event.listens_for(engine, "connect")
        def on_connect(dbapi, _record):
            dbapi.isolation_level = None

        @sa.event.listens_for(engine, "begin")
        def on_begin(conn):
            conn.exec_driver_sql("BEGIN")

    return engine


def setup(engine: sa.Engine, script: str) -> None:
    with engine.begin() as conn:
        for statement in filter(None, (s.strip() for s in script.split(";\n"))):
            conn.exec_driver_sql(statement)


def rows(engine: sa.Engine, sql: str) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(sql)]


def typed_rows(engine: sa.Engine, table: str, **columns: sa.types.TypeEngine) -> list[tuple]:
    """Rows read through SQLAlchemy types (what an application sees), ordered by ``id``."""
    t = sa.Table(table, sa.MetaData(), sa.Column("id", sa.Integer), *(sa.Column(c, ty) for c, ty in columns.items()))
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(t).order_by(t.c.id))]


def migrate(engine: sa.Engine, op_factory):
    """Run one operation in a transaction; return it (for its reverse)."""
    operation = op_factory()
    with engine.begin() as conn:
        Operations(MigrationContext.configure(conn)).invoke(operation)
    return operation


def convert(table: str, column: str, new, old, **kw):
    from schemashift.autogen.type_ops import ConvertColumnOp

    return lambda: ConvertColumnOp(table, column, new, old, **kw)


def rebuild(table: str, **kw):
    return lambda: rb.RebuildTableOp(table, **kw)


def stored(engine: sa.Engine) -> list[tuple]:
    return rows(engine, "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name")


# ------------------------------------------------------------------ rows deleted by a REPLACE conflict

CODES = """
CREATE TABLE codes (id INTEGER PRIMARY KEY, code TEXT UNIQUE ON CONFLICT REPLACE, label TEXT);
INSERT INTO codes VALUES (1, '1', 'first'), (2, '01', 'second'), (3, '7', 'third')
"""


@pytest.mark.parametrize("allow_loss", [False, True])
def test_replace_conflict_after_a_conversion_is_refused_naming_the_rows(sqlite_url, allow_loss):
    engine = make_engine(sqlite_url)
    setup(engine, CODES)
    before = stored(engine), rows(engine, "SELECT * FROM codes ORDER BY id")
    with pytest.raises(Refused) as err:
        migrate(engine, convert("codes", "code", sa.Integer(), sa.Text(), allow_loss=allow_loss))
    message = err.value.one_line()
    if allow_loss:  # '1' and '01' become one key, and REPLACE would delete a row
        assert "codes" in message and "id 1" in message and "id 2" in message, message
    else:  # refused before that: '01' keeps a zero the integer does not
        assert "1 row of codes.code has leading zeros" in message and "'01'" in message, message
    assert (stored(engine), rows(engine, "SELECT * FROM codes ORDER BY id")) == before


def test_replace_unique_converts_and_back_when_no_rows_collide(sqlite_url):
    engine = make_engine(sqlite_url)
    setup(engine, CODES + ";\nUPDATE codes SET code = '2' WHERE id = 2")
    op = migrate(engine, convert("codes", "code", sa.Integer(), sa.Text()))
    assert rows(engine, "SELECT id, code, typeof(code), label FROM codes ORDER BY id") == [
        (1, 1, "integer", "first"), (2, 2, "integer", "second"), (3, 7, "integer", "third"),
    ]
    migrate(engine, op.reverse)
    assert rows(engine, "SELECT id, code, typeof(code), label FROM codes ORDER BY id") == [
        (1, "1", "text", "first"), (2, "2", "text", "second"), (3, "7", "text", "third"),
    ]
    assert "UNIQUE ON CONFLICT REPLACE" in rows(engine, "SELECT sql FROM sqlite_master WHERE name = 'codes'")[0][0]


@pytest.mark.parametrize("clause", ["ON CONFLICT REPLACE", "ON CONFLICT IGNORE", ""])
def test_added_unique_that_rows_violate_is_refused_with_their_keys(sqlite_url, clause):
    engine = make_engine(sqlite_url)
    setup(engine, "CREATE TABLE tags (id INTEGER PRIMARY KEY, tag TEXT);\n"
                  "INSERT INTO tags VALUES (1, 'a'), (2, 'b'), (5, 'a'), (9, NULL), (10, NULL)")
    before = rows(engine, "SELECT * FROM tags ORDER BY id")
    with pytest.raises(Refused) as err:
        migrate(engine, rebuild("tags", add_constraints=[f"CONSTRAINT uq_tags_tag UNIQUE (tag) {clause}"]))
    message = err.value.one_line()
    assert "uq_tags_tag" in message and "id 1" in message and "id 5" in message, message
    assert "id 9" not in message  # NULLs never collide
    assert rows(engine, "SELECT * FROM tags ORDER BY id") == before
    assert "uq_tags_tag" not in rows(engine, "SELECT sql FROM sqlite_master WHERE name = 'tags'")[0][0]
    # without the duplicate it is added, and the reverse drops it again
    setup(engine, "UPDATE tags SET tag = 'c' WHERE id = 5")
    fixed = rows(engine, "SELECT * FROM tags ORDER BY id")
    op = migrate(engine, rebuild("tags", add_constraints=[f"CONSTRAINT uq_tags_tag UNIQUE (tag) {clause}"]))
    assert rows(engine, "SELECT * FROM tags ORDER BY id") == fixed
    assert "uq_tags_tag" in rows(engine, "SELECT sql FROM sqlite_master WHERE name = 'tags'")[0][0]
    migrate(engine, op.reverse)
    assert rows(engine, "SELECT * FROM tags ORDER BY id") == fixed
    assert "uq_tags_tag" not in rows(engine, "SELECT sql FROM sqlite_master WHERE name = 'tags'")[0][0]


def test_added_check_that_rows_violate_is_refused_with_their_keys(sqlite_url):
    engine = make_engine(sqlite_url)
    setup(engine, "CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER);\nINSERT INTO t VALUES (1, 5), (2, -1), (3, NULL)")
    with pytest.raises(Refused) as err:
        migrate(engine, rebuild("t", add_constraints=["CONSTRAINT ck_t_n CHECK (n >= 0)"]))
    assert "ck_t_n" in err.value.one_line() and "id 2" in err.value.one_line()
    assert rows(engine, "SELECT * FROM t ORDER BY id") == [(1, 5), (2, -1), (3, None)]


def test_primary_key_replace_in_without_rowid_table_is_refused(sqlite_url):
    """A WITHOUT ROWID table keyed on a converted column: '1' and '01' become one key."""
    engine = make_engine(sqlite_url)
    setup(engine, "CREATE TABLE k (code TEXT PRIMARY KEY ON CONFLICT REPLACE, v TEXT) WITHOUT ROWID;\n"
                  "INSERT INTO k VALUES ('1', 'a'), ('01', 'b')")
    with pytest.raises(Refused, match="k"):
        migrate(engine, convert("k", "code", sa.Integer(), sa.Text(), allow_loss=True))
    assert rows(engine, "SELECT * FROM k ORDER BY v") == [("1", "a"), ("01", "b")]


# ------------------------------------------------------------------ values turned into NULL

def test_sqlite_datetime_to_date_refuses_unparseable_text(sqlite_url):
    engine = make_engine(sqlite_url)
    setup(engine, "CREATE TABLE ev (id INTEGER PRIMARY KEY, at DATETIME);\n"
                  "INSERT INTO ev VALUES (1, '2024-01-06 00:00:00.000000'), (2, '2024/01/06 00:00:00'), "
                  "(3, '06.01.2024'), (4, NULL), (5, '2024-01-07 00:00:00.500000')")
    before = rows(engine, "SELECT * FROM ev ORDER BY id")
    with pytest.raises(ConversionWouldLoseData) as err:
        migrate(engine, convert("ev", "at", sa.Date(), sa.DateTime()))
    assert err.value.count == 3, err.value.one_line()
    assert "'2024/01/06 00:00:00'" in err.value.one_line()
    assert rows(engine, "SELECT * FROM ev ORDER BY id") == before
    # the parseable midnight converts, and comes back as the same datetime
    setup(engine, "DELETE FROM ev WHERE id IN (2, 3, 5)")
    op = migrate(engine, convert("ev", "at", sa.Date(), sa.DateTime()))
    assert typed_rows(engine, "ev", at=sa.Date()) == [(1, dt.date(2024, 1, 6)), (4, None)]
    migrate(engine, op.reverse)
    assert typed_rows(engine, "ev", at=sa.DateTime()) == [(1, dt.datetime(2024, 1, 6)), (4, None)]


# ------------------------------------------------------------------ precision lost without a question

BIG = 9007199254740993  # 2**53 + 1: no double holds it


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_biginteger_to_float_refuses_lost_precision(backend, request):
    engine = make_engine(request.getfixturevalue("pg_url" if backend == "postgresql" else "sqlite_url"))
    setup(engine, "CREATE TABLE m (id INTEGER PRIMARY KEY, n BIGINT);\n"
                  f"INSERT INTO m VALUES (1, {BIG}), (2, {2**60}), (3, -5), (4, NULL), (5, {2**63 - 1})")
    before = rows(engine, "SELECT * FROM m ORDER BY id")
    with pytest.raises(ConversionWouldLoseData) as err:
        migrate(engine, convert("m", "n", sa.Float(), sa.BigInteger()))
    assert err.value.count == 2, err.value.one_line()  # 2**53+1 and 2**63-1; 2**60 is exact
    assert str(BIG) in err.value.one_line()
    assert "--allow-loss" in err.value.one_line() and "allow_loss=True" in err.value.one_line()
    assert rows(engine, "SELECT * FROM m ORDER BY id") == before
    setup(engine, "DELETE FROM m WHERE id IN (1, 5)")
    op = migrate(engine, convert("m", "n", sa.Float(), sa.BigInteger()))
    assert typed_rows(engine, "m", n=sa.Float()) == [(2, float(2**60)), (3, -5.0), (4, None)]
    migrate(engine, op.reverse)
    assert typed_rows(engine, "m", n=sa.BigInteger()) == [(2, 2**60), (3, -5), (4, None)]


def test_postgresql_numeric_to_float_refuses_dropped_digits(pg_url):
    engine = make_engine(pg_url)
    setup(engine, "CREATE TABLE m (id INTEGER PRIMARY KEY, n NUMERIC(30, 20));\n"
                  "INSERT INTO m VALUES (1, 1.12345678901234567890), (2, 0.5), (3, NULL), (4, -2.25)")
    before = rows(engine, "SELECT * FROM m ORDER BY id")
    with pytest.raises(ConversionWouldLoseData) as err:
        migrate(engine, convert("m", "n", sa.Float(), sa.Numeric(30, 20)))
    assert err.value.count == 1 and "1.1234567890123456789" in err.value.one_line()
    assert rows(engine, "SELECT * FROM m ORDER BY id") == before
    setup(engine, "DELETE FROM m WHERE id = 1")
    op = migrate(engine, convert("m", "n", sa.Float(), sa.Numeric(30, 20)))
    assert typed_rows(engine, "m", n=sa.Float()) == [(2, 0.5), (3, None), (4, -2.25)]
    migrate(engine, op.reverse)
    assert typed_rows(engine, "m", n=sa.Numeric(30, 20)) == [(2, Decimal("0.5")), (3, None), (4, Decimal("-2.25"))]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_float_to_text_keeps_every_digit(backend, request):
    """SQLite's CAST(real AS TEXT) prints 15 digits: 0.1 + 0.2 would come back as 0.3."""
    engine = make_engine(request.getfixturevalue("pg_url" if backend == "postgresql" else "sqlite_url"))
    setup(engine, "CREATE TABLE f (id INTEGER PRIMARY KEY, x FLOAT);\n"
                  "INSERT INTO f VALUES (1, 0.30000000000000004), (2, 1.5), (3, 1e300), (4, NULL), (5, -0.1)")
    op = migrate(engine, convert("f", "x", sa.Text(), sa.Float()))
    assert rows(engine, "SELECT x FROM f WHERE id = 1") == [("0.30000000000000004",)]
    migrate(engine, op.reverse)
    assert typed_rows(engine, "f", x=sa.Float()) == [(1, 0.1 + 0.2), (2, 1.5), (3, 1e300), (4, None), (5, -0.1)]


# ------------------------------------------------------------------ every object of the table kept

ITEMS = """
CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT UNIQUE, qty TEXT);
CREATE TABLE audit (what TEXT);
CREATE TRIGGER items_audit AFTER INSERT ON ITEMS BEGIN INSERT INTO audit VALUES (new.name); END;
CREATE TRIGGER Items_Audit2 AFTER UPDATE ON "Items" BEGIN INSERT INTO audit VALUES ('u:' || new.name); END;
CREATE INDEX ix_items_qty ON ITEMS (qty);
CREATE VIEW item_names AS SELECT name FROM ITEMS;
INSERT INTO items VALUES (1, 'bolt', '3'), (2, 'nut', '40')
"""


def _objects(engine: sa.Engine) -> set[tuple]:
    return {(t, n) for t, n, _tbl, _sql in stored(engine) if t in ("trigger", "index", "view")}


@pytest.mark.parametrize("kind", ["convert", "name"])
def test_triggers_and_indexes_named_in_another_case_survive_a_rebuild(sqlite_url, kind):
    engine = make_engine(sqlite_url)
    setup(engine, ITEMS)
    objects = _objects(engine)
    assert ("trigger", "items_audit") in objects and ("index", "ix_items_qty") in objects
    if kind == "convert":
        op = migrate(engine, convert("items", "qty", sa.Integer(), sa.Text()))
        assert rows(engine, "SELECT id, name, qty, typeof(qty) FROM items ORDER BY id") == [
            (1, "bolt", 3, "integer"), (2, "nut", 40, "integer")]
    else:
        op = migrate(engine, rebuild("items", name_constraints=[({"type": "unique", "columns": ["name"]}, "uq_items_name")]))
        assert rows(engine, "SELECT * FROM items ORDER BY id") == [(1, "bolt", "3"), (2, "nut", "40")]
    assert _objects(engine) == objects
    setup(engine, "INSERT INTO items VALUES (3, 'washer', '7');\nUPDATE items SET name = 'bolt2' WHERE id = 1")
    assert rows(engine, "SELECT what FROM audit ORDER BY rowid") == [("bolt",), ("nut",), ("washer",), ("u:bolt2",)]
    assert rows(engine, "SELECT * FROM item_names ORDER BY name") == [("bolt2",), ("nut",), ("washer",)]
    migrate(engine, op.reverse)
    assert _objects(engine) == objects
    assert rows(engine, "SELECT id, name, qty FROM items ORDER BY id") == [(1, "bolt2", "3"), (2, "nut", "40"), (3, "washer", "7")]


@pytest.mark.parametrize("names", [("rowid",), ("oid",), ("_rowid_",), ("rowid", "oid", "_rowid_")])
def test_columns_named_like_the_rowid(sqlite_url, names):
    engine = make_engine(sqlite_url)
    cols = ", ".join(f"{n} TEXT" for n in names)
    setup(engine, f"CREATE TABLE r ({cols}, v TEXT);\n"
                  f"INSERT INTO r VALUES ({', '.join('?' for _ in names)}, '5')".replace("?", "'x'"))
    setup(engine, f"INSERT INTO r VALUES ({', '.join(repr(n) for n in names)}, '6');\n"
                  "DELETE FROM r WHERE v = '5'")  # leaves a gap: rowids 2 only
    names_sql = ", ".join(f'"{n}"' for n in names)
    before = rows(engine, f"SELECT {names_sql}, v FROM r")
    op = migrate(engine, convert("r", "v", sa.Integer(), sa.Text()))
    assert rows(engine, f"SELECT {names_sql}, v FROM r") == [(*before[0][:-1], 6)]
    migrate(engine, op.reverse)
    assert rows(engine, f"SELECT {names_sql}, v FROM r") == before
    if len(names) < 3:  # the real rowid is still reachable: kept
        free = next(n for n in ("rowid", "oid", "_rowid_") if n not in names)
        assert rows(engine, f"SELECT {free} FROM r") == [(2,)]


def test_name_constraints_with_an_fts5_table(schema_project, sqlite_url):
    from schemashift.api import name_constraints

    proj = schema_project(sqlite_url)
    proj.models('''
class Doc(Base):
    __tablename__ = "docs"
    id: Mapped[int] = mapped_column(primary_key=True)
    title = mapped_column(sa.String(50), nullable=True)
''')
    proj.revision("docs")
    proj.upgrade()
    proj.script("""
CREATE VIRTUAL TABLE docs_fts USING fts5(title, body);
INSERT INTO docs_fts VALUES ('hello world', 'a body');
INSERT INTO docs (id, title) VALUES (1, 'one');
CREATE TABLE notes (id INTEGER PRIMARY KEY, doc_id INTEGER REFERENCES docs (id), body TEXT UNIQUE);
INSERT INTO notes VALUES (1, 1, 'n')""")
    fts_before = proj.sql("SELECT name, sql FROM sqlite_master WHERE name LIKE 'docs_fts%' ORDER BY name")
    result = name_constraints(proj.project)
    assert result.revision is not None
    named = {(n.constraint.table, n.new_name) for n in result.named}
    assert ("notes", "uq_notes_body") in named or any(t == "notes" for t, _ in named), named
    assert all(not t.startswith("docs_fts") for t, _ in named), named
    proj.upgrade()
    assert proj.sql("SELECT name, sql FROM sqlite_master WHERE name LIKE 'docs_fts%' ORDER BY name") == fts_before
    assert proj.sql("SELECT title FROM docs_fts WHERE docs_fts MATCH 'hello'") == [("hello world",)]
    assert proj.sql("SELECT * FROM notes") == [(1, 1, "n")] and proj.sql("SELECT id, title FROM docs") == [(1, "one")]
    proj.downgrade("-1")
    assert proj.sql("SELECT * FROM notes") == [(1, 1, "n")] and proj.sql("SELECT id, title FROM docs") == [(1, "one")]
    assert proj.sql("SELECT title FROM docs_fts WHERE docs_fts MATCH 'hello'") == [("hello world",)]


# ------------------------------------------------------------------ PostgreSQL enums with defaults and dependents

def _alter_enum(values, existing, **kw):
    from schemashift.autogen.type_ops import AlterEnumOp

    return lambda: AlterEnumOp("mood", values, existing, **kw)


MOODS = """
CREATE TYPE mood AS ENUM ('sad', 'meh', 'happy');
CREATE TABLE people (id INTEGER PRIMARY KEY, mood mood NOT NULL DEFAULT 'happy', was mood DEFAULT 'sad'::mood);
INSERT INTO people VALUES (1, 'sad', 'happy'), (2, 'happy', NULL)
"""


def test_alter_enum_keeps_column_defaults(pg_url):
    engine = make_engine(pg_url)
    setup(engine, MOODS)
    op = migrate(engine, _alter_enum(["happy", "sad", "glad"], ["sad", "meh", "happy"]))
    assert rows(engine, "SELECT id, mood::text, was::text FROM people ORDER BY id") == [(1, "sad", "happy"), (2, "happy", None)]
    setup(engine, "INSERT INTO people (id) VALUES (3)")
    assert rows(engine, "SELECT mood::text, was::text FROM people WHERE id = 3") == [("happy", "sad")]
    assert rows(engine, "SELECT count(*) FROM pg_type WHERE typname = 'mood__schemashift_old'") == [(0,)]
    migrate(engine, op.reverse)
    setup(engine, "INSERT INTO people (id) VALUES (4)")
    assert rows(engine, "SELECT id, mood::text, was::text FROM people ORDER BY id") == [
        (1, "sad", "happy"), (2, "happy", None), (3, "happy", "sad"), (4, "happy", "sad")]
    assert rows(engine, "SELECT e.enumlabel FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid "
                        "WHERE t.typname = 'mood' ORDER BY e.enumsortorder") == [("sad",), ("meh",), ("happy",)]


def test_alter_enum_refuses_to_drop_a_value_a_default_uses(pg_url):
    engine = make_engine(pg_url)
    setup(engine, MOODS)
    with pytest.raises(Refused, match="default"):
        migrate(engine, _alter_enum(["meh", "happy"], ["sad", "meh", "happy"]))
    assert rows(engine, "SELECT id, mood::text, was::text FROM people ORDER BY id") == [(1, "sad", "happy"), (2, "happy", None)]


def test_alter_enum_with_a_view_and_a_domain(pg_url):
    engine = make_engine(pg_url)
    setup(engine, MOODS + """;
CREATE VIEW sad_people AS SELECT id, mood FROM people WHERE mood = 'sad';
CREATE DOMAIN good_mood AS mood CHECK (VALUE <> 'sad');
CREATE TABLE moods_seen (id INTEGER PRIMARY KEY, m good_mood);
INSERT INTO moods_seen VALUES (1, 'happy')""")
    before = rows(engine, "SELECT id, mood::text, was::text FROM people ORDER BY id")
    with pytest.raises(Refused) as err:
        migrate(engine, _alter_enum(["sad", "happy", "glad"], ["sad", "meh", "happy"]))
    message = err.value.one_line()
    assert "sad_people" in message and "good_mood" in message, message
    assert rows(engine, "SELECT id, mood::text, was::text FROM people ORDER BY id") == before
    assert rows(engine, "SELECT id FROM sad_people") == [(1,)]


# ------------------------------------------------------------------ copy by present rows (issue 9.6)

@pytest.mark.parametrize("ddl", ["CREATE TABLE s (id INTEGER PRIMARY KEY, v TEXT)", "CREATE TABLE s (id INT, v TEXT)"])
def test_sparse_and_negative_rowids_are_copied_page_by_page(sqlite_url, ddl):
    """Pages follow the rowids present: ids 1 and 2**62 are two rows, not 2**62 / page-size ranges."""
    engine = make_engine(sqlite_url)
    ids = [-(2**63), -5, 1, 2**62, 2**63 - 1]
    setup(engine, f"{ddl};\n" + ";\n".join(f"INSERT INTO s (rowid, id, v) VALUES ({i}, {i}, '{i}')" for i in ids))
    before = rows(engine, "SELECT rowid, id, v FROM s ORDER BY rowid")
    seen: list[rb.RebuildProgress] = []
    with engine.begin() as conn:
        rb.rebuild_table(conn, rb.RebuildSpec("s", alter_columns={"v": rb.ColumnChange(nullable=False)}),
                         progress=seen.append, chunk_rows=2)
    assert [p.copied for p in seen] == [2, 4, 5] and all(p.total == 5 for p in seen)
    assert rows(engine, "SELECT rowid, id, v FROM s ORDER BY rowid") == before
    assert "NOT NULL" in rows(engine, "SELECT sql FROM sqlite_master WHERE name = 's'")[0][0]
