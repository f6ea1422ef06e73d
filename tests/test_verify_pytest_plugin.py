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


PARITY_TESTS = """
from schemashift.pytest_plugin import (  # noqa: F401
    test_schemashift_models_registered,
    test_schemashift_up_down_consistency,
    test_schemashift_upgrade,
)
"""


def test_pytest_alembic_builtin_parity(tmp_path, sqlite_url):
    """pytest-alembic's built-ins (test_upgrade, test_up_down_consistency,
    test_all_models_register_on_metadata, as in its examples
    test_experimental_all_models_register_failure): a models package whose
    module ``extra`` is never imported, and a downgrade that does not run."""
    import uuid

    package = f"models_pkg_{uuid.uuid4().hex[:8]}"
    example = make_project(
        tmp_path, "plugin_parity",
        [Rev("r1", 'op.create_table("tags", sa.Column("id", sa.Integer, primary_key=True))', 'raise RuntimeError("no way down")')],
        url=sqlite_url,
    )
    pkg = example.root / package
    pkg.mkdir()
    base_models = next(p for p in example.root.glob("models_*.py")).read_text()
    (pkg / "__init__.py").write_text(base_models + 'Table("tags", metadata, Column("id", Integer, primary_key=True))\n')
    (pkg / "extra.py").write_text(f"from sqlalchemy import Column, Integer, Table\nfrom {package} import metadata\n"
                                  'Table("forgotten", metadata, Column("id", Integer, primary_key=True))\n')
    ini = example.root / "alembic.ini"
    ini.write_text("\n".join(
        f"schemashift.metadata = {package}:metadata" if line.startswith("schemashift.metadata") else line
        for line in ini.read_text().splitlines()
    ) + "\n")
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_migrations.py").write_text(PARITY_TESTS)
    result = run_pytest(suite, f"--schemashift-config={ini}")
    out = result.stdout
    assert "test_schemashift_upgrade PASSED" in out, out + result.stderr
    assert "test_schemashift_up_down_consistency FAILED" in out
    assert "r1 r1: downgrade failed: RuntimeError: no way down" in out
    assert "test_schemashift_models_registered FAILED" in out
    assert "forgotten" in out and "import them where the metadata is built" in out
    (pkg / "__init__.py").write_text((pkg / "__init__.py").read_text() + f"from {package} import extra  # noqa\n")
    again = run_pytest(suite, f"--schemashift-config={ini}", "-k", "registered")
    assert "test_schemashift_models_registered PASSED" in again.stdout, again.stdout + again.stderr
