"""Alembic's and Django's migration-test scenarios about broken downgrades and
lost data, as small example projects written anew here (issue 12, "Done when").

Each test names the upstream project and test (or issue thread) it translates
and asserts verify's verdict and the revision it names.  Django's operations
map onto Alembic revisions: ``RunPython``/``RunSQL`` are ``upgrade()`` code,
their ``reverse_code``/``reverse_sql`` is ``downgrade()``, an irreversible
operation is a downgrade that raises ``NotImplementedError``, and a squashed
migration is one revision that replaces several.
"""

from __future__ import annotations

import sqlalchemy as sa
from verify_examples import Rev, make_project, run_verify as run, sqlite_foreign_keys_on, verdict

from schemashift import api

PONIES = Rev(
    "p001",
    'op.create_table("ponies", sa.Column("id", sa.Integer, primary_key=True), '
    'sa.Column("pink", sa.Integer, nullable=False, server_default="3"), sa.Column("weight", sa.Float))',
    'op.drop_table("ponies")',
)
PONY_MODELS = """
from sqlalchemy import Column, Float, Integer, MetaData, Table, text
metadata = MetaData()
ponies = Table("ponies", metadata, Column("id", Integer, primary_key=True),
               Column("pink", Integer, nullable=False, server_default=text("3")), Column("weight", Float))
"""


def project(tmp_path, name, revisions, url, models=PONY_MODELS):
    return make_project(tmp_path, name, revisions, url=url, models=models, base=False)


# ------------------------------------------------------------------- Django


def test_django_run_python_without_reverse_code_is_irreversible(tmp_path, db_url):
    """Django tests/migrations/test_operations.py::OperationTests::test_run_python:
    a RunPython without ``reverse_code`` cannot be unapplied (IrreversibleError).
    Here: a data migration whose downgrade raises NotImplementedError, declared
    irreversible, is reported as such, not as a broken downgrade."""
    example = project(tmp_path, "dj_run_python_irreversible", [
        PONIES,
        Rev("p002", "op.execute(\"INSERT INTO ponies (id, pink, weight) VALUES (1, 1, 3.55), (2, 2, 5.5)\")",
            'raise NotImplementedError("the ponies cannot be un-created")'),
    ], db_url)
    report = run(example)
    assert verdict(report) == {"p001": ("ok", None), "p002": ("irreversible", "downgrade")}, report.lines()
    assert report.ok
    assert "note p002: downgrade is declared irreversible" in "\n".join(report.lines())


def test_django_run_python_noop_both_ways(tmp_path, db_url):
    """Django test_operations.py::OperationTests::test_run_python_noop (#24098):
    ``RunPython(noop, noop)`` is reversible and changes nothing."""
    example = project(tmp_path, "dj_run_python_noop", [PONIES, Rev("p002", "pass", "pass")], db_url)
    report = run(example)
    assert verdict(report) == {"p001": ("ok", None), "p002": ("ok", None)}, report.lines()
    assert report.revisions[1].values_checked > 0  # the seeded ponies were compared, not skipped


INSERT_PONIES = "op.execute(\"INSERT INTO ponies (id, pink, weight) VALUES (1, 3, 3.55), (2, 3, 5.5)\")"


def test_django_run_sql_with_reverse_sql(tmp_path, db_url):
    """Django test_operations.py::OperationTests::test_run_sql: RunSQL inserting
    rows, with ``reverse_sql`` deleting exactly those rows, round-trips."""
    example = project(tmp_path, "dj_run_sql", [
        PONIES, Rev("p002", INSERT_PONIES, 'op.execute("DELETE FROM ponies WHERE id IN (1, 2)")'),
    ], db_url)
    assert verdict(run(example)) == {"p001": ("ok", None), "p002": ("ok", None)}


def test_django_run_sql_whose_reverse_deletes_too_much(tmp_path, db_url):
    """The same RunSQL with a careless ``reverse_sql`` (``DELETE FROM ponies``):
    the downgrade destroys rows the upgrade never wrote; verify names them."""
    example = project(tmp_path, "dj_run_sql_careless", [
        PONIES, Rev("p002", INSERT_PONIES, 'op.execute("DELETE FROM ponies")'),
    ], db_url)
    report = run(example)
    assert verdict(report) == {"p001": ("ok", None), "p002": ("failed", "downgrade")}, report.lines()
    problems = report.revisions[1].problems()
    assert any(p.startswith("data: ponies") and "9001" in p for p in problems), problems


