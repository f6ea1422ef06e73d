"""`upgrade head` and `downgrade base` over N small revisions: plain Alembic vs schemashift.

Each revision either creates a table or adds a column to the previous one.
Both tools run as whole processes (`python -m alembic`, `python -m
schemashift`) on the same generated project, with the same transaction
granularity (Alembic with ``transaction_per_migration=True``, schemashift
with its default ``--atomic step``, lock and ledger on).  Runs are paired and
alternated (each command run by every tool back to back, the order turning
every round) on fresh databases each round; the ratio is schemashift's median
over Alembic's median, and "paired" the median of each round's own ratio, for
wall time and for CPU time (user + system of the child process: what a
shared, loaded machine moves least).  The children run without
``PYTHONDONTWRITEBYTECODE`` (a user's machine writes ``.pyc`` files).

Alembic runs twice per round: as its users run it (the target's reference),
and leaving the process as schemashift's command line does (``SAME_EXIT``),
which shows apart how much of the ratio is the faster exit and how much the
work schemashift adds to a run.

    python bench/bench_run.py [N] [ROUNDS] [sqlite|postgresql ...]   # default 1000 revisions, 3 rounds, both
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

TEMPLATE = '''"""revision {i}

Revision ID: {rev}
Revises: {down}
"""
from alembic import op
import sqlalchemy as sa

revision = {rev!r}
down_revision = {down_repr}
branch_labels = None
depends_on = None


def upgrade():
{up}


def downgrade():
{down_body}
'''

ENV_TPM = "    context.configure(\n        connection=connection,\n"


def rev_id(i: int) -> str:
    return f"b{i:05d}"


def write_project(root: Path, url: str, count: int) -> None:
    from schemashift import api

    api.init(root, url=url)
    env = root / "migrations" / "env.py"
    text = env.read_text()
    assert ENV_TPM in text
    env.write_text(text.replace(ENV_TPM, ENV_TPM + "        transaction_per_migration=True,\n", 1))
    versions = root / "migrations" / "versions"
    for i in range(count):
        table = f"t{i // 2}"
        if i % 2 == 0:
            up = f"    op.create_table({table!r}, sa.Column('id', sa.Integer, primary_key=True))"
            down = f"    op.drop_table({table!r})"
        else:
            up = f"    op.add_column({table!r}, sa.Column('extra', sa.String(20)))"
            down = f"    op.drop_column({table!r}, 'extra')"
        prev = rev_id(i - 1) if i else None
        (versions / f"{rev_id(i)}.py").write_text(
            TEMPLATE.format(i=i, rev=rev_id(i), down=prev or "", down_repr=repr(prev), up=up, down_body=down)
        )


CHILD_ENV_DROPPED = ("SCHEMASHIFT_URL", "PYTHONDONTWRITEBYTECODE")


def timed(args: list[str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds: user + system of the child) of one whole process."""
    env = {k: v for k, v in os.environ.items() if k not in CHILD_ENV_DROPPED}
    before = os.times()
    start = time.perf_counter()
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    after = os.times()
    if proc.returncode:
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return elapsed, cpu


# plain Alembic, as its users run it; and the same Alembic leaving the process as schemashift's command
# line does (``runtime.heap.before_exit``: objects frozen, so Python's shutdown skips the collector's
# walks over them).  The first is the target's reference; against the second, what is left is the work
# schemashift adds to a run (plan, lock, ledger, bookkeeping, imports).
SAME_EXIT = """
import gc, runpy, sys
sys.argv = ["alembic", *sys.argv[1:]]
try:
    runpy.run_module("alembic", run_name="__main__")
finally:
    gc.freeze()
"""
TOOLS = {
    "alembic": [sys.executable, "-m", "alembic"],
    "schemashift": [sys.executable, "-m", "schemashift"],
    "alembic-same-exit": [sys.executable, "-c", SAME_EXIT],
}
REFERENCES = ("alembic", "alembic-same-exit")


