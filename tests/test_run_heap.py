"""A run keeps the garbage collector off what it holds (``runtime.heap``) only while it runs.

The steps run with the objects alive before them frozen; every run, even a
failing one, gives them back to the collector at its end; a process that
froze objects itself keeps exactly its own freeze.
"""

from __future__ import annotations

import gc

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
