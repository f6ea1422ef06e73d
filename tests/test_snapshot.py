"""Schema snapshots and their diff: what verify compares before and after a downgrade.

Database tests run on SQLite and PostgreSQL; the diff tests at the end need
no database.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations

from schemashift.safety.seed import fingerprint
from schemashift.schema.sql import normalize_sql
from schemashift.safety.snapshot import (
    ColumnInfo,
    IndexInfo,
    Snapshot,
    Snapshotter,
    TableInfo,
    diff_snapshots,
    take_snapshot,
)


@pytest.fixture
def engine(db_url):
    engine = sa.create_engine(db_url, poolclass=sa.pool.NullPool)
    yield engine
    engine.dispose()


def build(conn):
    md = sa.MetaData()
    sa.Table(
        "users", md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("score", sa.Numeric(10, 2), server_default=sa.text("0")),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.UniqueConstraint("name", name="uq_users_name"),
        sa.CheckConstraint("score >= 0", name="ck_users_score"),
    )
    posts = sa.Table(
        "posts", md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", name="fk_posts_user", ondelete="CASCADE"), nullable=False),
        sa.Column("title", sa.Text),
    )
    sa.Index("ix_posts_title", posts.c.title, unique=True)
    sa.Table("alembic_version", md, sa.Column("version_num", sa.String(32), primary_key=True))
    sa.Table("schemashift_ledger", md, sa.Column("id", sa.Integer, primary_key=True))
    md.create_all(conn)


def test_snapshot_reduces_every_object_to_plain_values(engine):
    with engine.begin() as conn:
        build(conn)
        snap = take_snapshot(conn)
    assert sorted(snap.tables) == ["posts", "users"]  # version table and schemashift_* left out
    users, posts = snap.tables["users"], snap.tables["posts"]
    assert users.column("name") == ColumnInfo("name", "VARCHAR(50)", False)
    assert users.column("name").affinity == "string"
    assert users.column("score").type == "NUMERIC(10,2)" and users.column("score").default == "0"
    assert users.primary_key.columns == ("id",)
    assert [(u.name, u.columns) for u in users.unique_constraints] == [("uq_users_name", ("name",))]
    checks = [(c.name, c.sqltext.replace("::numeric", "")) for c in users.check_constraints]
    assert checks == [("ck_users_score", "score >= 0")]  # PostgreSQL adds the cast
    fk = posts.foreign_keys[0]
    assert (fk.name, fk.columns, fk.referred_table, fk.referred_columns, fk.ondelete) == (
        "fk_posts_user", ("user_id",), "users", ("id",), "CASCADE"
    )
    assert posts.indexes == (IndexInfo("ix_posts_title", ("title",), True),)
    assert diff_snapshots(snap, snap).changes == []
    assert snap.to_dict()["tables"]["users"]["columns"][1]["type"] == "VARCHAR(50)"


def test_the_same_schema_built_again_is_equal(engine):
    with engine.begin() as conn:
        build(conn)
        first = take_snapshot(conn)
        sa.MetaData().drop_all(conn)
        md = sa.MetaData()
        md.reflect(conn)
        md.drop_all(conn)
        build(conn)
        assert not diff_snapshots(first, take_snapshot(conn))


def test_batch_round_trip_on_sqlite_gives_no_false_differences(sqlite_url):
    """Batch mode rewrites the CREATE TABLE text; the snapshot must not care."""
    engine = sa.create_engine(sqlite_url)
    with engine.begin() as conn:
        build(conn)
        conn.exec_driver_sql("INSERT INTO users (id, name, score, active) VALUES (1, 'ann', 2.5, 1), (2, 'bob', 0, 0)")
        before = take_snapshot(conn)
        rows = fingerprint(conn, before)
        op = Operations(MigrationContext.configure(conn))
        with op.batch_alter_table("users", recreate="always") as batch:
            batch.add_column(sa.Column("extra", sa.Integer))
        with op.batch_alter_table("users", recreate="always") as batch:
            batch.drop_column("extra")
        after = take_snapshot(conn)
        assert diff_snapshots(before, after).changes == []
        assert fingerprint(conn, after) == rows  # and the rows came through the copies


def test_each_kind_of_change_is_named(engine):
    with engine.begin() as conn:
        build(conn)
        before = take_snapshot(conn)
        op = Operations(MigrationContext.configure(conn))
        op.drop_index("ix_posts_title", table_name="posts")
        op.create_index("ix_posts_title2", "posts", ["title"])
        with op.batch_alter_table("users") as batch:
            batch.alter_column("name", type_=sa.String(80), existing_type=sa.String(50), existing_nullable=False)
            batch.alter_column("score", nullable=False, existing_type=sa.Numeric(10, 2))
            batch.drop_constraint("ck_users_score", type_="check")
        with op.batch_alter_table("posts") as batch:
            batch.alter_column("title", new_column_name="headline", existing_type=sa.Text)
        op.rename_table("posts", "articles")
        lines = diff_snapshots(before, take_snapshot(conn)).lines()
    assert "renamed: table posts is now named articles" in lines
    assert "renamed: column articles.title is now named headline" in lines
    assert "removed: index ix_posts_title on articles UNIQUE (title)" in lines
    assert "added: index ix_posts_title2 on articles (headline)" in lines
    assert "changed: column users.name: type VARCHAR(80) (was VARCHAR(50))" in lines
    assert "changed: column users.score: NOT NULL (was NULL)" in lines
    assert "removed: check constraint ck_users_score on users (score >= 0)" in [line.replace("::numeric", "") for line in lines]


def test_snapshotter_reflects_only_tables_that_changed(engine, backend):
    with engine.begin() as conn:
        build(conn)
        snapshotter = Snapshotter()
        first = snapshotter.take(conn)
        assert snapshotter.tables_reflected == 2
        again = snapshotter.take(conn)
        assert snapshotter.tables_reflected == 2  # nothing changed: nothing reflected
        assert not diff_snapshots(first, again)
        conn.exec_driver_sql("CREATE INDEX ix_users_score ON users (score)")
        changed = snapshotter.take(conn)
        assert snapshotter.tables_reflected == 3  # only users again
    assert diff_snapshots(first, changed).lines() == ["added: index ix_users_score on users (score)"]


def test_version_table_of_another_name_can_be_excluded(engine):
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE my_versions (version_num VARCHAR(32) PRIMARY KEY)")
        assert list(take_snapshot(conn).tables) == ["my_versions"]
        assert list(take_snapshot(conn, exclude=["my_versions"]).tables) == []


def test_postgresql_enums_and_sequences_are_part_of_the_snapshot(pg_url):
    engine = sa.create_engine(pg_url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        before = take_snapshot(conn)
        conn.exec_driver_sql("CREATE TYPE mood AS ENUM ('sad', 'ok')")
        conn.exec_driver_sql("CREATE SEQUENCE counter")
        lines = diff_snapshots(before, take_snapshot(conn)).lines()
    engine.dispose()
    assert lines == ["added: enum mood ('sad', 'ok')", "added: sequence counter"]


# ------------------------------------------------------------------ no database


def _table(name, *columns, **kw):
    return TableInfo(name, tuple(columns), **kw)


def test_rename_is_paired_only_when_unambiguous():
    a = ColumnInfo("a", "INTEGER", True)
    b = ColumnInfo("b", "INTEGER", True)
    before = Snapshot("sqlite", {"t": _table("t", ColumnInfo("id", "INTEGER", False), a, b)})
    one = Snapshot("sqlite", {"t": _table("t", ColumnInfo("id", "INTEGER", False), a, ColumnInfo("c", "INTEGER", True))})
    assert diff_snapshots(before, one).renamed_columns == {("t", "b"): "c"}
    # two identical candidates: no guessing, a loss and an addition each
    two = Snapshot("sqlite", {"t": _table("t", ColumnInfo("id", "INTEGER", False), ColumnInfo("c", "INTEGER", True), ColumnInfo("d", "INTEGER", True))})
    diff = diff_snapshots(before, two)
    assert diff.renamed_columns == {}
    assert sorted(c.action for c in diff.changes) == ["added", "added", "removed", "removed"]


def test_unnamed_objects_are_matched_by_definition_and_column_order_is_ignored():
    x, y = ColumnInfo("x", "TEXT", True), ColumnInfo("y", "TEXT", True)
    before = Snapshot("sqlite", {"t": _table("t", x, y, indexes=(IndexInfo(None, ("x",)),))})
    after = Snapshot("sqlite", {"t": _table("t", y, x, indexes=(IndexInfo(None, ("x",)),))})
    assert not diff_snapshots(before, after)
    changed = Snapshot("sqlite", {"t": _table("t", x, y, indexes=(IndexInfo(None, ("y",)),))})
    assert diff_snapshots(before, changed).lines() == [
        "removed: index (unnamed) on t (x)", "added: index (unnamed) on t (y)"
    ]


def test_change_wording_for_a_downgrade():
    before = Snapshot("sqlite", {"t": _table("t", ColumnInfo("id", "INTEGER", False))})
    after = Snapshot("sqlite", {"t": _table("t", ColumnInfo("id", "INTEGER", False), ColumnInfo("age", "INTEGER", True))})
    words = {"added": "left behind", "removed": "lost"}
    assert diff_snapshots(before, after).lines(words) == ["left behind: column t.age INTEGER"]
    assert diff_snapshots(after, before).lines(words) == ["lost: column t.age INTEGER"]


@pytest.mark.parametrize(
    "raw, normal",
    [("(('0'))", "'0'"), ("  CURRENT_TIMESTAMP ", "CURRENT_TIMESTAMP"), ("(a) AND (b)", "(a) AND (b)"),
     ("( score  >=  0 )", "score >= 0"), (None, None)],
)
def test_expression_text_is_normalised(raw, normal):
    assert normalize_sql(raw) == normal
