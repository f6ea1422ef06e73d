"""Issue 9's reproductions of the run core: each one a test, on SQLite and PostgreSQL where it applies.

A run must be all-or-nothing where the database can do it, say "rolled back"
only after checking, report a step only once it committed, and word any
failure of a revision as that revision's failure.
"""

from __future__ import annotations

import os
import threading
import time

import pytest
import sqlalchemy as sa
from alembic import command as alembic_command

from schemashift import api
from schemashift.errors import ConfigError, DatabaseError, LockTimeout, MigrationFailed, Refused, RevisionError, RevisionFileError
from schemashift.safety import lock as lock_mod

TABLE_WITH_ROWS = """
t = op.create_table('{name}', sa.Column('id', sa.Integer, primary_key=True), sa.Column('v', sa.String(20)))
op.bulk_insert(t, [{{'id': 1, 'v': 'one'}}, {{'id': 2, 'v': 'two'}}])
"""


def table(name: str) -> str:
    return TABLE_WITH_ROWS.format(name=name)


def alembic_config(project):
    from alembic.config import Config

    return Config(str(project.ini))


# ---------------------------------------------------------------- adoption


def test_adoption_then_atomic_run_applies_the_new_revision(runcore):
    """Plain Alembic took the database to aaa; `upgrade --atomic run` must really apply bbb."""
    runcore.rev("aaa", None, table("a_t"), "op.drop_table('a_t')")
    alembic_command.upgrade(alembic_config(runcore), "head")
    runcore.rev("bbb", "aaa", table("b_t"), "op.drop_table('b_t')")
    seen = []
    result = runcore.upgrade(atomic="run", progress=seen.append)
    assert runcore.version() == {"bbb"} and result.after == ("bbb",)
    assert [e.revision for e in seen] == ["bbb"]
    assert runcore.rows("b_t", "id, v") == [(1, "one"), (2, "two")]
    assert runcore.rows("a_t", "id, v") == [(1, "one"), (2, "two")]
    assert runcore.ledger() == [("aaa", "adopt"), ("bbb", "up")]


# ------------------------------------------------------------- env.py begin()


FAILS_AFTER_DDL = """
op.create_table('half', sa.Column('id', sa.Integer, primary_key=True))
op.execute("INSERT INTO half (id) VALUES (1)")
op.execute("UPDATE a_t SET v = 'changed'")
op.execute("SELECT * FROM no_such_table")
"""


@pytest.mark.parametrize("atomic", ["step", "run"])
def test_env_py_that_begins_its_own_transaction_is_still_atomic(runcore, atomic):
    runcore.env_shape("begin")
    runcore.rev("aaa", None, table("a_t"), "op.drop_table('a_t')")
    runcore.upgrade()
    before = runcore.state()
    runcore.rev("bbb", "aaa", FAILS_AFTER_DDL)
    notes = []
    with pytest.raises(MigrationFailed) as failed:
        runcore.upgrade(atomic=atomic, notice=notes.append)
    assert failed.value.revision == "bbb"
    assert "rolled back: the database is as it was before the run" in failed.value.one_line()
    assert runcore.state() == before
    if atomic == "step":
        assert any("one transaction" in n for n in notes)


# ------------------------------------------------------------ autocommit blocks


def test_vacuum_in_an_autocommit_block_works_on_sqlite(sqlite_runcore):
    p = sqlite_runcore
    p.rev("aaa", None, table("a_t"))
    p.rev("bbb", "aaa", "with op.get_context().autocommit_block():\n    op.execute('VACUUM')")
    p.upgrade()
    assert p.version() == {"bbb"} and [r for r, d in p.ledger()] == ["aaa", "bbb"]
    assert p.rows("a_t", "id, v") == [(1, "one"), (2, "two")]


