"""SQLite table rebuilds (safety/rebuild.py): nothing the migration does not change is lost.

Each test builds tables with raw SQL (so inline clauses are exactly as a
user or an older tool wrote them), rebuilds through ``op.rebuild_table`` on a
real transaction, and checks rows, the stored schema and the constraints'
behaviour afterwards.
"""

from __future__ import annotations

import sqlite3

import pytest
import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations

from schemashift.safety import rebuild as rb
from schemashift.safety.precheck import ConversionWouldLoseData, NullsInColumn
from schemashift.safety.sqlite_ddl import ConstraintRef, parse_create_table


def make_engine(url: str, *, foreign_keys: bool = False) -> sa.Engine:
    """SQLite with real transactions (BEGIN on begin), as schemashift's runner sets up."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)

    @sa.event.listens_for(engine, "connect")
    def on_connect(dbapi, _record):
        dbapi.isolation_level = None
        if foreign_keys:
            dbapi.execute("PRAGMA foreign_keys=ON")

    @sa.event.listens_for(engine, "begin")
    def on_begin(conn):
        conn.exec_driver_sql("BEGIN")

    return engine


def run(engine: sa.Engine, sql: str) -> list[tuple]:
    with engine.begin() as conn:
        result = conn.exec_driver_sql(sql)
        return [tuple(r) for r in result] if result.returns_rows else []


def setup(engine: sa.Engine, script: str) -> None:
    with engine.begin() as conn:
        for statement in filter(None, (s.strip() for s in script.split(";\n"))):
            conn.exec_driver_sql(statement)


def rebuild(engine: sa.Engine, table: str, **kw) -> None:
    with engine.begin() as conn:
        Operations(MigrationContext.configure(conn)).rebuild_table(table, **kw)


def stored_sql(engine: sa.Engine, name: str) -> str:
    return run(engine, f"SELECT sql FROM sqlite_master WHERE name = '{name}'")[0][0]


STUDENTS = """
CREATE TABLE students (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name VARCHAR(20) NOT NULL UNIQUE,
    grade TEXT CHECK (length(grade) < 5),
    email TEXT COLLATE NOCASE DEFAULT 'none',
    code TEXT UNIQUE ON CONFLICT REPLACE,
    twice AS (id * 2) STORED
);
CREATE INDEX ix_students_email ON students (email);
CREATE VIEW student_names AS SELECT name FROM students;
CREATE TABLE audit (what TEXT);
CREATE TRIGGER students_audit AFTER INSERT ON students BEGIN INSERT INTO audit VALUES (new.name); END;
INSERT INTO students (name, grade, code) VALUES ('ann', '1', 'a'), ('bob', '22', 'b'), ('cy', '3', 'c');
DELETE FROM students WHERE name = 'cy'
"""


def test_rebuild_keeps_inline_unique_check_collate_default_and_dependents(sqlite_url):
    engine = make_engine(sqlite_url)
    setup(engine, STUDENTS)
    rebuild(engine, "students", alter_columns={"grade": {"type_": sa.Integer(), "existing_type": sa.Text()}})

    assert run(engine, "SELECT id, name, grade, typeof(grade), email, code, twice FROM students ORDER BY id") == [
        (1, "ann", 1, "integer", "none", "a", 2),
        (2, "bob", 22, "integer", "none", "b", 4),
    ]
    sql = stored_sql(engine, "students")
    for clause in ("name VARCHAR(20) NOT NULL UNIQUE", "grade INTEGER CHECK (length(grade) < 5)",
                   "COLLATE NOCASE DEFAULT 'none'", "UNIQUE ON CONFLICT REPLACE", "AUTOINCREMENT", "AS (id * 2) STORED"):
        assert clause in sql
    # the constraints still act
    with pytest.raises(sa.exc.IntegrityError, match="UNIQUE"):
        run(engine, "INSERT INTO students (name) VALUES ('ann')")
    with pytest.raises(sa.exc.IntegrityError, match="CHECK"):
        run(engine, "INSERT INTO students (name, grade) VALUES ('dan', '123456')")
    assert run(engine, "SELECT name FROM students WHERE email = 'NONE'") == [("ann",), ("bob",)]  # NOCASE kept
    # the AUTOINCREMENT counter survived (id 3 was used and deleted), as did the index, trigger and view
    run(engine, "INSERT INTO students (name) VALUES ('eve')")
    assert run(engine, "SELECT id FROM students WHERE name = 'eve'") == [(4,)]
    assert run(engine, "SELECT what FROM audit") == [("ann",), ("bob",), ("cy",), ("eve",)]
    assert run(engine, "SELECT count(*) FROM sqlite_master WHERE name = 'ix_students_email'") == [(1,)]
    assert run(engine, "SELECT name FROM student_names ORDER BY name") == [("ann",), ("bob",), ("eve",)]
    assert run(engine, "PRAGMA integrity_check") == [("ok",)]


def test_alembic_batch_drops_inline_unique__documents_alembic(sqlite_url):
    """Documents Alembic's behaviour (1.20, SQLAlchemy 2.1), not ours: batch mode
    rebuilds from reflection and silently loses a column-inline UNIQUE. The
    test above shows ``rebuild_table`` keeps it."""
    engine = make_engine(sqlite_url)
    setup(engine, "CREATE TABLE t (id INTEGER PRIMARY KEY, name VARCHAR(20) UNIQUE, grade TEXT)")
    with engine.begin() as conn:
        with Operations(MigrationContext.configure(conn)).batch_alter_table("t") as batch:
            batch.alter_column("grade", type_=sa.Integer(), existing_type=sa.Text())
    assert "UNIQUE" not in stored_sql(engine, "t")
    run(engine, "INSERT INTO t (name) VALUES ('x')")
    run(engine, "INSERT INTO t (name) VALUES ('x')")  # the duplicate is accepted: the constraint is gone


PARENT_CHILD = """
CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT, boss_id INTEGER REFERENCES parent (id));
CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parent (id) ON DELETE CASCADE);
CREATE TABLE pet (id INTEGER PRIMARY KEY, owner_id INTEGER REFERENCES parent (id) ON DELETE SET NULL);
INSERT INTO parent VALUES (1, 'a', NULL), (2, 'b', 1);
INSERT INTO child VALUES (10, 1), (11, 2);
INSERT INTO pet VALUES (20, 2)
"""


def test_rebuild_of_referenced_table_keeps_children_and_foreign_keys(sqlite_url):
    engine = make_engine(sqlite_url, foreign_keys=True)
    setup(engine, PARENT_CHILD)
    # the schemashift runner switches enforcement off before BEGIN (SQLite's step 1)
    with engine.connect() as conn:
        restore = rb.sqlite_foreign_keys_off(conn, None)
        assert restore is not None
        with conn.begin():
            Operations(MigrationContext.configure(conn)).rebuild_table(
                "parent", alter_columns={"name": {"nullable": False}}
            )
        restore()
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1

    assert run(engine, "SELECT * FROM child ORDER BY id") == [(10, 1), (11, 2)]
    assert run(engine, "SELECT * FROM pet") == [(20, 2)]
    assert run(engine, "SELECT * FROM parent ORDER BY id") == [(1, "a", None), (2, "b", 1)]
    assert run(engine, "PRAGMA foreign_key_check") == []
    assert "name TEXT NOT NULL" in stored_sql(engine, "parent")
    assert "REFERENCES parent (id)" in stored_sql(engine, "parent")  # the self-reference
    # the children's foreign keys still point at the rebuilt table and act
    run(engine, "DELETE FROM parent WHERE id = 2")
    assert run(engine, "SELECT * FROM child") == [(10, 1)]
    assert run(engine, "SELECT * FROM pet") == [(20, None)]
    with pytest.raises(sa.exc.IntegrityError, match="FOREIGN KEY"):
        run(engine, "INSERT INTO child VALUES (12, 99)")


def test_rebuild_refuses_while_foreign_keys_are_enforced_inside_the_transaction(sqlite_url):
    """PRAGMA foreign_keys cannot change inside a transaction, and dropping the
    old table with enforcement on would cascade into child (deleting rows)."""
    engine = make_engine(sqlite_url, foreign_keys=True)
    setup(engine, PARENT_CHILD)
    with pytest.raises(rb.ForeignKeysEnforced, match="child, parent, pet reference it"):
        rebuild(engine, "parent", alter_columns={"name": {"nullable": False}})
    assert run(engine, "SELECT count(*) FROM child") == [(2,)]
    assert "NOT NULL" not in stored_sql(engine, "parent")


def test_rebuild_that_would_break_a_foreign_key_rolls_back(sqlite_url):
    engine = make_engine(sqlite_url)
    setup(engine, "CREATE TABLE p (id INTEGER PRIMARY KEY);\nCREATE TABLE c (id INTEGER PRIMARY KEY, p_id INTEGER);\n"
                  "INSERT INTO p VALUES (1);\nINSERT INTO c VALUES (1, 1), (2, 7)")
    with pytest.raises(rb.ForeignKeyViolations, match="1 foreign key reference"):
        rebuild(engine, "c", add_constraints=["CONSTRAINT fk_c_p FOREIGN KEY (p_id) REFERENCES p (id)"])
    assert "fk_c_p" not in stored_sql(engine, "c")
    assert run(engine, "SELECT count(*) FROM c") == [(2,)]


def test_rebuild_refuses_a_lossy_conversion_with_counts_and_examples(sqlite_url):
    engine = make_engine(sqlite_url)
    setup(engine, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);\n"
                  "INSERT INTO t VALUES (1, '12'), (2, 'abc'), (3, '1.5'), (4, NULL)")
    change = {"v": {"type_": sa.Integer(), "existing_type": sa.Text()}}
    with pytest.raises(ConversionWouldLoseData) as err:
        rebuild(engine, "t", alter_columns=change)
    assert err.value.count == 2
    assert "2 rows of t.v is not an integer (e.g. 'abc', '1.5')" in err.value.one_line()
    assert run(engine, "SELECT v FROM t ORDER BY id") == [("12",), ("abc",), ("1.5",), (None,)]
    rebuild(engine, "t", alter_columns=change, allow_loss=True)
    assert run(engine, "SELECT v, typeof(v) FROM t ORDER BY id") == [
        (12, "integer"), (None, "null"), (None, "null"), (None, "null")
    ]


def test_rebuild_refuses_not_null_while_rows_hold_null(sqlite_url):
    engine = make_engine(sqlite_url)
    setup(engine, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);\nINSERT INTO t VALUES (1, NULL)")
    with pytest.raises(NullsInColumn, match="1 row has NULL"):
        rebuild(engine, "t", alter_columns={"v": {"nullable": False}})


def test_rebuild_keeps_rowids_and_without_rowid_tables(sqlite_url):
    engine = make_engine(sqlite_url)
    setup(engine, "CREATE TABLE r (name TEXT, v TEXT);\nINSERT INTO r (rowid, name, v) VALUES (5, 'x', '1'), (9, 'y', '2');\n"
                  "CREATE TABLE w (k TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID;\nINSERT INTO w VALUES ('a', '1')")
    rebuild(engine, "r", alter_columns={"v": {"type_": sa.Integer(), "existing_type": sa.Text()}})
    rebuild(engine, "w", alter_columns={"v": {"type_": sa.Integer(), "existing_type": sa.Text()}})
    assert run(engine, "SELECT rowid, name, v FROM r ORDER BY rowid") == [(5, "x", 1), (9, "y", 2)]
    assert run(engine, "SELECT k, v FROM w") == [("a", 1)]
    assert stored_sql(engine, "w").endswith("WITHOUT ROWID")


def test_rebuild_reports_progress_in_rows(sqlite_url):
    engine = make_engine(sqlite_url)
    setup(engine, "CREATE TABLE big (id INTEGER PRIMARY KEY, v TEXT);\n"
                  "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2500) "
                  "INSERT INTO big SELECT i, i FROM n")
    seen: list[rb.RebuildProgress] = []
    with engine.begin() as conn:
        spec = rb.RebuildSpec("big", alter_columns={"v": rb.ColumnChange(type_sql="INTEGER", using='CAST("v" AS INTEGER)')})
        rb.rebuild_table(conn, spec, progress=seen.append, chunk_rows=1000)
    assert [p.copied for p in seen] == [1000, 2000, 2500]
    assert {p.total for p in seen} == {2500}
    assert run(engine, "SELECT count(*), sum(v) FROM big") == [(2500, 2500 * 2501 // 2)]


def test_drop_column_used_by_an_index_is_refused_before_anything_changes(sqlite_url):
    engine = make_engine(sqlite_url)
    setup(engine, "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b TEXT);\nCREATE INDEX ix_t_a ON t (a)")
    with pytest.raises(rb.RebuildError, match="index ix_t_a uses column"):
        rebuild(engine, "t", drop_columns=["a"])
    rebuild(engine, "t", drop_columns=["b"])
    assert [c[1] for c in run(engine, "PRAGMA table_info(t)")] == ["id", "a"]


def test_plan_lists_the_statements_without_running_them(sqlite_url):
    engine = make_engine(sqlite_url)
    setup(engine, "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT UNIQUE)")
    with engine.begin() as conn:
        plan = rb.plan_rebuild(conn, rb.RebuildSpec("t", name_constraints=[(ConstraintRef("unique", columns=("a",)), "uq_t_a")]))
    statements = plan.statements()
    assert statements[0].startswith('CREATE TABLE "_schemashift_new_t"')
    assert 'CONSTRAINT "uq_t_a" UNIQUE ("a")' in statements[0]
    # naming a constraint changes no stored value: one INSERT ... SELECT * (SQLite's transfer optimization)
    assert statements[1] == 'INSERT INTO "_schemashift_new_t" SELECT * FROM "t"'
    assert "PRAGMA legacy_alter_table=ON" in statements
    assert stored_sql(engine, "t") == "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT UNIQUE)"


def test_rebuild_op_reverse_undoes_it(sqlite_url):
    op = rb.RebuildTableOp(
        "t",
        alter_columns={"v": {"type_": sa.Integer(), "existing_type": sa.Text(), "nullable": False, "existing_nullable": True}},
        add_constraints=["CONSTRAINT uq_t_v UNIQUE (v)"],
        drop_constraints=[{"type": "check", "check": "v > 0"}],
        name_constraints=[({"type": "primary", "columns": ["id"]}, "pk_t")],
        restore_constraints=["CHECK (v > 0)"],
    )
    back = op.reverse()
    assert back.alter_columns == {"v": {"type_": op.alter_columns["v"]["existing_type"], "existing_type": op.alter_columns["v"]["type_"],
                                        "nullable": True, "existing_nullable": False}}
    assert back.drop_constraints == [{"type": "unique", "name": "uq_t_v"}]
    assert back.add_constraints == ["CHECK (v > 0)"]
    assert back.name_constraints == [({"type": "primary", "name": "pk_t"}, None)]

    engine = make_engine(sqlite_url)
    setup(engine, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT CHECK (v > 0));\nINSERT INTO t VALUES (1, '5')")
    with engine.begin() as conn:
        Operations(MigrationContext.configure(conn)).invoke(op)
    sql = stored_sql(engine, "t")
    assert 'id INTEGER CONSTRAINT "pk_t" PRIMARY KEY' in sql and "uq_t_v" in sql and "CHECK" not in sql
    assert run(engine, "SELECT id, v, typeof(v) FROM t") == [(1, 5, "integer")]
    with engine.begin() as conn:
        Operations(MigrationContext.configure(conn)).invoke(back)
    sql = stored_sql(engine, "t")
    assert "uq_t_v" not in sql and "CHECK (v > 0)" in sql and "pk_t" not in sql
    assert run(engine, "SELECT id, v, typeof(v) FROM t") == [(1, "5", "text")]


# ------------------------------------------------------------------ the parser (no database)


def test_parser_reads_and_renders_every_clause():
    sql = (
        'CREATE TABLE "s" (id INTEGER PRIMARY KEY AUTOINCREMENT, name VARCHAR(20) NOT NULL UNIQUE ON CONFLICT REPLACE, '
        "-- a comment, with a comma\n grade INTEGER CHECK (grade > 0) DEFAULT -1, email TEXT COLLATE NOCASE DEFAULT 'x,y', "
        "pid INT REFERENCES p(id) ON DELETE SET NULL NOT DEFERRABLE INITIALLY IMMEDIATE, price DECIMAL(10, 2) DEFAULT (1.5*2), "
        'g AS (grade*2) STORED, [weird col] "unsigned big int", UNIQUE(grade, email), CONSTRAINT ck_x CHECK (grade < 100), '
        'FOREIGN KEY (pid, grade) REFERENCES "p" ("id", x) ON UPDATE CASCADE)'
    )
    table = parse_create_table(sql)
    assert [c.name for c in table.columns] == ["id", "name", "grade", "email", "pid", "price", "g", "weird col"]
    assert table.column("email").type_sql == "TEXT"
    assert table.column("price").type_sql == "DECIMAL(10, 2)"
    kinds = [(c.kind, c.name, c.columns) for _, c in table.constraints()]
    assert kinds == [
        ("primary", None, ("id",)), ("unique", None, ("name",)), ("check", None, ("grade",)),
        ("foreign", None, ("pid",)), ("unique", None, ("grade", "email")), ("check", "ck_x", ()),
        ("foreign", None, ("pid", "grade")),
    ]
    table.name_constraint(ConstraintRef("unique", columns=("name",)), "uq_s_name")
    table.name_constraint(ConstraintRef("check", check="grade>0"), "ck_s_grade")
    table.name_constraint(ConstraintRef("primary"), "pk_s")
    rendered = table.render()
    assert 'id INTEGER CONSTRAINT "pk_s" PRIMARY KEY AUTOINCREMENT' in rendered
    assert 'CONSTRAINT "uq_s_name" UNIQUE ("name") ON CONFLICT REPLACE' in rendered
    assert 'CONSTRAINT "ck_s_grade" CHECK (grade > 0)' in rendered
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE p (id, x, PRIMARY KEY (id, x))")
    conn.execute(rendered)  # valid SQL
    names = {r[0] for r in conn.execute("SELECT name FROM pragma_table_info('s')")}
    assert names == {"id", "name", "grade", "email", "pid", "price", "weird col"}


def test_secure_delete_setting_is_restored(sqlite_url):
    """The drop of the old copy skips page zeroing only when no value is deleted."""
    engine = make_engine(sqlite_url)
    setup(engine, "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b TEXT);\nINSERT INTO t VALUES (1, 'x', 'y')")
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA secure_delete=ON")
        ops = Operations(MigrationContext.configure(conn))
        ops.rebuild_table("t", alter_columns={"a": {"nullable": False}})
        assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
        ops.rebuild_table("t", drop_columns=["b"])
        assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
    assert run(engine, "SELECT * FROM t") == [(1, "x")]
