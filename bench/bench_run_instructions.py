"""`upgrade head` / `downgrade base` as instructions counted by Valgrind: a ratio the machine's drift cannot move.

``bench_run.py`` times whole processes; on a shared virtual machine its
ratios move by 10-20% between runs of the same code (the host's load changes
the speed of both tools, not always alike).  Valgrind's callgrind counts the
instructions each process executes in user space, the same on every run of
the same code: the right measure for "did this change make the run cheaper".
It does not see the kernel (system calls, page faults) nor the server, so it
complements ``bench_run.py`` and does not replace it.

The project is the one ``bench_run.py`` writes (create table / add column
alternating, a transaction per migration on both sides, schemashift with lock,
ledger and plan on), its files compiled first, so both tools load ``.pyc``
files and what is counted is the run, not Python's compiler.  The database is
PostgreSQL (the suite's throwaway cluster) unless ``sqlite`` is given.

    python bench/bench_run_instructions.py [N] [sqlite|postgresql]   # default 300, postgresql

Needs ``valgrind`` (Debian's package); about half a minute per 100 revisions.
"""

from __future__ import annotations

import compileall
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

from bench_run import CHILD_ENV_DROPPED, TOOLS, write_project  # noqa: E402

COLLECTED = re.compile(r"Collected : (\d+)")


def instructions(args: list[str], cwd: Path, out: Path) -> int:
    """User-space instructions of one whole process (callgrind's total)."""
    env = {k: v for k, v in os.environ.items() if k not in CHILD_ENV_DROPPED}
    proc = subprocess.run(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *args],
        cwd=cwd, env=env, capture_output=True, text=True,
    )
    found = COLLECTED.search(proc.stderr)
    if proc.returncode or found is None:
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return int(found.group(1))


def bench(count: int, fresh_url) -> list[str]:
    counts: dict[tuple[str, str], int] = {}
    with tempfile.TemporaryDirectory(prefix="bench-instr-") as tmp:
        for tool in TOOLS:
            root = Path(tmp) / tool
            write_project(root, fresh_url(), count)
            compileall.compile_dir(str(root / "migrations"), quiet=1)
            for direction, command in (("up", ["upgrade", "head"]), ("down", ["downgrade", "base"])):
                counts[(tool, direction)] = instructions([*TOOLS[tool], *command], root, Path(tmp) / "callgrind.out")
    lines = []
    for direction, label in (("up", "upgrade head"), ("down", "downgrade base")):
        a, s = counts[("alembic", direction)], counts[("schemashift", direction)]
        lines.append(f"{label:15s} {count} revisions: alembic {a / 1e9:6.3f} G  schemashift {s / 1e9:6.3f} G  "
                     f"ratio {s / a:5.3f}x  (+{(s - a) / count / 1e6:.2f} M instructions per revision)")
    return lines


def main(count: int, backend: str) -> str:
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind not found: apt-get install valgrind")
    out = [f"# bench_run_instructions: {count} revisions on {backend}, user-space instructions (valgrind callgrind),",
           "# whole processes, .pyc compiled first; a transaction per migration on both sides; schemashift with",
           "# lock, ledger and plan on; the kernel and the database server are not counted"]
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="bench-instr-sqlite-") as dbdir:
            numbers = iter(range(10**6))
            out += bench(count, lambda: f"sqlite:///{dbdir}/db{next(numbers)}.sqlite")
    else:
        from pgserver import PgServer, find_bindir

        bindir = find_bindir()
        if bindir is None:
            raise SystemExit("postgresql: server binaries not found (apt-get install postgresql)")
        with PgServer(bindir) as server:
            out += bench(count, lambda: server.url(server.create_database()))
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    backend = sys.argv[2] if len(sys.argv) > 2 else "postgresql"
    report = main(n, backend)
    print(report)
    path = ROOT / "bench" / "results" / f"run_instructions_{backend}.txt"
    path.parent.mkdir(exist_ok=True)
    path.write_text(report)