def test_create_index_concurrently_works_while_the_lock_is_held(pg_runcore):
    p = pg_runcore
    p.rev("aaa", None, table("a_t"))
    p.rev(
        "bbb", "aaa",
        "with op.get_context().autocommit_block():\n"
        "    op.create_index('ix_a_t_v', 'a_t', ['v'], postgresql_concurrently=True)",
    )
    p.upgrade(lock_timeout=5)
    assert p.version() == {"bbb"}
    assert p.query("SELECT indexname FROM pg_indexes WHERE tablename = 'a_t' AND indexname = 'ix_a_t_v'")
    assert p.rows("a_t", "id, v") == [(1, "one"), (2, "two")]


def test_autocommit_block_under_atomic_run_is_refused_before_anything_runs(runcore):
    runcore.rev("aaa", None, table("a_t"))
    runcore.rev("bbb", "aaa", "with op.get_context().autocommit_block():\n    op.execute('SELECT 1')")
    before = runcore.state()  # a fresh database: nothing at all
    with pytest.raises(Refused, match="bbb commits inside itself") as refused:
        runcore.upgrade(atomic="run")
    assert refused.value.exit_code == 5 and "--atomic step" in refused.value.one_line()
    assert runcore.state() == before


def test_failure_after_an_autocommit_block_is_not_called_rolled_back(runcore):
    runcore.rev("aaa", None, table("a_t"))
    runcore.upgrade()
    runcore.rev(
        "bbb", "aaa",
        "op.execute(\"UPDATE a_t SET v = 'kept'\")\n"
        "with op.get_context().autocommit_block():\n    op.execute('SELECT 1')\n"
        "op.execute('SELECT * FROM no_such_table')",
    )
    with pytest.raises(MigrationFailed) as failed:
        runcore.upgrade()
    line = failed.value.one_line()
    assert "migration bbb failed" in line and "NOT rolled back" in line
    assert "as it was before" not in line
    assert runcore.rows("a_t", "id, v") == [(1, "kept"), (2, "kept")]  # what the message says stayed


def test_commit_inside_a_sqlite_migration_is_not_called_rolled_back(sqlite_runcore):
    p = sqlite_runcore
    p.rev("aaa", None, table("a_t"))
    p.upgrade()
    p.rev("bbb", "aaa", "op.execute(\"UPDATE a_t SET v = 'kept'\")\nop.execute('COMMIT')\nop.execute('SELECT * FROM nope')")
    with pytest.raises(MigrationFailed) as failed:
        p.upgrade()
    assert "NOT rolled back" in failed.value.one_line() and "COMMIT" in failed.value.one_line()
    assert p.version() == {"aaa"}
    assert p.rows("a_t", "id, v") == [(1, "kept"), (2, "kept")]


# ------------------------------------------------------------------- commit time


def test_failure_at_commit_is_not_reported_as_applied(pg_runcore):
    p = pg_runcore
    p.rev("aaa", None, table("a_t"))
    p.upgrade()
    p.rev(
        "bbb", "aaa",
        "op.execute('CREATE TABLE parent (id int PRIMARY KEY)')\n"
        "op.execute('CREATE TABLE child (id int, pid int REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)')\n"
        "op.execute('INSERT INTO child VALUES (1, 99)')",
    )
    before = p.state()
    seen = []
    with pytest.raises(MigrationFailed) as failed:
        p.upgrade(progress=seen.append)
    assert seen == []  # nothing printed as "Upgraded" before the failure
    line = failed.value.one_line()
    assert "migration bbb failed at commit" in line and "rolled back" in line
    assert p.state() == before


def test_a_step_whose_ledger_row_is_refused_at_commit_is_rolled_back(pg_runcore):
    """PostgreSQL sends a step's ledger row with the step's COMMIT. A migration that takes the row's
    table away (here: drops the ledger) fails there: the step is reported failed at commit, not
    applied; its DDL, its version and every row are as before it, and the ledger keeps its rows."""
    p = pg_runcore
    p.rev("aaa", None, table("a_t"))
    p.upgrade()
    p.rev("bbb", "aaa", table("b_t") + "\nop.execute('DROP TABLE schemashift.schemashift_ledger')")
    before = p.state()
    seen = []
    with pytest.raises(MigrationFailed) as failed:
        p.upgrade(progress=seen.append)
    assert seen == []
    line = failed.value.one_line()
    assert "migration bbb failed at commit" in line and "schemashift_ledger" in line, line
    assert "rolled back: the database is as it was before" in line and "NOT rolled back" not in line, line
    assert p.state() == before
    assert p.ledger() == [("aaa", "up")]
    assert "b_t" not in p.tables() and p.rows("a_t", "id, v") == [(1, "one"), (2, "two")]


