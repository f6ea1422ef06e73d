"""graph on a project of N revisions vs schemashift heads: whole processes, paired and alternated.

The target (issue: pictures) is that ``graph --format text`` and ``--format
mermaid`` take under 2x ``schemashift heads`` on 5,000 revisions.  Each round
runs the commands in a rotated order, one process each, so drift of a busy
machine lands on every side alike; the medians and their ratios are printed
and written to bench/results/graph.txt.  The history has a branch and a merge
every 500 revisions so the lanes are exercised; the project's SQLite database
is stamped at head, so ``graph`` reads it (current revision, ledger times)
unless ``--no-db``.  The project is init's own (its env.py unchanged), so on
SQLite that read takes the sqlite3 path of ``safety.sqlite_position``; a changed
env.py, or PostgreSQL, runs env.py and costs Alembic's and SQLAlchemy's import.

    python bench/bench_graph.py [N] [ROUNDS]      # defaults 5000 and 7
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from schemashift import api
from schemashift.config import load_project

TEMPLATE = '''"""revision {i}

Revision ID: {rev}
Revises: {down}
Create Date: 2026-01-01 00:00:00

"""
from alembic import op

revision = {rev!r}
down_revision = {down_repr}
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("SELECT {i}")


def downgrade() -> None:
    pass
'''


def make_project(root: Path, n: int) -> Path:
    api.init(root, url=f"sqlite:///{root / 'bench.db'}", metadata="models:Base.metadata")
    versions = root / "migrations" / "versions"
    previous: str | None = None
    side: str | None = None
    for i in range(n):
        rev = f"{i:06d}abcdef"
        down: object = previous
        if i % 500 == 250 and previous:
            side = previous  # a branch opens: this revision and the next share a parent
        elif i % 500 == 251 and side:
            down = side
            side = rev
            (versions / f"{rev}_revision_{i}.py").write_text(
                TEMPLATE.format(i=i, rev=rev, down=down, down_repr=repr(down))
            )
            continue
        elif i % 500 == 260 and side:
            down = (previous, side)  # ... and a merge closes it
            side = None
        (versions / f"{rev}_revision_{i}.py").write_text(
            TEMPLATE.format(i=i, rev=rev, down=down or "", down_repr=repr(down))
        )
        previous = rev
    return root / "alembic.ini"


def run(args: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # .pyc as on a user's machine
    subprocess.run([sys.executable, "-m", "schemashift", *args], cwd=cwd, check=True, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "proj"
        ini = make_project(root, n)
        api.stamp(load_project(ini), ["heads"])
        commands = {
            "heads": ["heads"],
            "graph --format text": ["graph", "--format", "text"],
            "graph --format mermaid": ["graph", "--format", "mermaid"],
            "graph --format text --no-db": ["graph", "--format", "text", "--no-db"],
            "graph --format mermaid --no-db": ["graph", "--format", "mermaid", "--no-db"],
        }
        for args in commands.values():  # warm the header cache and the .pyc files
            run(args, root)
        times: dict[str, list[float]] = {name: [] for name in commands}
        names = list(commands)
        for r in range(rounds):
            order = names[r % len(names):] + names[: r % len(names)]
            for name in order:
                times[name].append(run(commands[name], root))
        heads = statistics.median(times["heads"])
        lines = [f"graph vs heads, {n} revisions (a branch and a merge every 500), {rounds} rounds, "
                 f"whole processes, medians, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}"]
        for name in names:
            med = statistics.median(times[name])
            lines.append(f"{name:<30} {med:7.3f} s   {med / heads:5.2f}x heads")
    text = "\n".join(lines) + "\n"
    print(text, end="")
    out = Path(__file__).parent / "results" / "graph.txt"
    out.parent.mkdir(exist_ok=True)
    out.write_text(text)


if __name__ == "__main__":
    main()
