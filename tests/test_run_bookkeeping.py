"""The run's per-step bookkeeping takes each step's revision from the planned steps, not from a
revision-map lookup per step (``Run._script_of``): pinned to Alembic's own answer
(``MigrationInfo.up_revision``) on every step of runs with branches, a merge and a downgrade, and the
ledger rows it writes name the same revisions and checksums."""

from __future__ import annotations

from schemashift.runtime import run as run_mod
from schemashift.safety.ledger import checksum


def _history(runcore) -> dict[str, str]:
    paths = {}
    paths["a1"] = runcore.rev("a1", None, "op.create_table('a', sa.Column('id', sa.Integer, primary_key=True))",
                              "op.drop_table('a')")
    paths["b1"] = runcore.rev("b1", "a1", "op.add_column('a', sa.Column('b', sa.Integer))", "op.drop_column('a', 'b')")
    paths["c1"] = runcore.rev("c1", "a1", "op.add_column('a', sa.Column('c', sa.Integer))", "op.drop_column('a', 'c')")
    paths["m1"] = runcore.rev("m1", ("b1", "c1"), "pass", "pass")
    paths["d1"] = runcore.rev("d1", "m1", "op.create_table('d', sa.Column('id', sa.Integer, primary_key=True))",
                              "op.drop_table('d')")
    return {rev: str(path) for rev, path in paths.items()}


def test_each_step_names_the_revision_alembic_would(sqlite_runcore, monkeypatch):
    paths = _history(sqlite_runcore)
    seen: list[tuple[str, str, str]] = []
    real = run_mod.Run._script_of

    def checked(self, step):
        fast = real(self, step)
        slow = step.up_revision  # Alembic's lookup
        assert fast is slow, (step.up_revision_id, fast, slow)
        seen.append((step.up_revision_id, fast.doc, fast.path))
        return fast

    monkeypatch.setattr(run_mod.Run, "_script_of", checked)
    up = sqlite_runcore.upgrade("head")
    order = [e.revision for e in up.steps]
    assert order[0] == "a1" and sorted(order[1:3]) == ["b1", "c1"] and order[3:] == ["m1", "d1"]
    assert [e.doc for e in up.steps] == [f"revision {e.revision}" for e in up.steps]
    down = sqlite_runcore.downgrade("a1")
    assert {e.revision for e in down.steps} == {"d1", "m1", "b1", "c1"}
    assert {rev for rev, _, _ in seen} == {"a1", "b1", "c1", "m1", "d1"}
    assert all(path == paths[rev] for rev, _, path in seen)
    rows = sqlite_runcore.ledger()
    assert [r for r in rows if r[1] == "up"] == [(e.revision, "up") for e in up.steps]
    assert [r for r in rows if r[1] == "down"] == [(e.revision, "down") for e in down.steps]


def test_ledger_rows_carry_each_files_checksum(sqlite_runcore):
    paths = _history(sqlite_runcore)
    sqlite_runcore.upgrade("head")
    from sqlalchemy import select

    from schemashift.safety.ledger import Ledger

    ledger = Ledger.for_config(sqlite_runcore.project().config)
    engine = sqlite_runcore.engine()
    try:
        with engine.connect() as conn:
            ledger.prepare(conn, create=False)
            table = ledger.place(conn)
            rows = conn.execute(select(table.c.revision, table.c.checksum).where(table.c.direction == "up")).all()
    finally:
        engine.dispose()
    assert {rev: value for rev, value in rows} == {rev: checksum(path) for rev, path in paths.items()}
