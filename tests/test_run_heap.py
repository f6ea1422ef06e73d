"""A run keeps the garbage collector off what it holds (``runtime.heap``) only while it runs.

The steps run with the objects alive before them frozen; every run, even a
failing one, gives them back to the collector at its end; a process that
froze objects itself keeps exactly its own freeze.
"""

from __future__ import annotations

import contextlib
import gc
import sqlite3
import sys
from pathlib import Path

import pytest

from schemashift.errors import MigrationFailed

PROBE = "import gc\nop.execute('CREATE TABLE probe_' + ('frozen' if gc.get_freeze_count() else 'not') + ' (x INTEGER)')"


@pytest.fixture(autouse=True)
def _no_freeze_before():
    gc.unfreeze()
    yield
    gc.unfreeze()


def _tables(project) -> set[str]:
    import sqlalchemy as sa

    engine = project.engine()
    try:
        with engine.connect() as conn:
            return set(sa.inspect(conn).get_table_names())
    finally:
        engine.dispose()


def test_steps_run_frozen_and_the_run_thaws(sqlite_runcore):
    sqlite_runcore.rev("a1", None, PROBE, "op.execute('DROP TABLE probe_frozen')")
    sqlite_runcore.upgrade("head")
    assert "probe_frozen" in _tables(sqlite_runcore)
    assert gc.get_freeze_count() == 0
    sqlite_runcore.downgrade("base")
    assert gc.get_freeze_count() == 0


def test_a_failing_run_thaws(sqlite_runcore):
    sqlite_runcore.rev("a1", None, "op.create_table('t', sa.Column('id', sa.Integer))\nraise RuntimeError('boom')")
    with pytest.raises(MigrationFailed):
        sqlite_runcore.upgrade("head")
    assert gc.get_freeze_count() == 0


def test_a_process_that_froze_objects_keeps_its_own_freeze(sqlite_runcore):
    sqlite_runcore.rev("a1", None, PROBE)
    kept = [object() for _ in range(10)] + [[] for _ in range(10)]
    gc.freeze()
    before = gc.get_freeze_count()
    sqlite_runcore.upgrade("head")
    after = gc.get_freeze_count()  # objects freed by reference counting leave the count, nothing joins it
    assert before * 0.9 < after <= before  # neither thawed nor grown by the run
    assert kept


def test_a_process_that_turned_the_collector_off_is_left_as_it_is(sqlite_runcore):
    """verify's own freeze already left such a process alone; the run froze regardless
    (tests/test_verify_safety.py caught it)."""
    sqlite_runcore.rev("a1", None, PROBE)
    gc.disable()
    try:
        sqlite_runcore.upgrade("head")
        assert not gc.isenabled() and gc.get_freeze_count() == 0
    finally:
        gc.enable()
    assert "probe_not" in _tables(sqlite_runcore)


# ---------------------------------------------------------------- the command-line process at exit

# the process's own entry point, with a probe run after everything else (atexit), as Python's shutdown begins
EXIT_PROBE = """
import atexit, gc, runpy, sys
atexit.register(lambda: print("frozen at exit:", gc.get_freeze_count() > 0, flush=True))
sys.argv = ["schemashift", *sys.argv[1:]]
runpy.run_module("schemashift", run_name="__main__")
"""


