"""The plugin's lint test, run as a user's suite would run it (in a subprocess)."""

from __future__ import annotations

import subprocess
import sys

from verify_examples import Rev, make_project


def test_lint_test_fails_on_a_drop_and_passes_once_reviewed(tmp_path, sqlite_url):
    example = make_project(
        tmp_path, "lint_project",
        [Rev("r1", 'op.create_table("tags", sa.Column("id", sa.Integer, primary_key=True))', 'op.drop_table("tags")'),
         Rev("r2", 'op.drop_table("tags")', 'op.create_table("tags", sa.Column("id", sa.Integer, primary_key=True))')],
        url=sqlite_url,
    )
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_lint.py").write_text("from schemashift.pytest_plugin import test_schemashift_lint  # noqa: F401\n")

    def run():
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "schemashift.pytest_plugin", "-p", "no:cacheprovider", "-v",
             f"--schemashift-config={example.root / 'alembic.ini'}"],
            cwd=suite, capture_output=True, text=True, timeout=300,
        )

    failed = run()
    assert "test_lint.py::test_schemashift_lint FAILED" in failed.stdout, failed.stdout + failed.stderr
    assert "SS-D101 r2: drops table tags" in failed.stdout
    r2 = next(example.root.glob("migrations/versions/r2*.py"))
    r2.write_text(r2.read_text().replace("def upgrade", "# schemashift: allow SS-D101 -- tags were never used\n\ndef upgrade", 1))
    passed = run()
    assert "test_lint.py::test_schemashift_lint PASSED" in passed.stdout, passed.stdout + passed.stderr