SQLITE_FK_ON = """    from sqlalchemy import event as _event

    @_event.listens_for(connectable, "connect")
    def _foreign_keys_on(dbapi_connection, record):
        dbapi_connection.execute("PRAGMA foreign_keys=ON")

"""

DEFERRED_ORPHAN = (
    "op.execute('CREATE TABLE parent (id INTEGER PRIMARY KEY)')\n"
    "op.execute('CREATE TABLE child (id INTEGER, pid INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)')\n"
    "op.execute('INSERT INTO child VALUES (1, 99)')"
)


def test_failure_at_commit_in_the_cli_prints_no_upgraded_line(runcore):
    """A deferred foreign key violated by a revision fails at COMMIT (SQLite and PostgreSQL): the step
    before it is reported and kept, the failed one is not reported, exit 4, and its version, ledger
    and rows are as before it."""
    p = runcore
    if p.backend == "sqlite":  # SQLite checks foreign keys only when the engine turns them on
        p.edit_env("    with connectable.connect() as connection:", SQLITE_FK_ON + "    with connectable.connect() as connection:")
    p.rev("aaa", None, table("a_t"))
    p.upgrade()
    p.rev("bbb", "aaa", table("b_t"))
    p.rev("ccc", "bbb", DEFERRED_ORPHAN)
    result = p.cli("upgrade", "head", ok=False)
    assert result.code == MigrationFailed.exit_code, result.stderr
    assert "Upgraded aaa -> bbb" in result.stdout and "-> ccc" not in result.stdout
    assert "migration ccc failed at commit" in result.error_line and "rolled back" in result.error_line
    assert "NOT rolled back" not in result.error_line
    assert p.version() == {"bbb"}
    assert p.ledger() == [("aaa", "up"), ("bbb", "up")]
    assert p.rows("a_t", "id, v") == [(1, "one"), (2, "two")] and p.rows("b_t", "id, v") == [(1, "one"), (2, "two")]
    assert not {"parent", "child"} & p.tables()


def test_failure_at_commit_of_a_middle_step_names_that_step(runcore):
    """A step that fails at its COMMIT with steps after it (SQLite and PostgreSQL): the error names that
    step, not the next one, says it was rolled back (checked), and the steps before it stay applied."""
    p = runcore
    if p.backend == "sqlite":
        p.edit_env("    with connectable.connect() as connection:", SQLITE_FK_ON + "    with connectable.connect() as connection:")
    p.rev("aaa", None, table("a_t"))
    p.upgrade()
    p.rev("bbb", "aaa", table("b_t"))
    p.rev("ccc", "bbb", DEFERRED_ORPHAN)
    p.rev("ddd", "ccc", table("d_t"))
    result = p.cli("upgrade", "head", ok=False)
    assert result.code == MigrationFailed.exit_code, result.stderr
    assert "migration ccc failed at commit" in result.error_line, result.error_line
    assert "rolled back: the database is as it was before migration ccc" in result.error_line, result.error_line
    assert "Upgraded aaa -> bbb" in result.stdout and "-> ccc" not in result.stdout
    assert p.version() == {"bbb"} and p.ledger() == [("aaa", "up"), ("bbb", "up")]
    assert not {"parent", "child", "d_t"} & p.tables()
    assert p.rows("b_t", "id, v") == [(1, "one"), (2, "two")]


# -------------------------------------------------------------------- the lock