def _whole_process(project, *args: str):
    import os
    import subprocess

    env = {k: v for k, v in os.environ.items() if k != "SCHEMASHIFT_URL"}
    return subprocess.run([sys.executable, "-c", EXIT_PROBE, *args], cwd=project.root, env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_command_line_process_exits_with_its_objects_frozen_and_its_work_done(sqlite_runcore):
    """``runtime.heap.before_exit``: Python's shutdown then skips walking every object; all that the
    command wrote is there, value by value, and its output and exit code are whole."""
    sqlite_runcore.rev("a1", None, "op.create_table('t', sa.Column('id', sa.Integer, primary_key=True), "
                       "sa.Column('name', sa.String(20)))\nop.execute(\"INSERT INTO t VALUES (1, 'one'), (2, 'two')\")",
                       "op.drop_table('t')")
    sqlite_runcore.rev("a2", "a1", "op.add_column('t', sa.Column('extra', sa.String(20)))",
                       "op.drop_column('t', 'extra')")
    database = Path(sqlite_runcore.url.removeprefix("sqlite:///"))
    with contextlib.closing(sqlite3.connect(database)) as conn:  # WAL: its -wal file stays until the last close
        assert conn.execute("PRAGMA journal_mode=wal").fetchone() == ("wal",)
    done = _whole_process(sqlite_runcore, "upgrade", "head")
    assert done.returncode == 0, done.stderr
    leftovers = [p.name for p in database.parent.rglob("*") if p.name.endswith(("-wal", "-shm", "-journal"))]
    assert leftovers == []  # every database connection was closed before the process exited
    lines = done.stdout.splitlines()
    assert lines[-1] == "frozen at exit: True"
    assert [line.split(",")[0] for line in lines[:-2]] == ["Upgraded <base> -> a1", "Upgraded a1 -> a2"]
    assert lines[-2] == "Now at a2."
    assert sqlite_runcore.query("SELECT id, name, extra FROM t ORDER BY id") == [(1, "one", None), (2, "two", None)]
    assert sqlite_runcore.query("SELECT version_num FROM alembic_version") == [("a2",)]
    assert sqlite_runcore.ledger() == [("a1", "up"), ("a2", "up")]

    read = _whole_process(sqlite_runcore, "current")  # a read command, which runs with the collector off
    assert read.returncode == 0, read.stderr
    assert read.stdout.splitlines() == ["a2 (head)", "frozen at exit: True"]

    failed = _whole_process(sqlite_runcore, "downgrade", "no-such-revision")
    assert failed.returncode != 0 and failed.stderr.startswith("error: ")
    assert failed.stdout.splitlines()[-1] == "frozen at exit: True"  # on the way out of a failure too
    assert sqlite_runcore.query("SELECT version_num FROM alembic_version") == [("a2",)]


def test_the_cli_called_in_a_living_process_leaves_its_collector_alone(sqlite_runcore, monkeypatch):
    """``cli.main(argv)`` (tests, embedding programs) goes on living after it returns: nothing frozen."""
    from schemashift import cli

    sqlite_runcore.rev("a1", None, "op.create_table('t', sa.Column('id', sa.Integer, primary_key=True))")
    monkeypatch.chdir(sqlite_runcore.root)
    with pytest.raises(SystemExit) as exited:
        cli.main(["upgrade", "head"])
    assert exited.value.code == 0
    assert gc.get_freeze_count() == 0
    assert sqlite_runcore.query("SELECT version_num FROM alembic_version") == [("a1",)]


def test_a_pooling_env_py_leaves_every_commit_in_the_database_file_at_exit(sqlite_runcore, tmp_path):
    """An env.py whose engine pools (its app's own engine, say) leaves its connection open in the pool.
    The exiting process closes it (``runner.close_env_engines``) before freezing, as the collector did:
    on a WAL database the run's commits are then in the database file itself, and a copy of that file
    alone holds them; no -wal or -shm file is left."""
    sqlite_runcore.edit_env("poolclass=pool.NullPool,", "")  # SQLAlchemy's default pool for a SQLite file
    sqlite_runcore.rev("a1", None, "op.create_table('t', sa.Column('id', sa.Integer, primary_key=True), "
                       "sa.Column('name', sa.String(20)))\nop.execute(\"INSERT INTO t VALUES (1, 'one'), (2, 'two')\")",
                       "op.drop_table('t')")
    database = Path(sqlite_runcore.url.removeprefix("sqlite:///"))
    with contextlib.closing(sqlite3.connect(database)) as conn:
        assert conn.execute("PRAGMA journal_mode=wal").fetchone() == ("wal",)
    done = _whole_process(sqlite_runcore, "upgrade", "head")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-2:] == ["Now at a1.", "frozen at exit: True"]
    beside = sorted(p.name.removeprefix(database.name) for p in database.parent.glob(database.name + "*"))
    assert beside == ["", "-schemashift", "-schemashift.lock"]  # the file, the ledger's sidecar and lock file
    alone = tmp_path / "copied-alone.db"
    alone.write_bytes(database.read_bytes())
    with contextlib.closing(sqlite3.connect(alone)) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("a1",)]
        assert conn.execute("SELECT id, name FROM t ORDER BY id").fetchall() == [(1, "one"), (2, "two")]