def test_django_remove_field_reverse_restores_the_default_not_the_values(tmp_path, db_url):
    """Django test_operations.py::OperationTests::test_remove_field: RemoveField's
    reverse adds the column back (with its default), so the schema round-trips
    but the values are gone: verify fails it as data lost, naming the column."""
    example = project(tmp_path, "dj_remove_field", [
        PONIES,
        Rev("p002", 'op.drop_column("ponies", "pink")',
            'op.add_column("ponies", sa.Column("pink", sa.Integer, nullable=False, server_default="3"))'),
    ], db_url, models=PONY_MODELS.replace('\n               Column("pink", Integer, nullable=False, server_default=text("3")),', ""))
    report = run(example)
    assert verdict(report) == {"p001": ("ok", None), "p002": ("failed", "data lost")}, report.lines()
    (loss,) = report.revisions[1].losses
    # three seeded ponies; one's pink equals the default 3 the downgrade restores, so two values are lost
    assert (loss.rule, loss.table, loss.count) == ("SS-V101", "ponies", 2) and "pink" in loss.what


SQUASHED_UP = """
op.create_table("authors", sa.Column("id", sa.Integer, primary_key=True), sa.Column("name", sa.String(80), nullable=False))
op.add_column("authors", sa.Column("rating", sa.Integer))
op.create_table("books", sa.Column("id", sa.Integer, primary_key=True),
                sa.Column("author_id", sa.Integer, sa.ForeignKey("authors.id", name="fk_books_author")))
"""


def test_django_squashed_migration_must_undo_everything_it_replaces(tmp_path, db_url):
    """Django tests/migrations/test_executor.py::ExecutorTests::test_run_with_squashed
    (and test_migrations_squashed): a squashed migration replaces several; unapplying
    it must undo all of them.  A hand-squashed revision whose downgrade drops the
    tables but forgets the second replaced step's effect on another table is named."""
    models = """
from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table
metadata = MetaData()
authors = Table("authors", metadata, Column("id", Integer, primary_key=True), Column("name", String(80), nullable=False),
                Column("rating", Integer))
books = Table("books", metadata, Column("id", Integer, primary_key=True),
              Column("author_id", Integer, ForeignKey("authors.id", name="fk_books_author")))
"""
    good = project(tmp_path, "dj_squashed_ok", [
        Rev("s001", SQUASHED_UP, 'op.drop_table("books")\nop.drop_table("authors")', doc="squashed 0001-0003"),
    ], db_url, models=models)
    assert verdict(run(good)) == {"s001": ("ok", None)}
    forgot = project(tmp_path, "dj_squashed_forgets", [
        Rev("s001", SQUASHED_UP, 'op.drop_table("books")', doc="squashed 0001-0003"),
    ], db_url, models=models)
    report = run(forgot)
    assert verdict(report) == {"s001": ("failed", "re-upgrade after downgrade")}, report.lines()
    assert report.revisions[0].problems()[0].startswith("left behind: table authors")


# ------------------------------------------------------------------- Alembic


def test_alembic_batch_round_trip_keeps_rows(tmp_path, db_url):
    """Alembic tests/test_batch.py::BatchRoundTripTest (test_rename_column,
    test_change_type): a batch rename plus type change and its reverse keep
    every row; verify compares them value by value."""
    example = project(tmp_path, "al_batch_round_trip", [
        PONIES,
        Rev("p002",
            'with op.batch_alter_table("ponies") as b:\n'
            '    b.alter_column("weight", new_column_name="mass", existing_type=sa.Float)\n'
            '    b.alter_column("pink", type_=sa.BigInteger, existing_type=sa.Integer, existing_nullable=False, '
            'existing_server_default="3")',
            'with op.batch_alter_table("ponies") as b:\n'
            '    b.alter_column("mass", new_column_name="weight", existing_type=sa.Float)\n'
            '    b.alter_column("pink", type_=sa.Integer, existing_type=sa.BigInteger, existing_nullable=False, '
            'existing_server_default="3")'),
    ], db_url, models=PONY_MODELS.replace('Column("weight", Float)', 'Column("mass", Float)').replace(
        'Column("pink", Integer', 'Column("pink", BigInteger').replace("Float, Integer", "BigInteger, Float, Integer"))
    report = run(example)
    assert verdict(report) == {"p001": ("ok", None), "p002": ("ok", None)}, report.lines()
    assert report.revisions[1].values_checked >= 6  # 3 ponies x (pink, weight) back as they were


