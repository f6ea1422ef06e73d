"""pytest-alembic's own tests pass against a project ``schemashift init`` made, as against any
Alembic project: its ``alembic_engine`` fixture hands env.py an Engine (or a test's own
Connection) through ``config.attributes["connection"]``, the channel Alembic's cookbook uses."""

from __future__ import annotations

import os
import subprocess
import sys

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from fixtures_projects import STUDENT_MODELS, forget_project_modules
from schemashift import api

PG_CONFTEST = '''
import pytest
import sqlalchemy as sa


@pytest.fixture
def alembic_engine():
    engine = sa.create_engine({url!r}, poolclass=sa.pool.NullPool)
    yield engine
    engine.dispose()
'''

BUILTIN = ("test_single_head_revision", "test_upgrade", "test_model_definitions_match_ddl",
           "test_up_down_consistency")


def _project(tmp_path, db_url):
    root = tmp_path / "app"
    root.mkdir()
    api.init("migrations", config_dir=root, url=db_url)
    (root / "models.py").write_text(STUDENT_MODELS.replace("{table}", "students").replace(
        "{extra}", "    nickname: Mapped[str | None]\n"))
    forget_project_modules()
    api.revision(api.load_project(root / "alembic.ini"), "create students", autogenerate=True)
    forget_project_modules()
    return root


def test_pytest_alembic_builtin_tests_pass(tmp_path, db_url, backend):
    root = _project(tmp_path, db_url)
    # pytest-alembic's built-in tests imported explicitly, as its docs show (its --test-alembic
    # collector, bound to tests/conftest.py, fails on pytest 9: so not in tests/); on SQLite
    # its default alembic_engine (an in-memory database), on PostgreSQL an engine of the test's
    # database
    (root / "checks").mkdir()
    (root / "checks" / "conftest.py").write_text(PG_CONFTEST.format(url=db_url) if backend == "postgresql" else "")
    (root / "checks" / "test_migrations.py").write_text(f"from pytest_alembic.tests import {', '.join(BUILTIN)}\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "SCHEMASHIFT_URL")}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "checks", "-p", "no:cacheprovider", "-v", "-p", "no:xdist"],
        cwd=root, capture_output=True, text=True, env=env, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    for name in BUILTIN:
        assert f"{name} PASSED" in proc.stdout, proc.stdout[-3000:]


def test_env_py_takes_an_engine_or_a_connection(tmp_path, db_url):
    """Plain Alembic, the cookbook way: an Engine, then a test's own Connection, in attributes."""
    root = _project(tmp_path, db_url)
    engine = sa.create_engine(db_url, poolclass=sa.pool.NullPool)
    try:
        config = Config(str(root / "alembic.ini"))
        config.attributes["connection"] = engine
        command.upgrade(config, "head")
        assert "students" in sa.inspect(engine).get_table_names()
        with engine.connect() as connection:
            config = Config(str(root / "alembic.ini"))
            config.attributes["connection"] = connection
            command.downgrade(config, "base")
            connection.commit()
        assert "students" not in sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()
        forget_project_modules()