def bench(backend: str, count: int, rounds: int, fresh_url) -> list[str]:
    """Each round: every tool's project written first, then each command run by every tool back to back
    (the order turns every round, so each tool goes first as often), so each pair shares the machine's
    state of that moment."""
    times: dict[tuple[str, str], list[tuple[float, float]]] = {(t, d): [] for t in TOOLS for d in ("up", "down")}
    names = list(TOOLS)
    with tempfile.TemporaryDirectory(prefix="bench-run-") as tmp:
        for r in range(rounds):
            turn = r % len(names)
            order = names[turn:] + names[:turn]
            if (r // len(names)) % 2:
                order.reverse()
            roots = {}
            for tool in order:
                roots[tool] = Path(tmp) / f"{backend}-{r}-{tool}"
                write_project(roots[tool], fresh_url(), count)
            for direction, command in (("up", ["upgrade", "head"]), ("down", ["downgrade", "base"])):
                for tool in order:
                    times[(tool, direction)].append(timed([*TOOLS[tool], *command], roots[tool]))
    lines = []
    for direction, label in (("up", "upgrade head"), ("down", "downgrade base")):
        for reference in REFERENCES:
            for i, kind in ((0, "wall"), (1, "cpu")):
                a_runs = [run[i] for run in times[(reference, direction)]]
                s_runs = [run[i] for run in times[("schemashift", direction)]]
                a, s = statistics.median(a_runs), statistics.median(s_runs)
                ratios = [y / x for x, y in zip(a_runs, s_runs)]
                paired = statistics.median(ratios)
                q1, _, q3 = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else (paired, paired, paired)
                lines.append(
                    f"{backend:10s} {label:15s} {count} revisions {kind:4s}: {reference} {a:6.2f} s  "
                    f"schemashift {s:6.2f} s  ratio {s / a:4.2f}x  paired {paired:4.2f}x "
                    f"(quartiles {q1:4.2f}-{q3:4.2f})   (rounds: {reference} {[round(x, 2) for x in a_runs]}, "
                    f"schemashift {[round(x, 2) for x in s_runs]})"
                )
    return lines


def main(count: int, rounds: int, backends: tuple[str, ...] = ("sqlite", "postgresql")) -> str:
    out = [
        f"# bench_run: {count} revisions (create table / add column alternating), {rounds} paired alternated rounds,",
        "# whole processes, transaction per migration on both sides; schemashift with lock, ledger and plan on;",
        "# wall = elapsed seconds, cpu = user + system seconds of the child process; children write .pyc;",
        "# ratio = median over median; paired = median of each round's own ratio (the two runs of a pair are",
        "# adjacent, so a machine whose speed drifts between rounds moves both); quartiles: of those ratios;",
        "# alembic = plain Alembic (the target's reference); alembic-same-exit = Alembic leaving the process as",
        "# schemashift's command line does (objects frozen before Python's shutdown): against it, what is left",
        "# is the work schemashift adds to a run",
    ]
    if "sqlite" in backends:
        with tempfile.TemporaryDirectory(prefix="bench-run-sqlite-") as dbdir:
            counter = iter(range(10**6))
            out += bench("sqlite", count, rounds, lambda: f"sqlite:///{dbdir}/db{next(counter)}.sqlite")
    if "postgresql" not in backends:
        return "\n".join(out) + "\n"
    from pgserver import PgServer, find_bindir

    bindir = find_bindir()
    if bindir is None:
        out.append("postgresql: server binaries not found (apt-get install postgresql)")
    else:
        with PgServer(bindir) as server:
            out += bench("postgresql", count, rounds, lambda: server.url(server.create_database()))
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    only = tuple(sys.argv[3:])  # sqlite and/or postgresql; the results then go to run_<backend>.txt
    report = main(n, rounds, only or ("sqlite", "postgresql"))
    print(report)
    path = ROOT / "bench" / "results" / (f"run_{'_'.join(only)}.txt" if only else "run.txt")
    path.parent.mkdir(exist_ok=True)
    path.write_text(report)