def test_lock_is_named_after_env_py_version_table(runcore):
    runcore.edit_env("include_name=include_name,\n        render_as_batch", "include_name=include_name,\n        version_table='other_version',\n        render_as_batch")
    runcore.rev("aaa", None, table("a_t"))
    engine = runcore.engine()
    try:
        with engine.connect() as holder:
            held = lock_mod.take(holder, lock_mod.LockSpec("alembic_version", 1))
            try:
                runcore.upgrade(lock_timeout=0.5)  # another project's lock: no wait
            finally:
                held.release()
            assert runcore.query("SELECT version_num FROM other_version") == [("aaa",)]
            held = lock_mod.take(holder, lock_mod.LockSpec("other_version", 1))
            try:
                runcore.rev("bbb", "aaa", table("b_t"))
                with pytest.raises(LockTimeout):
                    runcore.upgrade(lock_timeout=0.3)
            finally:
                held.release()
    finally:
        engine.dispose()
    assert runcore.query("SELECT version_num FROM other_version") == [("aaa",)]


def test_uri_style_sqlite_url_takes_the_lock(sqlite_runcore, tmp_path):
    p = sqlite_runcore
    path = tmp_path / "test.db"
    uri = f"sqlite:///file:{path}?uri=true"
    assert lock_mod.sqlite_path(sa.engine.make_url(uri)) == os.path.realpath(path)
    p.rev("aaa", None, table("a_t"))
    release = lock_mod.sqlite_lock(sa.engine.make_url(p.url), lock_mod.LockSpec("alembic_version", 1))
    try:
        with pytest.raises(LockTimeout):
            api.upgrade(_project(p, uri), "head", lock_timeout=0.3)
    finally:
        release()
    api.upgrade(_project(p, uri), "head")
    assert p.version() == {"aaa"}


def _project(p, url):
    from schemashift.config import load_project

    return load_project(p.ini, url=url)


def test_lock_file_falls_back_when_it_cannot_be_created_beside_the_database(tmp_path):
    db = tmp_path / "x.db"
    (tmp_path / "x.db-schemashift.lock").mkdir()  # cannot be opened as a file, even by root
    url = sa.engine.make_url(f"sqlite:///{db}")
    release = lock_mod.sqlite_lock(url, lock_mod.LockSpec("alembic_version", 1))
    try:
        with pytest.raises(LockTimeout):
            lock_mod.sqlite_lock(url, lock_mod.LockSpec("alembic_version", 0.2))
    finally:
        release()


# ------------------------------------------------------------------- stamping


def test_stamp_head_records_every_revision_it_marks(runcore):
    ids = ["r1", "r2", "r3", "r4"]
    down = None
    for rid in ids:
        runcore.rev(rid, down, "pass")
        down = rid
    api.stamp(runcore.project(), ["head"])
    assert sorted(runcore.ledger()) == [(r, "stamp") for r in ids]
    runcore.rev("r5", "r4", table("t5"))
    result = runcore.upgrade()
    assert result.warnings == [] and runcore.version() == {"r5"}


def test_failed_stamp_at_a_merge_point_changes_nothing(runcore):
    runcore.rev("base1", None, "pass")
    runcore.rev("left", "base1", table("l_t"))
    runcore.rev("right", "base1", table("r_t"))
    runcore.rev("merged", ("left", "right"), "pass")
    runcore.upgrade("left")
    api.stamp(runcore.project(), ["merged"])
    assert runcore.ledger()[-2:] == [("merged", "stamp"), ("right", "stamp")]
    before = runcore.state()
    with pytest.raises(MigrationFailed) as failed:  # Alembic cannot stamp a merge back onto both parents
        api.stamp(runcore.project(), ["left", "right"])
    assert failed.value.exit_code == 4 and "stamp failed at" in str(failed.value)
    assert "env.py" not in str(failed.value) and "rolled back: the database is as it was before the stamp" in str(failed.value)
    assert runcore.state() == before


# ---------------------------------------------------------- failures worded


