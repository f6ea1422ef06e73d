"""The pytest plugin, run as a user would: a test suite of its own, in a subprocess."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from verify_examples import Rev, make_project

USER_TESTS = """
from schemashift.pytest_plugin import (  # noqa: F401
    test_schemashift_models_match_head,
    test_schemashift_revision,
    test_schemashift_single_head,
)
"""


def run_pytest(directory, *args):
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "schemashift.pytest_plugin", "-p", "no:cacheprovider", "-v", *args],
        cwd=directory, capture_output=True, text=True, timeout=300,
    )


def test_one_test_per_revision_named_by_its_id(tmp_path, db_url):
    example = make_project(
        tmp_path,
        "plugin_project",
        [
            Rev("r1", 'op.create_index("ix_users_name", "users", ["name"])', "pass"),
            Rev("r2", 'op.create_table("tags", sa.Column("id", sa.Integer, primary_key=True))', 'op.drop_table("tags")'),
        ],
        url=db_url,
        models_extra='Index("ix_users_name", users.c.name)\nTable("tags", metadata, Column("id", Integer, primary_key=True))\n',
    )
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_migrations.py").write_text(USER_TESTS)
    result = run_pytest(suite, f"--schemashift-config={example.root / 'alembic.ini'}")
    out = result.stdout
    assert "test_migrations.py::test_schemashift_revision[r0] PASSED" in out, out + result.stderr
    assert "test_migrations.py::test_schemashift_revision[r1] FAILED" in out
    assert "test_migrations.py::test_schemashift_revision[r2] PASSED" in out
    assert "test_migrations.py::test_schemashift_single_head PASSED" in out
    assert "test_migrations.py::test_schemashift_models_match_head PASSED" in out
    assert "Failing Revision: r1" in out and "left behind: index ix_users_name on users (name)" in out
    assert result.returncode == 1


def test_fixtures_can_be_overridden_in_conftest(tmp_path, sqlite_url, pg_server):
    """A conftest names the project and the scratch server, as with pytest-alembic."""
    example = make_project(tmp_path, "plugin_override", [], url=sqlite_url)
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "conftest.py").write_text(textwrap.dedent(f"""
        import pytest

        pytest_plugins = ["schemashift.pytest_plugin"]

        @pytest.fixture
        def schemashift_project():
            return {str(example.root / 'alembic.ini')!r}

        @pytest.fixture
        def schemashift_scratch_url():
            return {pg_server.url('postgres')!r}
    """))
    (suite / "test_migrations.py").write_text(USER_TESTS + textwrap.dedent("""
        def test_scratch_is_postgresql(schemashift_verify):
            assert schemashift_verify.dialect == "postgresql"
    """))
    (suite / "pytest.ini").write_text(f"[pytest]\nschemashift_config = {example.root / 'alembic.ini'}\n")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-v"],
        cwd=suite, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "test_schemashift_revision[r0] PASSED" in result.stdout
    assert "test_scratch_is_postgresql PASSED" in result.stdout
