"""env.py that leaves the run's transaction uncommitted: never reported as applied, nor as "nothing to do".

SQLAlchemy 2 begins a transaction at the first statement: an env.py that runs
one before ``context.configure()`` (a ``PRAGMA``, a ``SET search_path``) hands
Alembic a connection already in a transaction, which Alembic treats as the
caller's and never commits; closing the connection then rolls every migration
back.  Plain Alembic prints "Running upgrade" and leaves the database as it
was.  schemashift printed "Nothing to do: the database is already at base."
Now it says what happened.
"""

from __future__ import annotations

import pytest

from schemashift.errors import MigrationFailed

STATEMENT_FIRST = ("def _run(connection) -> None:\n",
                   "def _run(connection) -> None:\n    connection.exec_driver_sql('SELECT 1')  # begins a transaction\n")
TABLE = "t = op.create_table('t', sa.Column('id', sa.Integer, primary_key=True))\nop.bulk_insert(t, [{'id': 1}])"


def test_a_run_env_py_rolled_back_is_reported_as_rolled_back(runcore):
    p = runcore
    p.edit_env(*STATEMENT_FIRST)
    p.rev("aaa", None, TABLE, "op.drop_table('t')")
    notes: list[str] = []
    with pytest.raises(MigrationFailed) as failed:
        p.upgrade(notice=notes.append)
    exc = failed.value
    assert exc.exit_code == 4 and exc.revision == "aaa"
    assert exc.message.startswith("env.py rolled back what ran (aaa) instead of committing it")
    assert exc.hint.endswith("rolled back: the database is as it was before the run")
    assert notes and "already in a transaction when it calls context.configure()" in notes[0]
    assert p.version() == set() and "t" not in p.tables()


def test_committed_after_the_statement_it_runs_as_usual(runcore):
    p = runcore
    p.edit_env(STATEMENT_FIRST[0], STATEMENT_FIRST[1] + "    connection.commit()\n")
    p.rev("aaa", None, TABLE, "op.drop_table('t')")
    result = p.upgrade()
    assert [s.revision for s in result.steps] == ["aaa"]
    assert p.version() == {"aaa"} and p.rows("t", "id") == [(1,)]
