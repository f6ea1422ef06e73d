"""SQLite: a run's ledger rows wait in the main file, each committed with its step, and move into the
sidecar with the run's last step.

A commit that writes both the database and the ledger's sidecar costs SQLite
a super-journal and about twice the syncs; paid on every step it made a long
``upgrade head`` on SQLite ~1.2x plain Alembic (issue 9).  What must not
change: every committed step has its ledger row (a kill between steps, a
failing step, a migration that drops tables it does not know), rows keep the
order the steps ran in, and after the run plain Alembic sees no ledger table.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest

from fixtures_projects import SchoolProject, chain_rev, chain_step, write_chain
from test_ledger_place import assert_no_ledger_drift, failing_step

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def sidecar_rows(project: SchoolProject) -> list[tuple[str, str, str | None]]:
    """The sidecar file's rows as committed, read by a connection of its own."""
    path = project.url.removeprefix("sqlite:///") + "-schemashift"
    with sqlite3.connect(path) as conn:
        return [tuple(r) for r in conn.execute("SELECT revision, direction, checksum FROM schemashift_ledger ORDER BY id")]


def assert_chain_rows(project: SchoolProject, count: int) -> None:
    """Every t_i holds its 200 rows, value by value."""
    with project.engine().connect() as conn:
        for i in range(count):
            got = [tuple(r) for r in conn.exec_driver_sql(f"SELECT id, v FROM t_{i} ORDER BY id")]
            assert got == [(k, f"row {k}") for k in range(1, 201)], f"t_{i}"


def extended(at: int, code: str):
    """The chain's steps (``chain_step``), step ``at`` running ``code`` after its own operations."""

    def step(i: int) -> tuple[str, str]:
        up, down = chain_step(i)
        return (up + code, down) if i == at else (up, down)

    return step


def checksums(project: SchoolProject, count: int) -> list[str]:
    from schemashift.safety.ledger import checksum

    return [checksum(next(project.versions.glob(f"{chain_rev(i)}_*.py"))) for i in range(count)]


def test_a_long_run_leaves_its_rows_in_order_in_the_sidecar_and_none_in_the_main_file(chain):
    write_chain(chain.versions, 5)
    chain.cli("upgrade", "head")
    assert "schemashift_ledger" not in chain.tables()
    sums = checksums(chain, 5)
    assert sidecar_rows(chain) == [(chain_rev(i), "up", sums[i]) for i in range(5)]
    assert_chain_rows(chain, 5)
    assert "OK: 5 applied" in chain.cli("validate").stdout
    assert_no_ledger_drift(chain)
    chain.cli("downgrade", chain_rev(1), "--allow-destructive")
    assert "schemashift_ledger" not in chain.tables()
    assert [r[:2] for r in sidecar_rows(chain)] == [(chain_rev(i), "up") for i in range(5)] + [
        (chain_rev(i), "down") for i in (4, 3, 2)
    ]
    assert_chain_rows(chain, 2)
    assert chain.version() == {chain_rev(1)}


# step 3 kills its process when it runs (the plan's capture of it, which comes first, leaves a mark)
killing_step = extended(3, (
    "\n    import os, signal, pathlib"
    "\n    mark = pathlib.Path(__file__).with_suffix('.captured')"
    "\n    if mark.exists():"
    "\n        os.kill(os.getpid(), signal.SIGKILL)"
    "\n    mark.write_text('')"
))


def test_a_kill_between_steps_loses_no_ledger_row(chain):
    write_chain(chain.versions, 5, step=killing_step)
    chain.cli("upgrade", chain_rev(0))  # rows of an earlier run already in the sidecar
    killed = subprocess.run([sys.executable, "-m", "schemashift", "upgrade", "head"], cwd=chain.root,
                            capture_output=True, text=True)
    assert killed.returncode == -9, killed.stderr
    # steps 1 and 2 committed with their rows; step 3 died inside its transaction
    assert chain.version() == {chain_rev(2)}
    assert chain.ledger_rows() == [(chain_rev(i), "up") for i in range(3)]
    assert "OK: 3 applied" in chain.cli("validate").stdout
    assert_chain_rows(chain, 3)
    assert "t_3" not in chain.tables()
    write_chain(chain.versions, 2, start=3)  # the same revisions, without the kill
    next(chain.versions.glob("*.captured")).unlink()
    chain.cli("upgrade", "head")
    assert "schemashift_ledger" not in chain.tables()
    assert [r[:2] for r in sidecar_rows(chain)] == [(chain_rev(i), "up") for i in range(5)]
    assert "OK: 5 applied" in chain.cli("validate").stdout
    assert_chain_rows(chain, 5)


def test_a_failing_step_leaves_the_rows_of_the_steps_before_it_in_the_sidecar(chain):
    write_chain(chain.versions, 4, step=failing_step)
    result = chain.cli("upgrade", "head", ok=False)
    assert result.code == 4 and "rolled back" in result.error_line
    assert chain.version() == {chain_rev(1)}
    assert "schemashift_ledger" not in chain.tables()  # moved when the run closed, not left for plain Alembic
    assert [r[:2] for r in sidecar_rows(chain)] == [(chain_rev(0), "up"), (chain_rev(1), "up")]
    assert_chain_rows(chain, 2)
    assert "t_2" not in chain.tables()


