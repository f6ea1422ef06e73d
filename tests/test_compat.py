"""No lock-in: Alembic's own projects run under schemashift, and ours under plain alembic."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from alembic import command
from alembic.config import Config

from fixtures_projects import STUDENTS, CliResult


def alembic_cli(root: Path, *args: str) -> CliResult:
    proc = subprocess.run(
        [sys.executable, "-m", "alembic", *args], cwd=root, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def test_schemashift_project_runs_under_plain_alembic(school):
    school.cli("revision", "--autogenerate", "-m", "Create students", "--rev-id", "c0ffee000001")
    alembic_cli(school.root, "upgrade", "head")
    school.insert_students()
    assert school.cli("current").stdout.split() == ["c0ffee000001", "(head)"]
    assert "c0ffee000001 (head)" in alembic_cli(school.root, "current").stdout
    school.write_models(extra="    nickname: Mapped[str | None] = mapped_column(String(30))\n")
    alembic_cli(school.root, "revision", "--autogenerate", "-m", "nickname", "--rev-id", "c0ffee000002")
    school.cli("upgrade", "head")
    assert "nickname" in school.columns("students")
    alembic_cli(school.root, "downgrade", "-1")
    assert school.version() == {"c0ffee000001"}
    assert school.rows("students") == STUDENTS


def _alembic_init(root: Path, url: str, template: str = "generic") -> None:
    root.mkdir()
    cfg = Config(str(root / "alembic.ini"), toml_file=str(root / "pyproject.toml"))
    command.init(cfg, str(root / "migrations"), template=template)
    ini = root / "alembic.ini"
    ini.write_text(ini.read_text().replace("driver://user:pass@localhost/dbname", url))
    if template == "pyproject":
        toml = root / "pyproject.toml"
        assert "[tool.alembic]" in toml.read_text()


def _manual_revision(root: Path, url: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "alembic", "revision", "-m", "create students", "--rev-id", "a1e0000001"],
        cwd=root, capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stderr
    path = next((root / "migrations" / "versions").glob("a1e0000001_*.py"))
    body = textwrap.dedent(
        """
        op.create_table('students', sa.Column('id', sa.Integer(), primary_key=True),
                        sa.Column('name', sa.String(100)), sa.Column('grade', sa.Integer()))
        """
    ).strip()
    text = path.read_text()
    text = text.replace('"""Upgrade schema."""\n    pass', '"""Upgrade schema."""\n    ' + body.replace("\n", "\n    "))
    text = text.replace('"""Downgrade schema."""\n    pass', '"""Downgrade schema."""\n    op.drop_table("students")')
    path.write_text(text)


def test_project_made_by_alembic_init_works_unchanged(tmp_path, db_url, backend):
    from fixtures_projects import SchoolProject

    root = tmp_path / "legacy"
    _alembic_init(root, db_url)
    env_before = (root / "migrations" / "env.py").read_text()
    _manual_revision(root, db_url)
    project = SchoolProject(root, db_url, backend)
    project.cli("upgrade", "head")
    project.insert_students()
    assert project.cli("current").stdout.split() == ["a1e0000001", "(head)"]
    assert "a1e0000001 (head)" in alembic_cli(root, "current").stdout
    assert project.cli("history", "-i").stdout.startswith("<base> -> a1e0000001 (head) (current), create students")
    project.cli("downgrade", "base", "--allow-destructive")  # students holds rows: refused unless allowed
    assert "students" not in project.tables()
    project.cli("upgrade", "head")
    assert (root / "migrations" / "env.py").read_text() == env_before


def test_pyproject_toml_config(tmp_path, db_url, backend):
    from fixtures_projects import SchoolProject

    root = tmp_path / "tomlproj"
    _alembic_init(root, db_url, template="pyproject")
    _manual_revision(root, db_url)
    project = SchoolProject(root, db_url, backend)
    project.cli("--config", "pyproject.toml", "upgrade", "head")
    project.insert_students()
    out = project.cli("--config", str(root / "pyproject.toml"), "current", cwd=tmp_path).stdout
    assert out.split() == ["a1e0000001", "(head)"]
    assert project.rows("students") == STUDENTS
