"""current / heads / history, whole process: ``schemashift CMD`` vs ``alembic CMD``.

What a user waits for is the whole process (interpreter start, imports,
reading revisions, printing), so each sample is one ``subprocess.run`` of the
real console script, stdout piped (as in a script or CI log).  Projects of 1
and N (default 5,000) linear revisions, made by ``schemashift init`` on
SQLite and stamped at head; at 1 revision ``current`` is also timed on a
project made by plain ``alembic init`` (Alembic's own env.py, which
schemashift runs as Alembic does: no sqlite3 shortcut).  Runs are paired and alternated (round i runs
alembic first when i is even, schemashift first when odd) so machine load
falls on both alike; medians of each side and the median of the per-pair
ratios are reported.

- warm: Alembic's ``.pyc`` files present, schemashift's caches present (the
  usual state on a developer machine or a long-lived server).
- cold (a fresh checkout): no ``__pycache__`` at all before each run, so both
  compile every file; schemashift also rebuilds its caches.
- schemashift cold, ``.pyc`` present: its caches removed but Alembic's
  ``.pyc`` kept (e.g. a CI cache of ``__pycache__``).

Both tools run with bytecode writing on (``PYTHONDONTWRITEBYTECODE`` is
removed from the children's environment), as on a user's machine: with it
set, "warm" Alembic recompiles every revision file on every run and
schemashift's own modules (an editable install) are never cached, which
flatters the first and penalises the second.

Every answer is checked against Alembic's before timing.  With
``--imports`` the script only writes ``results/revisions_imports.txt``:
``python -X importtime`` of each command at 1 revision, the modules
schemashift imports that Alembic's same command does not.

    python bench/bench_revisions.py [N] [ROUNDS]      # default 5000 5
    python bench/bench_revisions.py --imports
"""

from __future__ import annotations

import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from schemashift import api

BIN = Path(sys.executable).parent
TEMPLATE = '''"""revision {i}

Revision ID: {rev}
Revises: {down}
Create Date: 2026-01-01 00:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision: str = {rev!r}
down_revision: Union[str, Sequence[str], None] = {down_repr}
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.execute("SELECT {i}")


def downgrade() -> None:
    """Downgrade schema."""
    pass
'''
COMMANDS = ("current", "heads", "history")


def rev_id(i: int) -> str:
    return f"{i:06d}abcdef"


def make_project(root: Path, n: int, *, plain_alembic: bool = False) -> Path:
    """``schemashift init`` (its env.py), or with ``plain_alembic`` an ``alembic init`` project (Alembic's env.py)."""
    if plain_alembic:
        root.mkdir(parents=True)
        run(root, "alembic", "init", "migrations")
        ini = root / "alembic.ini"
        ini.write_text(re.sub(r"(?m)^sqlalchemy\.url = .*$", f"sqlalchemy.url = sqlite:///{root / 'bench.db'}",
                              ini.read_text()))
    else:
        api.init(root, url=f"sqlite:///{root / 'bench.db'}", metadata="models:Base.metadata")
    versions = root / "migrations" / "versions"
    for i in range(n):
        down = rev_id(i - 1) if i else None
        (versions / f"{rev_id(i)}_revision_{i}.py").write_text(
            TEMPLATE.format(i=i, rev=rev_id(i), down=down or "", down_repr=repr(down))
        )
    run(root, "alembic", "stamp", rev_id(n - 1))
    return root


CPU: dict[str, list[float]] = {}  # per-run CPU seconds (user + sys) of the child, by tool


def child_env() -> dict[str, str]:
    drop = ("SCHEMASHIFT_URL", "ALEMBIC_CONFIG", "PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")
    return {k: v for k, v in os.environ.items() if k not in drop}