def test_alembic_enum_type_left_behind_by_the_downgrade(tmp_path, pg_url):
    """sqlalchemy/alembic#886 (and #754, #1612): ``create_table`` with an ``Enum``
    creates a PostgreSQL type that ``drop_table`` in the downgrade leaves behind,
    so the next upgrade fails with 'type already exists'."""
    models = """
from sqlalchemy import Column, Enum, Integer, MetaData, Table
metadata = MetaData()
moods = Table("moods", metadata, Column("id", Integer, primary_key=True), Column("mood", Enum("sad", "ok", "happy", name="mood")))
"""
    up = ('op.create_table("moods", sa.Column("id", sa.Integer, primary_key=True), '
          'sa.Column("mood", sa.Enum("sad", "ok", "happy", name="mood")))')
    example = project(tmp_path, "al_enum_left", [Rev("m001", up, 'op.drop_table("moods")')], pg_url, models=models)
    report = run(example)
    assert verdict(report) == {"m001": ("failed", "re-upgrade after downgrade")}, report.lines()
    problems = report.revisions[0].problems()
    assert problems[0] == "left behind: enum mood ('sad', 'ok', 'happy')"
    assert 'type "mood" already exists' in problems[-1]
    fixed = project(tmp_path, "al_enum_dropped", [
        Rev("m001", up, 'op.drop_table("moods")\nsa.Enum(name="mood").drop(op.get_bind())'),
    ], pg_url, models=models)
    assert verdict(run(fixed)) == {"m001": ("ok", None)}


def test_alembic_batch_recreate_with_foreign_keys_on_keeps_the_child_rows(tmp_path):
    """Alembic's batch "move and copy" drops the old table; with SQLite foreign
    keys on (env.py turns them on, as apps do) that DROP runs the children's
    ON DELETE CASCADE and silently deletes their rows (sqlitebrowser#1676,
    typeorm#9770: the same procedure, the same loss), as plain Alembic does.
    schemashift runs a step that uses batch_alter_table with enforcement off (and
    checks the foreign keys before commit), so upgrade keeps them and verify,
    which runs steps the way upgrade does, finds nothing lost."""
    url = f"sqlite:///{tmp_path / 'cascade.db'}"
    models = """
from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table
metadata = MetaData()
users = Table("users", metadata, Column("id", Integer, primary_key=True), Column("nick", String(20)))
comments = Table("comments", metadata, Column("id", Integer, primary_key=True),
                 Column("user_id", Integer, ForeignKey("users.id", name="fk_comments_user", ondelete="CASCADE"), nullable=False))
"""
    example = make_project(tmp_path, "al_batch_cascade", [
        Rev("c001",
            'op.create_table("users", sa.Column("id", sa.Integer, primary_key=True))\n'
            'op.create_table("comments", sa.Column("id", sa.Integer, primary_key=True), sa.Column("user_id", sa.Integer, '
            'sa.ForeignKey("users.id", name="fk_comments_user", ondelete="CASCADE"), nullable=False))',
            'op.drop_table("comments")\nop.drop_table("users")'),
        Rev("c002",
            'with op.batch_alter_table("users", recreate="always") as b:\n    b.add_column(sa.Column("nick", sa.String(20)))',
            'with op.batch_alter_table("users", recreate="always") as b:\n    b.drop_column("nick")'),
    ], url=url, models=models, base=False)
    sqlite_foreign_keys_on(example)
    report = run(example)
    assert verdict(report) == {"c001": ("ok", None), "c002": ("ok", None)}, report.lines()
    assert report.revisions[1].values_checked > 0 and not report.revisions[1].losses
    api.upgrade(example.project, "c001")
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO users (id) VALUES (1)")
        conn.exec_driver_sql("INSERT INTO comments (id, user_id) VALUES (1, 1), (2, 1)")
    api.upgrade(example.project, "head")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT id, user_id FROM comments ORDER BY id").all() == [(1, 1), (2, 1)]
        assert conn.exec_driver_sql("SELECT id, nick FROM users").all() == [(1, None)]
    engine.dispose()
