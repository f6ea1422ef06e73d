"""Seeded rows and the row round-trip check behind verify.

Seeding runs on SQLite and PostgreSQL; the round-trip logic is tested on
plain data.
"""

from __future__ import annotations

import sqlalchemy as sa

from schemashift.safety.seed import TableRows, check_round_trip, fingerprint, norm_value, seed_tables
from schemashift.safety.snapshot import SchemaDiff, take_snapshot


def test_seeding_respects_keys_parents_and_constraints(db_url):
    engine = sa.create_engine(db_url, poolclass=sa.pool.NullPool)
    md = sa.MetaData()
    sa.Table(
        "authors", md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.String(12), nullable=False, unique=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("born", sa.Date),
        sa.CheckConstraint("kind IN ('person', 'org')", name="ck_kind"),
    )
    sa.Table(
        "books", md,
        sa.Column("isbn", sa.String(13), primary_key=True),
        sa.Column("author_id", sa.Integer, sa.ForeignKey("authors.id"), nullable=False),
        sa.Column("parent", sa.String(13), sa.ForeignKey("books.isbn")),
        sa.Column("price", sa.Numeric(6, 2), nullable=False),
        sa.Column("flag", sa.Boolean, nullable=False),
    )
    sa.Table("orphans", md, sa.Column("id", sa.Integer, primary_key=True), sa.Column("ghost_id", sa.Integer, sa.ForeignKey("ghosts.id"), nullable=False))
    sa.Table("ghosts", md, sa.Column("id", sa.Integer, primary_key=True))
    with engine.begin() as conn:
        md.create_all(conn)
        conn.execute(sa.text("INSERT INTO ghosts (id) VALUES (1)"))
        conn.execute(sa.text("DELETE FROM ghosts"))
        result = seed_tables(conn, ["books", "authors", "orphans"])  # children listed first on purpose
        assert result.inserted == {"authors": 3, "books": 3}
        assert result.skipped == {"orphans": "its parent table ghosts has no rows"}
        authors = conn.execute(sa.text("SELECT id, email, kind, born FROM authors ORDER BY id")).all()
        books = conn.execute(sa.text("SELECT author_id, parent, price FROM books")).all()
        again = seed_tables(conn, ["authors"])  # not empty any more: left alone
    engine.dispose()
    assert len({a.email for a in authors}) == 3
    assert {a.kind for a in authors} <= {"person", "org"}
    assert authors[2].born is None  # nullable columns get a NULL in the last row
    assert {b.author_id for b in books} <= {a.id for a in authors}
    assert all(b.parent is None for b in books)  # self-reference left NULL
    assert again.inserted == {} and again.skipped == {}


def test_a_primary_key_that_is_also_a_foreign_key_points_at_parent_rows(db_url):
    """Airflow's ``dag_run_note.dag_run_id``: the key was left to the database to number (1, 2, 3), so the
    seeded notes pointed at runs that did not exist, and verify blamed a later rebuild for the orphans."""
    engine = sa.create_engine(db_url, poolclass=sa.pool.NullPool)
    md = sa.MetaData()
    sa.Table("runs", md, sa.Column("id", sa.Integer, primary_key=True), sa.Column("name", sa.String(10)))
    sa.Table("run_notes", md, sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id"), primary_key=True),
             sa.Column("content", sa.String(20)))
    try:
        with engine.begin() as conn:
            md.create_all(conn)
            conn.execute(sa.text("INSERT INTO runs (id, name) VALUES (7, 'a'), (8, 'b')"))
            result = seed_tables(conn, ["run_notes"])
            assert result.inserted == {"run_notes": 2}
            notes = conn.execute(sa.text("SELECT run_id FROM run_notes ORDER BY run_id")).scalars().all()
            assert notes == [7, 8]  # one note per run, each pointing at a run that exists
    finally:
        engine.dispose()


def test_fingerprint_keys_rows_by_primary_key_and_normalises_values(sqlite_url):
    engine = sa.create_engine(sqlite_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, price NUMERIC(6, 2), ok BOOLEAN)")
        conn.exec_driver_sql("CREATE TABLE nokey (a TEXT, b TEXT)")
        conn.exec_driver_sql("INSERT INTO t VALUES (1, 2.50, 1)")
        conn.exec_driver_sql("INSERT INTO nokey VALUES ('x', NULL), ('x', NULL)")
        rows = fingerprint(conn, take_snapshot(conn))
    assert rows["t"].key == ("id",) and rows["t"].rows == [("1", "2.5", "1")]
    assert rows["nokey"].key == () and rows["nokey"].rows == [("x", None), ("x", None)]
    assert norm_value(True) == norm_value(1) == "1"


