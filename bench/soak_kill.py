"""Soak: many more SIGKILL trials than the suite runs (issue 4).

Runs the suite's kill test with SCHEMASHIFT_KILL_TRIALS (default here 200) on
SQLite and PostgreSQL, each trial with a new random seed, and writes the
outcome to bench/results/soak_kill.txt.

    python bench/soak_kill.py [TRIALS]
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(trials: int) -> str:
    env = {**os.environ, "SCHEMASHIFT_KILL_TRIALS": str(trials), "SCHEMASHIFT_KILL_SEED": str(int(time.time()))}
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", "2", "-p", "no:cacheprovider",
         "tests/test_lock.py", "-k", "sigkill", "--timeout", "0"],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )
    elapsed = time.monotonic() - start
    tail = "\n".join(proc.stdout.strip().splitlines()[-3:])
    return (
        f"# SIGKILL soak: {trials} trials per backend (sqlite, postgresql), seed {env['SCHEMASHIFT_KILL_SEED']}\n"
        f"exit {proc.returncode} after {elapsed:.0f} s\n{tail}\n"
    )


if __name__ == "__main__":
    report = main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
    print(report)
    out = ROOT / "bench" / "results" / "soak_kill.txt"
    out.parent.mkdir(exist_ok=True)
    out.write_text(report)