# step 2 drops every table it does not know, as a "clean up leftovers" migration does
dropping_step = extended(2, (
    "\n    for name in sa.inspect(op.get_bind()).get_table_names():"
    "\n        if not name.startswith('t_') and name != 'alembic_version':"
    "\n            op.drop_table(name)"
))


def test_a_migration_that_drops_tables_it_does_not_know_loses_no_ledger_row(chain):
    write_chain(chain.versions, 4, step=dropping_step)
    chain.cli("upgrade", "head", "--allow-destructive")
    assert chain.version() == {chain_rev(3)}
    assert "schemashift_ledger" not in chain.tables()
    sums = checksums(chain, 4)
    assert sidecar_rows(chain) == [(chain_rev(i), "up", sums[i]) for i in range(4)]
    assert_chain_rows(chain, 4)


def test_a_run_in_one_transaction_stages_nothing(chain):
    write_chain(chain.versions, 3, step=failing_step)
    result = chain.cli("upgrade", "head", "--atomic", "run", ok=False)
    assert result.code == 4
    assert chain.version() == set() and chain.ledger_rows() == []
    assert not {"schemashift_ledger", "t_0", "t_1"} & chain.tables()


# step 3 notes what other connections see committed, in the sidecar and in the main file
peeking_step = extended(3, (
    "\n    import sqlite3, pathlib"
    "\n    main = op.get_bind().exec_driver_sql('PRAGMA database_list').fetchall()[0][2]"
    "\n    seen = []"
    "\n    for path, table in ((main + '-schemashift', 'schemashift_ledger'), (main, 'schemashift_ledger')):"
    "\n        with sqlite3.connect(path) as other:"
    "\n            known = other.execute(\"SELECT count(*) FROM sqlite_master WHERE name = ?\", (table,)).fetchone()[0]"
    "\n            seen.append(other.execute(f'SELECT count(*) FROM {table}').fetchone()[0] if known else None)"
    "\n    pathlib.Path(__file__).with_suffix('.seen').write_text(repr(seen))"
))


def test_the_steps_before_the_last_commit_in_the_main_file_alone(chain):
    """What makes a long run cheap: steps 0-2 committed their rows in the main file, none in the sidecar."""
    write_chain(chain.versions, 5, step=peeking_step)
    chain.cli("upgrade", "head")
    seen = next(chain.versions.glob("*.seen")).read_text()
    assert seen == "[0, 3]", seen
    assert "schemashift_ledger" not in chain.tables()
    assert [r[:2] for r in sidecar_rows(chain)] == [(chain_rev(i), "up") for i in range(5)]
    assert_chain_rows(chain, 5)


# step 2 rewrites the ledger rows it finds beside its own tables
tampering_step = extended(2, (
    "\n    if 'schemashift_ledger' in sa.inspect(op.get_bind()).get_table_names():"
    "\n        op.execute(\"UPDATE main.schemashift_ledger SET checksum = 'tampered', revision = 'zzz'\")"
))


def test_rows_a_migration_changed_while_they_waited_are_recorded_as_written(chain):
    """The run's rows as it wrote them; what the migration made of the two it found is kept too, first."""
    write_chain(chain.versions, 4, step=tampering_step)
    chain.cli("upgrade", "head")
    sums = checksums(chain, 4)
    assert sidecar_rows(chain) == [("zzz", "up", "tampered")] * 2 + [(chain_rev(i), "up", sums[i]) for i in range(4)]
    assert "OK: 4 applied" in chain.cli("validate").stdout
    assert_chain_rows(chain, 4)


def test_graph_reads_what_a_killed_run_left_in_the_database_file_as_every_reader_does(chain):
    """`graph` read by sqlite3 alone (env.py as init wrote it) and through env.py show the same, newest,
    application of a revision applied twice."""
    write_chain(chain.versions, 5, step=killing_step)
    chain.cli("upgrade", chain_rev(2))
    chain.cli("downgrade", chain_rev(0), "--allow-destructive")
    killed = subprocess.run([sys.executable, "-m", "schemashift", "upgrade", "head"], cwd=chain.root,
                            capture_output=True, text=True)
    assert killed.returncode == -9, killed.stderr
    assert chain.version() == {chain_rev(2)}
    database = chain.url.removeprefix("sqlite:///")
    with sqlite3.connect(database) as conn:  # c0001 and c0002 applied again, their rows waiting here
        staged = conn.execute("SELECT revision, direction, applied_at FROM schemashift_ledger ORDER BY id").fetchall()
    assert [r[:2] for r in staged] == [(chain_rev(1), "up"), (chain_rev(2), "up")]
    fast = chain.cli("graph", "--format", "json")
    env_py = chain.root / "migrations" / "env.py"
    env_py.write_text(env_py.read_text() + "# edited: the database is read through env.py now\n")
    slow = chain.cli("graph", "--format", "json")
    assert (fast.stdout, fast.stderr) == (slow.stdout, slow.stderr)
    assert staged[1][2][:19] in fast.stdout, fast.stdout  # the newer application of c0002, not the first
    assert [r for r in chain.ledger_rows() if r[0] == chain_rev(2)] == [(chain_rev(2), d) for d in ("up", "down", "up")]