@pytest.mark.parametrize(
    "body, reason",
    [
        ("raise RuntimeError('boom')", "RuntimeError: boom"),
        ("assert 1 == 2, 'numbers differ'", "AssertionError: numbers differ"),
        ("raise NotImplementedError('later')", "NotImplementedError: later"),
        ("import sys\nsys.exit(3)", "the migration called sys.exit(3)"),
        ("from schemashift.safety.rebuild import RebuildError\nraise RebuildError('own op broke')", "own op broke"),
    ],
)
def test_any_exception_in_a_revision_is_that_revision_failing(sqlite_runcore, body, reason):
    p = sqlite_runcore
    p.rev("aaa", None, table("a_t"))
    p.upgrade()
    before = p.state()
    p.rev("bbb", "aaa", "op.execute(\"UPDATE a_t SET v = 'x'\")\n" + body)
    with pytest.raises(MigrationFailed) as failed:
        p.upgrade()
    assert failed.value.exit_code == 4 and failed.value.revision == "bbb"
    assert f"migration bbb failed: {reason}" in failed.value.one_line()
    assert "rolled back: the database is as it was before migration bbb" in failed.value.one_line()
    assert p.state() == before


def test_exception_in_a_revision_on_postgresql(pg_runcore):
    pg_runcore.rev("aaa", None, table("a_t") + "\nraise RuntimeError('boom')")
    with pytest.raises(MigrationFailed, match="migration aaa failed: RuntimeError: boom"):
        pg_runcore.upgrade()
    assert "a_t" not in pg_runcore.tables() and pg_runcore.version() == set()


@pytest.mark.parametrize("atomic", ["step", "run"])
def test_a_rolled_back_setval_is_not_called_undone(pg_runcore, atomic):
    """pytest-mrt's MRT501: PostgreSQL never rolls back setval().  "Rolled back: the database is
    as it was" was said of a failed revision that had moved a sequence; the sequence stays where
    the revision put it, and the message now says so (checked against the sequence itself)."""
    pg_runcore.rev("aaa", None, """
        op.create_table('items', sa.Column('id', sa.Integer, primary_key=True), sa.Column('name', sa.String(20)))
        op.execute("INSERT INTO items (name) VALUES ('one'), ('two')")
    """)
    pg_runcore.upgrade()
    pg_runcore.rev("bbb", "aaa", """
        op.execute("SELECT setval('items_id_seq', 1000)")
        op.add_column('items', sa.Column('note', sa.String(20)))
        raise RuntimeError('bbb is broken')
    """)
    with pytest.raises(MigrationFailed) as failed:
        pg_runcore.upgrade(atomic=atomic)
    scope = "the run" if atomic == "run" else "migration bbb"
    assert (f"rolled back: the database is as it was before {scope}, except the sequence positions set by "
            "setval(), which PostgreSQL never rolls back") in failed.value.one_line()
    assert pg_runcore.version() == {"aaa"} and pg_runcore.rows("items", "id, name") == [(1, "one"), (2, "two")]
    with pg_runcore.engine().connect() as conn:
        assert conn.exec_driver_sql("SELECT last_value FROM items_id_seq").scalar() == 1000
    pg_runcore.rev("bbb", "aaa", "op.add_column('items', sa.Column('note', sa.String(20)))\nraise RuntimeError('plain')")
    with pytest.raises(MigrationFailed) as plain:
        pg_runcore.upgrade(atomic=atomic)
    assert plain.value.one_line().endswith(f"rolled back: the database is as it was before {scope})")


def test_revision_without_downgrade_is_not_blamed_on_env_py(runcore):
    runcore.rev("aaa", None, table("a_t"), downgrade=None)
    runcore.upgrade()
    with pytest.raises(RevisionFileError) as failed:
        runcore.downgrade("base")
    assert failed.value.exit_code == 2 and "aaa_r.py does not import: it has no downgrade() function" in str(failed.value)
    assert "env.py" not in str(failed.value)
    assert runcore.version() == {"aaa"} and runcore.rows("a_t", "id, v") == [(1, "one"), (2, "two")]


