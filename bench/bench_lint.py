"""lint over N revisions, and upgrade with the plan on vs off, against plain Alembic; squawk on the same SQL.

1. A project of N small linear revisions on SQLite (create a table, add a
   column, add an index, in turn).  Timed in this one process, alternating:
   plain Alembic ``command.upgrade`` (the reference), schemashift ``upgrade``
   with ``plan_first=False`` and with the plan (the default).  Target: the
   plan adds at most 10% to ``upgrade``.
2. ``lint`` of the same N revisions (a scratch SQLite run with recording),
   as a ratio of the Alembic upgrade.
3. If squawk (``squawk-cli`` from PyPI, the ``bench`` extra) is installed and
   PostgreSQL server binaries exist: M risky revisions, linted by schemashift
   on a scratch PostgreSQL database and by squawk on the offline SQL of the
   same revisions (``upgrade --sql``); the rules each one reports.

    python bench/bench_lint.py [N] [M]     # default 1000 200
Results: bench/results/lint.txt.
"""

from __future__ import annotations

import collections
import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import command

from schemashift import api
from schemashift.config import load_project

RESULTS = Path(__file__).parent / "results" / "lint.txt"
TEMPLATE = '''"""revision {i}

Revision ID: {rev}
Revises: {down}
Create Date: 2026-01-01 00:00:00

"""
from alembic import op
import sqlalchemy as sa

revision = {rev!r}
down_revision = {down_repr}
branch_labels = None
depends_on = None


def upgrade() -> None:
{up}


def downgrade() -> None:
    pass
'''


def small(i: int) -> str:
    k = i // 3
    if i % 3 == 0:
        return f"    op.create_table('t_{k}', sa.Column('id', sa.Integer, primary_key=True), sa.Column('v', sa.String(40)))"
    if i % 3 == 1:
        return f"    op.add_column('t_{k}', sa.Column('w', sa.Integer))"
    return f"    op.create_index('ix_t_{k}_v', 't_{k}', ['v'])"


def risky(i: int) -> str:
    """Revisions a PostgreSQL linter has something to say about (one concern each, in turn)."""
    k = i // 10
    t = f"r_{k}"
    steps = [
        f"    op.create_table('{t}', sa.Column('id', sa.Integer, primary_key=True), sa.Column('v', sa.String(40)),\n"
        f"                    sa.Column('ref', sa.Integer), sa.Column('old', sa.Integer), sa.Column('n', sa.Integer))",
        f"    op.create_index('ix_{t}_v', '{t}', ['v'])",
        f"    op.add_column('{t}', sa.Column('req', sa.Integer, nullable=False))",
        f"    op.create_foreign_key('fk_{t}', '{t}', '{t}', ['ref'], ['id'])",
        f"    op.alter_column('{t}', 'n', type_=sa.BigInteger(), existing_type=sa.Integer())",
        f"    op.alter_column('{t}', 'v', nullable=False, existing_type=sa.String(40))",
        f"    op.create_check_constraint('ck_{t}', '{t}', 'n > 0')",
        f"    op.alter_column('{t}', 'ref', new_column_name='parent')",
        f"    op.execute(\"ALTER TABLE {t} ADD COLUMN token uuid DEFAULT gen_random_uuid()\")",
        f"    op.drop_column('{t}', 'old')",
    ]
    return steps[i % 10]


def make_project(root: Path, url: str, n: int, body) -> Path:
    api.init(root, url=url)
    versions = root / "migrations" / "versions"
    for i in range(n):
        rev, prev = f"b{i:05d}", (f"b{i - 1:05d}" if i else None)
        (versions / f"{rev}_r{i}.py").write_text(
            TEMPLATE.format(i=i, rev=rev, down=prev or "", down_repr=repr(prev), up=body(i))
        )
    return root / "alembic.ini"


