"""Projects made by plain ``alembic init``, as an Alembic user has them.

``stock`` (SQLite and PostgreSQL) and ``stock_sqlite``: a ``SchoolProject``
whose alembic.ini and env.py are exactly what ``alembic init`` wrote, but for
``sqlalchemy.url`` and ``target_metadata`` (the two lines every user edits).
``alembic(project, *args)`` runs the real ``alembic`` command in it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fixtures_projects import SchoolProject, forget_project_modules


def alembic(project: SchoolProject, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "alembic", *args], cwd=project.root, capture_output=True, text=True)
    if ok:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def make_stock(root: Path, db_url: str, backend: str) -> SchoolProject:
    """A project made by plain ``alembic init``: only the URL and target_metadata set."""
    root.mkdir()
    project = SchoolProject(root, db_url, backend)
    alembic(project, "init", "migrations")
    ini = root / "alembic.ini"
    text = ini.read_text()
    assert "sqlalchemy.url = driver://user:pass@localhost/dbname" in text
    ini.write_text(text.replace("sqlalchemy.url = driver://user:pass@localhost/dbname", f"sqlalchemy.url = {db_url}"))
    env = root / "migrations" / "env.py"
    env_text = env.read_text()
    assert "fileConfig(config.config_file_name)" in env_text and "target_metadata = None" in env_text
    env.write_text(env_text.replace("target_metadata = None", "from models import Base\ntarget_metadata = Base.metadata"))
    project.write_models()
    return project


@pytest.fixture
def stock(tmp_path, db_url, backend):
    """``make_stock`` on the test's database (SQLite and PostgreSQL)."""
    yield make_stock(tmp_path / "stock", db_url, backend)
    forget_project_modules()


@pytest.fixture
def stock_sqlite(tmp_path, sqlite_url):
    """``make_stock`` on SQLite only, for what does not depend on the database."""
    yield make_stock(tmp_path / "stock", sqlite_url, "sqlite")
    forget_project_modules()


