"""Fleets through the real ``schemashift fleet`` command: many databases, schemas and files at once.

Every target's rows are checked value by value; what ran is checked through each
target's own ledger.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections import Counter

import pytest
import sqlalchemy as sa

from fixtures_fleet import STEPS

HEAD = STEPS[-1][0]
ALL_UP = [(rev, "up") for rev, *_ in STEPS]
PASSWORD = "s3cret-pw"


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    if int(fh.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    return found


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def matrix(proc) -> dict:
    return {t["target"]: t for t in json.loads(proc.stdout)["targets"]}


def test_fifty_targets_of_three_kinds_to_head_in_one_command(tenants, tmp_path):
    dbs = tenants.pg_databases(20, password=PASSWORD)  # the labels hide it: rows are keyed by label
    schemas = tenants.pg_schemas(20)
    files = tenants.sqlite_files(10)
    targets_file = tmp_path / "targets.txt"
    port = tenants.pg_server.port
    lines = ["# the tenants", "[canary]", dbs[0].replace(str(port), "${PGPORT_UNDER_TEST}")]
    lines += ["[rest]"] + [f"{url}   # tenant database" for url in dbs[1:]] + schemas + ["", files]
    targets_file.write_text("\n".join(lines) + "\n")
    env = {"PGPORT_UNDER_TEST": str(port)}
    every = list(tenants.urls)
    assert len(every) == 50

    first = tenants.cli("fleet", "upgrade", "f1", "--targets", str(targets_file), "--jobs", "4", env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    for target in every:
        tenants.fill(target)

    proc = tenants.cli("fleet", "upgrade", "--targets", str(targets_file), "--jobs", "4", "--format", "json", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert PASSWORD not in proc.stdout + proc.stderr + first.stdout + first.stderr
    assert PASSWORD not in (tenants.root / ".schemashift-fleet.journal").read_text()
    rows = matrix(proc)
    assert len(rows) == 50 and {r["status"] for r in rows.values()} == {"ok"}
    assert {tuple(r["after"]) for r in rows.values()} == {(HEAD,)}
    assert all(r["steps"] == ["f2", "f3"] for r in rows.values())
    assert list(rows.values())[0]["group"] == "canary"
    for target in every:
        assert tenants.version(target) == {HEAD}
        assert tenants.ledger(target) == ALL_UP
        tenants.check_rows(target)
    # each schema holds its own version table and ledger; the database's public schema none
    engine = sa.create_engine(schemas[0].split("#")[0])
    with engine.connect() as conn:
        in_public = conn.execute(sa.text(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")).scalar()
        per_schema = conn.execute(sa.text(
            "SELECT count(DISTINCT table_schema) FROM information_schema.tables "
            "WHERE table_name = 'schemashift_ledger'")).scalar()
    engine.dispose()
    assert (in_public, per_schema) == (0, 20)

    current = tenants.cli("fleet", "current", "--targets", str(targets_file), "--format", "json", env=env)
    assert current.returncode == 0, current.stderr
    assert {r["state"] for r in matrix(current).values()} == {"up to date"}


def test_a_tenant_failing_on_its_own_data_stops_there_rolled_back(tenants):
    dbs = tenants.pg_databases(3)
    schemas = tenants.pg_schemas(2)
    files = tenants.sqlite_files(3)
    every = list(tenants.urls)
    targets = [a for t in dbs + schemas + [files] for a in ("--target", t)]
    assert tenants.cli("fleet", "upgrade", *targets).returncode == 0
    for target in every:
        tenants.fill(target, column="full_name")
    bad = dbs[1]
    tenants.execute(bad, "UPDATE accounts SET full_name = 'Same' WHERE id IN (1, 2)")
    # f4 adds a column, then a unique index that only this tenant's data breaks
    tenants.add_revision("f4", HEAD, "unique names",
                         "op.add_column('accounts', sa.Column('email', sa.String(80)))\n"
                         "op.create_index('ux_accounts_full_name', 'accounts', ['full_name'], unique=True)",
                         "op.drop_index('ux_accounts_full_name', table_name='accounts')\n"
                         "op.drop_column('accounts', 'email')")
    proc = tenants.cli("fleet", "upgrade", *targets, "--jobs", "3", "--on-error", "continue", "--format", "json")
    assert proc.returncode == 4, proc.stdout + proc.stderr
    rows = matrix(proc)
    failed = [t for t, r in rows.items() if r["status"] == "failed"]
    assert failed == [bad]
    assert "migration f4 failed" in rows[bad]["error"] and "rolled back" in rows[bad]["error"]
    assert rows[bad]["after"] == [HEAD]  # the last good revision, read back from the database
    for target in every:
        if target == bad:
            assert tenants.version(bad) == {HEAD}
            assert tenants.ledger(bad) == ALL_UP
            assert "email" not in tenants.columns(bad)  # the column added before the failure: rolled back
            assert tenants.read(bad, "SELECT id, full_name, plan FROM accounts ORDER BY id") == [
                (1, "Same", "free"), (2, "Same", "free"), (3, f"Alan of {bad}", "free")]
        else:
            assert tenants.version(target) == {"f4"}, target
            assert tenants.ledger(target) == ALL_UP + [("f4", "up")]
            assert "email" in tenants.columns(target)
            tenants.check_rows(target)
    # --on-error stop (the default): after the failure nothing more is handed out
    stop = tenants.cli("fleet", "upgrade", "--canary", bad, *targets, "--format", "json")
    assert stop.returncode == 4
    statuses = Counter(r["status"] for r in matrix(stop).values())
    assert statuses == Counter({"failed": 1, "not run": len(every) - 1}), stop.stdout
    assert "--resume" in stop.stderr


def test_resume_after_sigkill_runs_no_revision_twice(sqlite_tenants, tmp_path):
    tenants = sqlite_tenants
    files = tenants.sqlite_files(16)
    every = list(tenants.urls)
    assert tenants.cli("fleet", "upgrade", "f1", "--target", files).returncode == 0
    for target in every:
        tenants.fill(target)
    # a slow last step, so the kill lands while targets are still being handed out
    tenants.add_revision("f4", HEAD, "slow step", "import time\ntime.sleep(0.4)\nop.execute('SELECT 1')", "pass")
    journal = tmp_path / "fleet.journal"
    proc = tenants.spawn("fleet", "upgrade", "--target", files, "--jobs", "2", "--journal", str(journal))
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        done = journal.read_text().count('"event": "target"') if journal.exists() else 0
        if done >= 3:
            break
        time.sleep(0.02)
    workers = children(proc.pid)
    assert workers, "the fleet runs its targets in worker processes"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    deadline = time.monotonic() + 60  # orphaned workers finish their target, then leave
    while time.monotonic() < deadline and any(alive(pid) for pid in workers):
        time.sleep(0.1)
    assert not [pid for pid in workers if alive(pid)], "workers outlived the killed fleet process"
    done_before = {json.loads(line)["target"] for line in journal.read_text().splitlines()
                   if '"event": "target"' in line}
    assert 3 <= len(done_before) < len(every), "the kill should land inside the run"

    resumed = tenants.cli("fleet", "upgrade", "--target", files, "--jobs", "2", "--journal", str(journal),
                          "--resume", "--format", "json")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    rows = matrix(resumed)
    assert {t for t, r in rows.items() if r["status"] == "skipped"} == done_before
    assert all(r["status"] in ("ok", "skipped") for r in rows.values())
    for target in every:
        assert tenants.version(target) == {"f4"}
        assert tenants.ledger(target) == ALL_UP + [("f4", "up")], target  # each revision exactly once
        tenants.check_rows(target)


def test_ctrl_c_stops_handing_out_and_resume_finishes(sqlite_tenants, tmp_path):
    tenants = sqlite_tenants
    tenants.add_revision("f4", HEAD, "slow step", "import time\ntime.sleep(0.3)\nop.execute('SELECT 1')", "pass")
    files = tenants.sqlite_files(10)
    every = list(tenants.urls)
    journal = tmp_path / "fleet.journal"
    proc = tenants.spawn("fleet", "upgrade", "--target", files, "--jobs", "2", "--journal", str(journal),
                         "--format", "json")
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if journal.exists() and journal.read_text().count('"event": "target"') >= 2:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err
    rows = {t["target"]: t for t in json.loads(out)["targets"]}
    ran = {t for t, r in rows.items() if r["status"] == "ok"}
    assert 2 <= len(ran) < len(every) and all(r["status"] in ("ok", "not run") for r in rows.values())
    assert "interrupted" in err and "--resume" in err
    for target in ran:  # the targets running at Ctrl-C finished rather than dying half way
        assert tenants.version(target) == {"f4"}
    resumed = tenants.cli("fleet", "upgrade", "--target", files, "--journal", str(journal), "--resume",
                          "--format", "json")
    assert resumed.returncode == 0, resumed.stderr
    assert {t for t, r in matrix(resumed).items() if r["status"] == "skipped"} == ran
    for target in every:
        assert tenants.ledger(target) == ALL_UP + [("f4", "up")]


def test_current_shows_drift_and_verify_state_fails_on_it(sqlite_tenants):
    tenants = sqlite_tenants
    files = tenants.sqlite_files(4)
    t0, t1, t2, t3 = list(tenants.urls)
    assert tenants.cli("fleet", "upgrade", "--target", files).returncode == 0
    assert tenants.cli("fleet", "downgrade", "f1", "--target", t1).returncode == 0
    tenants.execute(t2, "UPDATE alembic_version SET version_num = 'feedface0001'")  # migrated by newer code
    path = next(tenants.versions.glob("f2_*.py"))
    proc = tenants.cli("fleet", "current", "--target", files, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    states = {t: r["state"] for t, r in matrix(proc).items()}
    assert states[t0] == "up to date" and states[t1] == "behind 2"
    assert states[t2].startswith("unknown revision feedface0001")
    assert matrix(proc)[t1]["after"] == ["f1"]
    path.write_text(path.read_text() + "\n# edited after it ran\n")  # t0, t3 applied it: checksum mismatch
    tenants.execute(t2, f"UPDATE alembic_version SET version_num = '{HEAD}'")
    verify = tenants.cli("fleet", "verify-state", "--target", files, "--format", "json")
    assert verify.returncode == 1
    rows = matrix(verify)
    assert "changed" in rows[t0]["error"] and "not at heads: behind 2" in rows[t1]["error"]
    assert all(r["status"] == "failed" for r in rows.values())


@pytest.mark.parametrize("args, needle", [
    (("--target", "sqlite:///nowhere/*.db"), "no file matches"),
    (("--target", "sqlite:///x.db#schema=a"), "schemas are for PostgreSQL only"),
    (("--target", "postgresql://u:pw@h/db#tenant=7"), "unknown fragment"),
    (("--target", "postgresql://u:pw@h/$NO_SUCH_VAR_FLEET"), "NO_SUCH_VAR_FLEET"),
    (("--targets", "/no/such/file"), "cannot read targets file"),
    ((), "the fleet has no targets"),
])
def test_bad_targets_fail_in_one_line(sqlite_tenants, args, needle):
    proc = sqlite_tenants.cli("fleet", "upgrade", *args)
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], proc.stderr
    assert ":pw@" not in proc.stderr


def test_resume_refuses_another_command_or_revision(sqlite_tenants, tmp_path):
    files = sqlite_tenants.sqlite_files(2)
    journal = tmp_path / "j"
    assert sqlite_tenants.cli("fleet", "upgrade", "f2", "-t", files, "--journal", str(journal)).returncode == 0
    proc = sqlite_tenants.cli("fleet", "upgrade", "head", "-t", files, "--journal", str(journal), "--resume")
    assert proc.returncode == 2 and "belongs to 'fleet upgrade f2'" in proc.stderr


def test_a_destructive_revision_is_refused_on_every_target_under_the_lock(sqlite_tenants):
    """As ``upgrade``: the plan runs inside each target's run (lock held); refused targets stay put."""
    files = sqlite_tenants.sqlite_files(3)
    assert sqlite_tenants.cli("fleet", "upgrade", "-t", files).returncode == 0
    every = list(sqlite_tenants.urls)
    for target in every:
        sqlite_tenants.fill(target, column="full_name")
    sqlite_tenants.add_revision("f4", HEAD, "drop plan", "op.drop_column('accounts', 'plan')",
                                "op.add_column('accounts', sa.Column('plan', sa.String(20), nullable=False, "
                                "server_default='free'))")
    proc = sqlite_tenants.cli("fleet", "upgrade", "-t", files, "--on-error", "continue", "--format", "json")
    assert proc.returncode == 5, proc.stdout + proc.stderr
    for target, row in matrix(proc).items():
        assert row["status"] == "failed" and "SS-D" in row["error"], row
        assert row["before"] == row["after"] == [HEAD]
    for target in every:
        assert sqlite_tenants.version(target) == {HEAD} and sqlite_tenants.ledger(target) == ALL_UP
        sqlite_tenants.check_rows(target)  # the column and its values are all there
    allowed = sqlite_tenants.cli("fleet", "upgrade", "-t", files, "--allow-destructive")
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    for target in every:
        assert sqlite_tenants.version(target) == {"f4"}
        sqlite_tenants.check_rows(target, plan=False)


def test_targets_from_the_project_configuration(sqlite_tenants):
    files = sqlite_tenants.sqlite_files(2)
    ini = sqlite_tenants.root / "alembic.ini"
    ini.write_text(ini.read_text().replace("[alembic]\n", f"[alembic]\nschemashift.fleet_targets =\n    # all shards\n    {files}\n", 1))
    proc = sqlite_tenants.cli("fleet", "upgrade", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert [r["after"] for r in matrix(proc).values()] == [[HEAD], [HEAD]]