def run(root: Path, tool: str, *args: str) -> tuple[float, str]:
    """Wall seconds and stdout of one whole process; its CPU seconds go to ``CPU[tool]``."""
    env = child_env()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([str(BIN / tool), *args], cwd=root, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.setdefault(tool, []).append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        raise SystemExit(f"{tool} {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return elapsed, proc.stdout


def clear_pycache(root: Path) -> None:
    for cache in (root / "migrations").rglob("__pycache__"):
        shutil.rmtree(cache)


def clear_our_caches(root: Path) -> None:
    for cache in (root / "migrations").rglob("schemashift-*.json"):
        cache.unlink()


def normalise(command: str, text: str) -> list[str]:
    """Alembic's and schemashift's answers, compared line by line."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    if command == "current":
        return [ln for ln in lines if not ln.startswith("INFO")]
    return lines


def paired(root: Path, command: str, rounds: int, before: dict[str, object]) -> tuple[list[float], ...]:
    """``rounds`` alternated pairs; ``before[tool]`` runs before each sample of that tool.

    Returns wall seconds (alembic, ours) and CPU seconds (alembic, ours).
    """
    wall: dict[str, list[float]] = {"alembic": [], "schemashift": []}
    cpu: dict[str, list[float]] = {"alembic": [], "schemashift": []}
    for i in range(rounds):
        order = ("alembic", "schemashift") if i % 2 == 0 else ("schemashift", "alembic")
        for tool in order:
            prepare = before.get(tool)
            if prepare:
                prepare()
            seconds, _ = run(root, tool, command)
            wall[tool].append(seconds)
            cpu[tool].append(CPU[tool][-1])
    return wall["alembic"], wall["schemashift"], cpu["alembic"], cpu["schemashift"]


def row(label: str, alembic_s: list[float], ours_s: list[float], alembic_cpu: list[float], ours_cpu: list[float]) -> str:
    a, o = statistics.median(alembic_s), statistics.median(ours_s)
    pair = statistics.median(x / y for x, y in zip(ours_s, alembic_s))
    ac, oc = statistics.median(alembic_cpu), statistics.median(ours_cpu)
    return f"{label:34} {a:8.3f} {o:8.3f} {o / a:7.2f} {pair:7.2f} | {ac:8.3f} {oc:8.3f} {oc / ac:7.2f}"


def bench(n: int, rounds: int, tmp: Path) -> list[str]:
    root = make_project(tmp / f"p{n}", n)
    # warm both: Alembic writes its .pyc, schemashift its caches; answers must agree
    for command in COMMANDS:
        _, theirs = run(root, "alembic", command)
        run(root, "schemashift", command)
        _, ours = run(root, "schemashift", command)
        assert normalise(command, ours) == normalise(command, theirs), (command, ours[:300], theirs[:300])
    lines = [f"## {n} revision(s), {rounds} pairs per row", "",
             f"{'':34} {'wall: alembic':>17} {'ours':>8} {'ratio':>7} {'pairs':>7} | "
             f"{'cpu: alembic':>8} {'ours':>8} {'ratio':>7}"]
    for line in lines:
        print(line, flush=True)
    for command in COMMANDS:
        lines.append(row(f"{command}, warm", *paired(root, command, rounds, {})))
        print(lines[-1], flush=True)
    if n == 1:  # a project made by plain `alembic init`: schemashift must not be slower there either
        plain = make_project(tmp / f"alembic-init-p{n}", n, plain_alembic=True)
        _, theirs = run(plain, "alembic", "current")
        run(plain, "schemashift", "current")
        _, ours = run(plain, "schemashift", "current")
        assert normalise("current", ours) == normalise("current", theirs), (ours, theirs)
        lines.append(row("current, warm (alembic init)", *paired(plain, "current", rounds, {})))
        print(lines[-1], flush=True)
    cold_rounds = max(2, rounds // 2)
    fresh = {"alembic": lambda: clear_pycache(root),
             "schemashift": lambda: (clear_pycache(root), clear_our_caches(root))}
    for command in ("heads", "history"):
        lines.append(row(f"{command}, cold (fresh checkout)", *paired(root, command, cold_rounds, fresh)))
        print(lines[-1], flush=True)
    run(root, "alembic", "heads")  # .pyc back
    pyc_kept = {"schemashift": lambda: clear_our_caches(root)}
    for command in ("heads", "history"):
        lines.append(row(f"{command}, ours cold, .pyc present", *paired(root, command, cold_rounds, pyc_kept)))
        print(lines[-1], flush=True)
    lines.append("")
    return lines


def imported(root: Path, tool: str, command: str) -> dict[str, int]:
    """Module -> its own import microseconds (self, not cumulative) in one ``python -X importtime`` run of ``tool command``."""
    proc = subprocess.run([sys.executable, "-X", "importtime", str(BIN / tool), command], cwd=root,
                          capture_output=True, text=True, env=child_env())
    found: dict[str, int] = {}
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "self [us]" not in line:
            own, _, name = line.split(":", 1)[1].split("|")
            found[name.strip()] = int(own)
    return found


def import_evidence(tmp: Path) -> str:
    """What each command imports beyond Alembic's same command, at 1 revision (warm)."""
    root = make_project(tmp / "imports", 1)
    lines = ["# python -X importtime at 1 revision (warm): modules schemashift imports that Alembic's same command",
             "# does not, with their own import time in microseconds (self, not cumulative; one run each: times vary with load,",
             f"# the module lists do not); load average {os.getloadavg()[0]:.1f}", ""]
    for command in COMMANDS:
        run(root, "alembic", command)
        run(root, "schemashift", command)
        theirs, ours = imported(root, "alembic", command), imported(root, "schemashift", command)
        extra = {m: us for m, us in ours.items() if m not in theirs}
        lines.append(f"## {command}: alembic imports {len(theirs)} modules, schemashift {len(ours)}; "
                     f"{len(extra)} of ours are not in Alembic's list, {len(theirs.keys() - ours.keys())} of Alembic's not in ours")
        lines += [f"  {extra[m]:>9}  {m}" for m in sorted(extra)]
        lines.append(f"  {sum(extra.values()):>9}  total of the modules above")
        lines.append("")
    return "\n".join(lines)


def main(n: int, rounds: int) -> str:
    import alembic
    import sqlalchemy

    lines = [
        "# current / heads / history, whole process: schemashift vs alembic (SQLite, stamped at head)",
        f"# python {platform.python_version()}, sqlalchemy {sqlalchemy.__version__}, alembic {alembic.__version__}, "
        f"{platform.machine()}, load average {os.getloadavg()[0]:.1f} at start, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "# seconds: medians of whole-process runs; ratio = median(ours) / median(alembic); "
        "pairs = median of per-pair ratios;",
        "# cpu = user + sys seconds of the process (less sensitive than wall time to other load on the machine)",
        "",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for size in sorted({1, n}):
            lines.extend(bench(size, rounds, Path(tmp)))
            lines.append(f"# load average {os.getloadavg()[0]:.1f} after the {size}-revision rows")
            lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    count = int(args[0]) if args else 5000
    rounds = int(args[1]) if len(args) > 1 else 5
    if "--imports" in sys.argv:
        with tempfile.TemporaryDirectory() as tmp:
            evidence = import_evidence(Path(tmp))
        print(evidence)
        (Path(__file__).parent / "results" / "revisions_imports.txt").write_text(evidence + "\n")
        raise SystemExit(0)
    report = main(count, rounds)
    print("\n" + report)
    out = Path(__file__).parent / "results" / "revisions.txt"
    out.parent.mkdir(exist_ok=True)
    out.write_text(report + "\n")
