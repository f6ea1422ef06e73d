"""``run_cli``: the real CLI entry point in this process, for tests of many bad inputs.

A subprocess per command costs seconds on a busy machine; ``cli.main`` in
process is the same code path (argument parsing, error wording, exit codes).
Use ``SchoolProject.cli`` (a subprocess) where the process boundary matters.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class InProcessResult:
    code: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        return [ln for ln in self.stderr.splitlines() if ln.strip()]


@pytest.fixture
def run_cli(monkeypatch, capsys):
    """``run_cli(cwd, *args) -> InProcessResult`` (exit code, stdout, stderr)."""
    from fixtures_projects import forget_project_modules
    from schemashift import cli

    def run(cwd: Path, *args: str, env: dict[str, str] | None = None) -> InProcessResult:
        monkeypatch.chdir(cwd)
        monkeypatch.delenv("SCHEMASHIFT_URL", raising=False)
        monkeypatch.delenv("ALEMBIC_CONFIG", raising=False)
        for key, value in (env or {}).items():
            monkeypatch.setenv(key, value)
        forget_project_modules()
        capsys.readouterr()
        with pytest.raises(SystemExit) as exited:
            cli.main(list(args))
        captured = capsys.readouterr()
        code = exited.value.code
        return InProcessResult(code if isinstance(code, int) else (0 if code is None else 1), captured.out, captured.err)

    return run
