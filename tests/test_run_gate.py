"""The plan's refusal is a step of the run: taken with the lock held, on exactly the steps that run.

Before, ``upgrade`` planned every revision on a connection of its own and
only then took the lock, so another deploy could move the database between
the plan and the run.  Now the gate sees the run's own steps, reads the rows
through the run's connection, and decides (or asks) while the lock is held;
a refusal writes nothing, not even the ledger.
"""

from __future__ import annotations

import threading

import pytest

from schemashift import api
from schemashift.checks.refusal import UnsafeOperations
from schemashift.errors import LockTimeout

ROWS = """
t = op.create_table('{name}', sa.Column('id', sa.Integer, primary_key=True), sa.Column('v', sa.String(20)))
op.bulk_insert(t, [{{'id': 1, 'v': 'one'}}, {{'id': 2, 'v': 'two'}}])
"""


def test_the_gate_decides_with_the_lock_held(runcore):
    """While the gate asks, a second deploy waits for the lock and gives up: it cannot plan and run in between."""
    p = runcore
    p.rev("aaa", None, ROWS.format(name="keep_t"))
    p.upgrade()
    p.rev("bbb", "aaa", "op.drop_table('keep_t')", "pass")
    asking, answer = threading.Event(), threading.Event()
    seen: list = []

    def confirm(plan, findings):
        seen.append(([r.revision for r in plan.revisions], [f.rule for f in findings], p.version()))
        asking.set()
        assert answer.wait(120)
        return True

    outcome: list = []
    first = threading.Thread(
        target=lambda: outcome.append(api.upgrade(p.project(), "head", confirm=confirm, lock_timeout=60))
    )
    first.start()
    try:
        assert asking.wait(120), "the gate never asked"
        second = p.cli("upgrade", "head", "--allow-destructive", "--lock-timeout", "1", ok=False)
        assert second.code == LockTimeout.exit_code, second.stderr
        assert p.version() == {"aaa"} and p.rows("keep_t", "id, v") == [(1, "one"), (2, "two")]
    finally:
        answer.set()
        first.join(120)
    assert seen == [(["bbb"], ["SS-D101"], {"aaa"})]  # the step that ran, judged on the rows it dropped
    assert [s.revision for s in outcome[0].steps] == ["bbb"]
    assert outcome[0].plan.revisions[0].revision == "bbb"
    assert p.version() == {"bbb"} and "keep_t" not in p.tables()
    assert [r for r in p.ledger() if r[0] == "bbb"] == [("bbb", "up")]


def test_a_refusal_writes_nothing_not_even_the_ledger(runcore):
    """A database plain Alembic migrated: the refused run neither adopts it into the ledger nor moves it."""
    from alembic import command
    from alembic.config import Config

    p = runcore
    p.rev("aaa", None, ROWS.format(name="keep_t"))
    command.upgrade(Config(str(p.ini)), "head")
    p.rev("bbb", "aaa", "op.drop_table('keep_t')", "pass")
    before = p.state()
    with pytest.raises(UnsafeOperations) as refused:
        api.upgrade(p.project(), "head")
    assert refused.value.exit_code == 5 and [f.rule for f in refused.value.findings] == ["SS-D101"]
    assert p.state() == before and p.ledger() == []
    result = p.upgrade()  # allowed: adopted, then run
    assert result.adopted == 1 and p.ledger() == [("aaa", "adopt"), ("bbb", "up")]
    assert "keep_t" not in p.tables()


def test_the_gate_follows_revisions_that_read_fail_to_read_and_autocommit(runcore):
    """Planned inside the run's reading transaction without spoiling it: a revision reading a table an
    earlier step creates (the read fails at plan time: on PostgreSQL that aborts only a savepoint), one
    reading rows, one with an ``autocommit_block`` (nothing is committed while planning)."""
    p = runcore
    p.rev("aaa", None, ROWS.format(name="keep_t"))
    p.upgrade()
    p.rev("bbb", "aaa", ROWS.format(name="new_t"))
    p.rev(
        "ccc", "bbb",
        "from sqlalchemy import text\n"
        "n = op.get_bind().execute(text('SELECT count(*) FROM new_t')).scalar()\n"
        "op.add_column('keep_t', sa.Column('n', sa.Integer, server_default=str(n)))",
    )
    p.rev(
        "ddd", "ccc",
        "from sqlalchemy import text\n"
        "m = op.get_bind().execute(text('SELECT max(id) FROM keep_t')).scalar()\n"
        "with op.get_context().autocommit_block():\n"
        "    op.create_index('ix_keep_v', 'keep_t', ['v'])\n"
        "op.add_column('new_t', sa.Column('m', sa.Integer, server_default=str(m)))",
    )
    result = p.upgrade()
    assert [s.revision for s in result.steps] == ["bbb", "ccc", "ddd"]
    planned = {r.revision: r for r in result.plan.revisions}
    assert list(planned) == ["bbb", "ccc", "ddd"]
    assert planned["ccc"].stopped and "new_t" in planned["ccc"].stopped  # not there yet when planned
    assert planned["ddd"].stopped is None  # the reading transaction survived ccc's failed read
    assert [o.rows for o in planned["ddd"].operations if "new_t" in o.tables] == [0]  # bbb creates it
    assert p.rows("keep_t", "id, v, n") == [(1, "one", 2), (2, "two", 2)]
    assert p.rows("new_t", "id, v, m") == [(1, "one", 2), (2, "two", 2)]
