"""Concurrent upgrades are serialised; a process killed mid-upgrade never leaves a lie behind."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter

import forked_cli
import pytest
import sqlalchemy as sa

from fixtures_projects import chain_rev, write_chain
from schemashift.errors import LockTimeout
from schemashift.safety import lock as lock_mod
from schemashift.safety.ledger import Ledger

PROCESSES = 8
# 10 per backend in the suite (its slowest test); bench/soak_kill.py runs 40 to 200
KILL_TRIALS = int(os.environ.get("SCHEMASHIFT_KILL_TRIALS", "5"))  # bench/soak_kill.py runs 200
CHAIN = 50


def spawn(project, *args):
    """``schemashift ARGS`` started as its own process (a fork of this one: tests/forked_cli.py), not waited for."""
    env = {k: v for k, v in os.environ.items() if k != "SCHEMASHIFT_URL"}
    if forked_cli.use_subprocess():
        return subprocess.Popen(
            [sys.executable, "-m", "schemashift", *args], cwd=project.root, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
    return forked_cli.start(list(args), cwd=project.root, env=env)


def ups(project) -> Counter:
    return Counter(rev for rev, direction in project.ledger_rows() if direction == "up")


@pytest.mark.also_mariadb
def test_eight_processes_apply_each_revision_once(chain):
    ids = write_chain(chain.versions, 12)
    procs = [spawn(chain, "upgrade", "head") for _ in range(PROCESSES)]
    outputs = [p.communicate(timeout=300) for p in procs]
    for proc, (out, err) in zip(procs, outputs):
        assert proc.returncode == 0, err
    assert ups(chain) == Counter({rev: 1 for rev in ids})
    assert chain.version() == {ids[-1]}
    applied_lines = sum(out.count("Upgraded") for out, _ in outputs)
    assert applied_lines == len(ids)  # the waiters found nothing left to do
    with chain.engine().connect() as conn:
        for i in range(12):
            assert conn.execute(sa.text(f"SELECT count(*) FROM t_{i}")).scalar() == 200


@pytest.mark.also_mariadb
def test_lock_wait_times_out_with_a_clear_error(chain):
    write_chain(chain.versions, 1)
    engine = chain.engine()
    with engine.connect() as holder:
        name = "alembic_version"
        if chain.backend == "mariadb":  # GET_LOCK is server-wide: the lock names the database
            name = f"{holder.dialect.default_schema_name}.alembic_version"
        release = lock_mod.acquire(holder, lock_mod.LockSpec(name, 5))
        try:
            before = chain.state()
            start = time.monotonic()
            result = chain.cli("upgrade", "head", "--lock-timeout", "0.5", ok=False)
            assert time.monotonic() - start < 30
            assert result.code == LockTimeout.exit_code
            assert "another migration has held the lock" in result.error_line and "--lock-timeout" in result.error_line
            assert chain.state() == before
        finally:
            if release:
                release()
    engine.dispose()
    chain.cli("upgrade", "head", "--lock-timeout", "5")
    assert chain.version() == {chain_rev(0)}


def applied_steps(project) -> int:
    """How many chain steps the database records as applied (0 before the version table exists)."""
    try:
        version = project.version()
    except sa.exc.DBAPIError:
        return 0
    return int(next(iter(version))[1:]) + 1 if version else 0


def expected_state(project, version: int) -> None:
    """The schema and rows match the recorded version exactly."""
    tables = project.tables()
    assert not [t for t in tables if t.startswith("_alembic_tmp")]
    present = {int(t[2:]) for t in tables if t.startswith("t_")}
    assert present == set(range(version + 1)), (version, sorted(present))
    with project.engine().connect() as conn:
        for i in present:
            assert conn.execute(sa.text(f"SELECT count(*) FROM t_{i}")).scalar() == 200
    recorded = [rev for rev, _ in project.ledger_rows()]
    assert recorded == [chain_rev(i) for i in range(version + 1)], (version, recorded)


def test_sigkill_at_random_points_never_leaves_a_half_applied_migration(chain):
    rng = random.Random(int(os.environ.get("SCHEMASHIFT_KILL_SEED", "4")))
    write_chain(chain.versions, CHAIN)
    # how long a full upgrade takes here, to spread the kills over it
    start = time.monotonic()
    chain.cli("upgrade", "head")
    full = time.monotonic() - start
    start = time.monotonic()
    chain.cli("upgrade", "head")  # nothing to do: the start-up cost alone
    startup = time.monotonic() - start

    def back_to_base() -> None:  # without replaying 50 downgrades
        with chain.engine().begin() as conn:
            for i in range(CHAIN):
                conn.execute(sa.text(f"DROP TABLE t_{i}"))
            conn.execute(sa.text("DELETE FROM alembic_version"))
            ledger = Ledger.for_config(chain.project().config)
        with chain.engine().connect() as conn:
            ledger.prepare(conn)
            with conn.begin():
                conn.execute(ledger.place(conn).delete())

    back_to_base()
    per_step = max(full - startup, 0.05) / CHAIN
    stopped_mid_run = 0
    for trial in range(KILL_TRIALS):
        # kill once a random number of steps has committed, plus a random part of the next
        # step: reading progress rather than the clock keeps the kills inside the run even
        # on a busy machine
        target = rng.randrange(0, CHAIN)
        proc = spawn(chain, "upgrade", "head")
        deadline = time.monotonic() + 120
        while proc.poll() is None and applied_steps(chain) < target and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, per_step))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        version = chain.version()
        reached = int(next(iter(version))[1:]) if version else -1
        expected_state(chain, reached)
        if -1 < reached < CHAIN - 1:
            stopped_mid_run += 1
        chain.cli("upgrade", "head")  # a re-run finishes the job
        expected_state(chain, CHAIN - 1)
        back_to_base()
    assert stopped_mid_run >= KILL_TRIALS // 2, "the kills should land inside the run, not only before or after it"