def test_failure_in_version_locations_outside_script_location(runcore, tmp_path):
    extra = tmp_path / "elsewhere"
    extra.mkdir()
    text = runcore.ini.read_text()
    runcore.ini.write_text(text.replace("[alembic]\n", f"[alembic]\nversion_locations = %(here)s/migrations/versions{os.pathsep}{extra}\n", 1))
    runcore.rev("aaa", None, table("a_t"))
    runcore.rev("bbb", "aaa", "raise RuntimeError('outside')", folder=extra)
    with pytest.raises(MigrationFailed, match="migration bbb failed: RuntimeError: outside"):
        runcore.upgrade()
    assert runcore.version() == {"aaa"}


# ------------------------------------------------------------- locked / bad URL


def test_sqlite_database_locked_by_another_connection(sqlite_runcore):
    p = sqlite_runcore
    p.rev("aaa", None, table("a_t"))
    p.upgrade()
    p.rev("bbb", "aaa", table("b_t"))
    import sqlite3

    other = sqlite3.connect(p.url.removeprefix("sqlite:///"), isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        for call in (lambda: api.current(p.project()), lambda: p.upgrade()):
            with pytest.raises(DatabaseError, match="is locked by another connection") as locked:
                call()
            assert locked.value.exit_code == 3
    finally:
        other.rollback()
        other.close()
    assert p.version() == {"aaa"}


def test_bad_port_is_a_url_problem_not_env_py(sqlite_runcore):
    project = _project(sqlite_runcore, "postgresql+psycopg://u:secret@127.0.0.1:99999/db")
    with pytest.raises((ConfigError, DatabaseError)) as bad:
        api.current(project)
    assert "env.py" not in str(bad.value) and "secret" not in str(bad.value)


# ------------------------------------------------------------------ env.py shapes


RECIPE = """    from sqlalchemy import event as _event

    @_event.listens_for(connectable, "connect")
    def _no_pysqlite_transactions(dbapi_connection, record):
        dbapi_connection.isolation_level = None

    @_event.listens_for(connectable, "begin")
    def _emit_begin(conn):
        conn.exec_driver_sql("BEGIN")

"""


def test_pysqlite_begin_listener_recipe(sqlite_runcore):
    p = sqlite_runcore
    p.edit_env("    with connectable.connect() as connection:", RECIPE + "    with connectable.connect() as connection:")
    p.rev("aaa", None, table("a_t"))
    p.upgrade()
    before = p.state()
    p.rev("bbb", "aaa", FAILS_AFTER_DDL)
    with pytest.raises(MigrationFailed, match="rolled back: the database is as it was before migration bbb"):
        p.upgrade()
    assert p.state() == before


def test_env_py_setting_version_locations_itself(runcore, tmp_path):
    extra = tmp_path / "more_versions"
    extra.mkdir()
    runcore.edit_env("config = context.config\n", f"config = context.config\ncontext.script.version_locations = [{str(runcore.versions)!r}, {str(extra)!r}]\n")
    runcore.rev("aaa", None, table("a_t"))
    runcore.rev("bbb", "aaa", table("b_t"), folder=extra)
    result = runcore.upgrade()
    assert [e.revision for e in result.steps] == ["aaa", "bbb"] and result.after == ("bbb",)
    assert runcore.version() == {"bbb"} and runcore.rows("b_t", "id, v") == [(1, "one"), (2, "two")]
    assert [r for r, _ in runcore.ledger()] == ["aaa", "bbb"]
    # a revision only env.py's folders hold, named as a target (Prefect's downgrade -r REV): it was
    # refused before env.py ran ("No such revision"); a real typo is still refused, changing nothing
    runcore.rev("ccc", "bbb", table("c_t"), "op.drop_table('c_t')", folder=extra)
    runcore.upgrade("ccc")
    runcore.downgrade("bbb")
    assert runcore.version() == {"bbb"} and "c_t" not in runcore.tables()
    before = runcore.state()
    with pytest.raises(RevisionError, match="'zzz'"):
        runcore.upgrade("zzz")
    assert runcore.state() == before


def test_env_py_connecting_to_a_url_of_its_own_is_refused(sqlite_runcore, tmp_path):
    p = sqlite_runcore
    other = tmp_path / "other.db"
    p.edit_env(
        "    connectable = engine_from_config(",
        f"    import os\n    os.environ.setdefault('APP_DB', 'sqlite:///{other}')\n"
        "    config.set_main_option('sqlalchemy.url', os.environ['APP_DB'])\n"
        "    connectable = engine_from_config(",
    )
    p.rev("aaa", None, table("a_t"))
    with pytest.raises(ConfigError, match="env.py connected to sqlite:///.*other.db, not to") as refused:
        p.upgrade()
    assert refused.value.exit_code == 2
    assert p.tables() == set()
    assert sa.inspect(sa.create_engine(f"sqlite:///{other}")).get_table_names() == []


def test_env_py_error_from_a_worker_thread_requirement_names_env_py(sqlite_runcore):
    p = sqlite_runcore
    p.edit_env("config = context.config\n", "config = context.config\nraise RuntimeError('This function can only be run from an AnyIO worker thread')\n")
    with pytest.raises(ConfigError, match=r"env.py failed at line \d+: RuntimeError: This function can only be run"):
        api.current(p.project())


def test_env_py_running_migrations_in_a_worker_thread(sqlite_runcore):
    """env.py that hands the work to a thread (as AnyIO/asyncio runners do) still gets lock, ledger, rollback."""
    p = sqlite_runcore
    p.edit_env(
        "    with connectable.connect() as connection:\n        _run(connection)\n",
        "    import concurrent.futures\n\n    def work():\n        with connectable.connect() as connection:\n            _run(connection)\n\n"
        "    with concurrent.futures.ThreadPoolExecutor(1) as executor:\n        executor.submit(work).result()\n",
    )
    p.rev("aaa", None, table("a_t"))
    p.upgrade()
    before = p.state()
    p.rev("bbb", "aaa", FAILS_AFTER_DDL)
    with pytest.raises(MigrationFailed, match="rolled back: the database is as it was before migration bbb"):
        p.upgrade()
    assert p.state() == before and p.ledger() == [("aaa", "up")]


def test_script_location_as_a_package_resource(sqlite_runcore):
    p = sqlite_runcore
    package = p.root / "mypkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (p.root / "migrations").rename(package / "migrations")
    text = p.ini.read_text()
    p.ini.write_text(text.replace("script_location = %(here)s/migrations", "script_location = mypkg:migrations", 1))
    assert "script_location = mypkg:migrations" in p.ini.read_text()
    p.rev("aaa", None, table("a_t"), folder=package / "migrations" / "versions")
    result = p.upgrade()
    assert result.after == ("aaa",) and p.version() == {"aaa"}
    assert p.rows("a_t", "id, v") == [(1, "one"), (2, "two")]


# ------------------------------------------------------------ ledger checksums


def test_cached_checksums_still_see_an_edit_that_keeps_size_and_mtime(sqlite_runcore):
    """Checksums are kept in the revision index cache, keyed by size, mtime and ctime: an applied
    file edited to the same size with its mtime put back is still hashed again and refused."""
    p = sqlite_runcore
    path = p.rev("aaa", None, table("a_t"))
    p.upgrade()
    p.rev("bbb", "aaa", table("b_t"))
    assert api.validate(p.project()).ok  # the index now holds aaa's checksum
    stat = path.stat()
    time.sleep(0.05)  # ctime moves on with the edit
    path.write_text(path.read_text().replace("'one'", "'uno'"))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size and path.stat().st_mtime_ns == stat.st_mtime_ns
    with pytest.raises(Refused, match="aaa: .* changed since it was applied"):
        p.upgrade()
    assert p.version() == {"aaa"} and "b_t" not in p.tables()