def fresh(db: Path) -> None:
    for suffix in ("", "-journal", "-schemashift.lock"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(f"{db}{suffix}")


def timed(fn) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


def part_one(n: int, repeat: int, lines: list[str]) -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-lint-"))
    db = work / "app.db"
    ini = make_project(work / "project", f"sqlite:///{db}", n, small)
    project = load_project(ini)
    runs = collections.defaultdict(list)

    def alembic_up():
        with contextlib.redirect_stdout(io.StringIO()):
            command.upgrade(project.config, "head")

    variants = {
        "alembic upgrade head": alembic_up,
        "schemashift upgrade, plan off": lambda: api.upgrade(project, plan_first=False),
        "schemashift upgrade, plan on": lambda: api.upgrade(project),
    }
    for _ in range(repeat):
        for name, fn in variants.items():
            fresh(db)
            runs[name].append(timed(fn))
    plan_runs = []
    for _ in range(repeat):
        fresh(db)
        plan_runs.append(timed(lambda: api.plan(project)))
    lint_runs = []
    report = None
    for _ in range(repeat):
        def do_lint():
            nonlocal report
            report = api.lint(project)
        lint_runs.append(timed(do_lint))
    lines.append(f"part 1: {n} small revisions on SQLite (create table / add column / add index in turn), "
                 f"median of {repeat} runs, alternating")
    lines.append(f"{'':40} wall s   CPU s")
    for name, values in [*runs.items(), ("schemashift plan (alone, from base)", plan_runs),
                         ("schemashift lint (scratch run)", lint_runs)]:
        lines.append(f"{name:40} {median([w for w, _ in values]):6.2f}  {median([c for _, c in values]):6.2f}")
    off = runs["schemashift upgrade, plan off"]
    on = runs["schemashift upgrade, plan on"]
    ref = runs["alembic upgrade head"]
    ratio_wall = median([w for w, _ in on]) / median([w for w, _ in off])
    ratio_cpu = median([c for _, c in on]) / median([c for _, c in off])
    lines.append(f"plan on / plan off: wall {ratio_wall:.2f}, CPU {ratio_cpu:.2f} (target <= 1.10)")
    lines.append(f"lint / alembic upgrade: wall {median([w for w, _ in lint_runs]) / median([w for w, _ in ref]):.2f}, "
                 f"CPU {median([c for _, c in lint_runs]) / median([c for _, c in ref]):.2f}")
    lines.append(f"lint findings: {collections.Counter(f.rule for f in report.findings) if report else {}}")
    shutil.rmtree(work, ignore_errors=True)


def part_two(m: int, lines: list[str]) -> None:
    squawk = shutil.which("squawk") or str(Path(sys.executable).parent / "squawk")
    if not Path(squawk).exists():
        lines.append("part 2: squawk not installed (pip install squawk-cli): comparison skipped")
        return
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from pgserver import PgServer, find_bindir

    bindir = find_bindir()
    if bindir is None:
        lines.append("part 2: no PostgreSQL server binaries: comparison skipped")
        return
    version = subprocess.run([squawk, "--version"], capture_output=True, text=True).stdout.strip()
    work = Path(tempfile.mkdtemp(prefix="bench-lint-pg-"))
    with PgServer(bindir) as server:
        name = server.create_database()
        ini = make_project(work / "project", server.url(name), m, risky)
        project = load_project(ini)
        wall, _ = timed(lambda: None)
        start = time.perf_counter()
        report = api.lint(project)
        ours_s = time.perf_counter() - start
        sql = api.upgrade(project, "base:head", sql=True, plan_first=False).sql or ""
        server.drop_database(name)
    sql_file = work / "upgrade.sql"
    sql_file.write_text(sql)
    start = time.perf_counter()
    proc = subprocess.run([squawk, "--reporter", "json", str(sql_file)], capture_output=True, text=True)
    squawk_s = time.perf_counter() - start
    try:
        theirs = json.loads(proc.stdout or "[]")
    except json.JSONDecodeError:
        theirs = []
    ours = collections.Counter(f.rule for f in report.findings)
    lines.append("")
    lines.append(f"part 2: {m} risky revisions (10 kinds in turn) on PostgreSQL; schemashift lint on a scratch "
                 f"database ({ours_s:.1f} s), {version} on the offline SQL ({squawk_s:.2f} s)")
    lines.append("schemashift rules found (id: count):")
    for rule, count in sorted(ours.items()):
        lines.append(f"  {rule}: {count}")
    lines.append("squawk rules found (name: count):")
    for rule, count in sorted(collections.Counter(r.get("rule_name") for r in theirs).items()):
        lines.append(f"  {rule}: {count}")
    shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    m = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    repeat = int(os.environ.get("BENCH_REPEAT", "3"))
    lines = [f"# bench/bench_lint.py, {datetime.now():%Y-%m-%d %H:%M}, Python {sys.version.split()[0]}, "
             f"SQLAlchemy {sa.__version__}"]
    part_one(n, repeat, lines)
    part_two(m, lines)
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(text)


if __name__ == "__main__":
    main()