def _rows(columns, key, *rows):
    return TableRows(tuple(columns), tuple(key), [tuple(r) for r in rows])


def test_values_kept_by_the_upgrade_must_come_back():
    before = {"users": _rows(["id", "name"], ["id"], ("1", "ann"), ("2", "bob"))}
    after_up = {"users": _rows(["id", "name", "age"], ["id"], ("1", "ann", None), ("2", "bob", None))}
    good = check_round_trip(before, after_up, before, SchemaDiff())
    assert good.problems == [] and good.values_checked == 4
    lost = check_round_trip(before, after_up, {"users": _rows(["id", "name"], ["id"], ("1", "ANN"))}, SchemaDiff())
    assert [p.one_line() for p in lost.problems] == [
        "users row id=1: row changed (name: 'ann' -> 'ANN')",
        "users row id=2: row lost",
    ]


def test_values_the_upgrade_destroyed_are_not_blamed_on_the_downgrade():
    before = {
        "users": _rows(["id", "name", "nick"], ["id"], ("1", "ann", "a")),
        "old": _rows(["id"], ["id"], ("1",)),
    }
    after_up = {"users": _rows(["id", "name"], ["id"], ("1", "ann"))}  # nick and old dropped
    after_down = {"users": _rows(["id", "name", "nick"], ["id"], ("1", "ann", "")), "old": _rows(["id"], ["id"])}
    check = check_round_trip(before, after_up, after_down, SchemaDiff())
    assert check.problems == []
    assert sorted((loss.rule, loss.table, loss.count) for loss in check.losses) == [
        ("SS-V101", "old", 1), ("SS-V101", "users", 1),
    ]
    assert "column users.nick: the upgrade drops it" in " ".join(check.lost_by_upgrade)


def test_values_changed_in_place_and_deleted_rows_are_losses_unless_restored():
    """UPDATE name = UPPER(name) and DELETE with a downgrade that restores only the schema."""
    before = {"users": _rows(["id", "name"], ["id"], ("1", "ann"), ("2", "bob"), ("3", "cy"))}
    after_up = {"users": _rows(["id", "name"], ["id"], ("1", "ANN"), ("2", "bob"))}
    after_down = {"users": _rows(["id", "name"], ["id"], ("1", "ANN"), ("2", "bob"))}
    check = check_round_trip(before, after_up, after_down, SchemaDiff())
    assert check.problems == []
    assert [(loss.rule, loss.count, loss.example) for loss in check.losses] == [
        ("SS-V102", 1, "id=3"),
        ("SS-V103", 1, "id=1: 'ann' -> 'ANN', back as 'ANN'"),
    ]
    restored = {"users": _rows(["id", "name"], ["id"], ("1", "ann"), ("2", "bob"), ("3", "cy"))}
    assert check_round_trip(before, after_up, restored, SchemaDiff()).losses == []
    no_key = {"t": _rows(["v"], [], ("a",), ("b",))}
    check = check_round_trip(no_key, {"t": _rows(["v"], [], ("A",), ("b",))}, {"t": _rows(["v"], [], ("A",), ("b",))}, SchemaDiff())
    assert [(loss.rule, loss.count) for loss in check.losses] == [("SS-V102", 1)]


def test_renames_are_followed_and_tables_without_a_key_compared_as_multisets():
    before = {"notes": _rows(["body"], [], ("a",), ("a",), ("b",))}
    after_up = {"memos": _rows(["text"], [], ("a",), ("a",), ("b",))}
    diff = SchemaDiff(renamed_tables={"notes": "memos"}, renamed_columns={("notes", "body"): "text"})
    ok = check_round_trip(before, after_up, before, diff)
    assert ok.problems == [] and ok.values_checked == 3
    one_copy_lost = check_round_trip(before, after_up, {"notes": _rows(["body"], [], ("a",), ("b",))}, diff)
    assert [p.one_line() for p in one_copy_lost.problems] == ["notes row body=a: row lost"]
    gone = check_round_trip(before, after_up, {}, diff)
    assert [p.one_line() for p in gone.problems] == ["notes: table is gone after the downgrade; 3 row(s) lost"]
