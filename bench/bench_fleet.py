"""Benchmark: ``schemashift fleet upgrade --jobs 4`` vs a shell loop of ``alembic upgrade head``.

Why: a fleet's promise is that one command over many databases beats what
people do today, a loop calling Alembic once per database (the cookbook's
answer).  Both start from the same project (three small revisions: create a
table, add a column with a default, rename a column) and the same targets at
base, in this run:

- 100 SQLite files;
- 50 PostgreSQL databases on a throwaway server (tests/pgserver.py).

The loop gets one alembic.ini per target (the same project, only the URL
differs) and runs ``alembic -c INI upgrade head`` for each, one after the
other, as a shell script does.  The fleet runs the same targets, 4 processes at
a time, with its lock, ledger and journal on every target.  Between the two
runs every target is put back at base.  Each target's version is checked
after each run.

Run: ``./dev bench bench_fleet``.  Results: bench/results/fleet.txt.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent / "tests"))

from fixtures_fleet import STEPS, make_tenants  # noqa: E402
from pgserver import PgServer  # noqa: E402

SQLITE_FILES = int(os.environ.get("BENCH_FLEET_SQLITE", "100"))
PG_DATABASES = int(os.environ.get("BENCH_FLEET_PG", "50"))
JOBS = 4
HEAD = STEPS[-1][0]
RESULTS = HERE / "results" / "fleet.txt"
BIN = Path(sys.executable).parent


def _reset(urls: list[str]) -> None:
    """Every target back at base: no tables at all."""
    for url in urls:
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        with engine.begin() as conn:
            for table in ("accounts", "alembic_version", "schemashift_ledger"):
                conn.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))
        engine.dispose()


def _check(urls: list[str]) -> None:
    for url in urls:
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        with engine.connect() as conn:
            version = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        engine.dispose()
        assert version == HEAD, (url, version)


def _alembic_loop(root: Path, urls: list[str], work: Path) -> float:
    ini_dir = work / "inis"
    ini_dir.mkdir(exist_ok=True)
    template = (root / "alembic.ini").read_text()
    inis = []
    for i, url in enumerate(urls):
        lines = []
        for line in template.splitlines():
            if line.startswith("sqlalchemy.url"):
                line = f"sqlalchemy.url = {url}"
            elif line.startswith("script_location"):
                line = f"script_location = {root / 'migrations'}"
            elif line.startswith("prepend_sys_path"):
                line = f"prepend_sys_path = {root}"
            lines.append(line)
        ini = ini_dir / f"t{i:03d}.ini"
        ini.write_text("\n".join(lines) + "\n")
        inis.append(ini)
    script = f'for ini in {ini_dir}/*.ini; do "{BIN}/alembic" -c "$ini" upgrade head || exit 1; done'
    start = time.perf_counter()
    subprocess.run(["bash", "-c", script], cwd=work, check=True, capture_output=True)
    return time.perf_counter() - start


def _fleet(root: Path, targets: list[str]) -> float:
    args = [a for t in targets for a in ("--target", t)]
    start = time.perf_counter()
    proc = subprocess.run([str(BIN / "schemashift"), "fleet", "upgrade", *args, "--jobs", str(JOBS)],
                          cwd=root, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"fleet upgrade failed:\n{proc.stdout}\n{proc.stderr}")
    return seconds


def _measure(name: str, root: Path, targets: list[str], urls: list[str], work: Path) -> tuple[str, float, float]:
    _reset(urls)
    loop = _alembic_loop(root, urls, work)
    _check(urls)
    _reset(urls)
    fleet = _fleet(root, targets)
    _check(urls)
    print(f"{name}: alembic loop {loop:.2f} s, fleet --jobs {JOBS} {fleet:.2f} s, ratio {fleet / loop:.2f}", flush=True)
    return name, loop, fleet


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-fleet-"))
    rows = []
    try:
        tenants = make_tenants(work)
        files = tenants.sqlite_files(SQLITE_FILES)
        rows.append(_measure(f"{SQLITE_FILES} SQLite files", tenants.root, [files], list(tenants.urls), work))
        with PgServer() as server:
            tenants.pg_server = server
            before = set(tenants.urls)
            dbs = tenants.pg_databases(PG_DATABASES)
            assert set(tenants.urls) - before == set(dbs)
            rows.append(_measure(f"{PG_DATABASES} PostgreSQL databases", tenants.root, dbs, dbs, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    lines = [
        f"bench_fleet: 'schemashift fleet upgrade --jobs {JOBS}' vs a shell loop of 'alembic -c INI upgrade head'",
        f"3 small revisions per target, every target from base to head; {platform.python_version()}, "
        f"{os.cpu_count()} CPU(s), load average at the end {os.getloadavg()[0]:.1f}",
        "",
        f"{'targets':<26} {'alembic loop':>13} {'fleet':>9} {'ratio':>7}",
    ]
    for name, loop, fleet in rows:
        lines.append(f"{name:<26} {loop:>11.2f} s {fleet:>7.2f} s {fleet / loop:>7.2f}")
    text = "\n".join(lines) + "\n"
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(text)
    print(text, end="")


if __name__ == "__main__":
    main()
