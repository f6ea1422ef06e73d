"""The tour plays the lesson end to end; examples/school is the same project as files."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from rich.console import Console

from fixtures_projects import SchoolProject
from schemashift.tour.play import Tour, TourFailed, play

EXAMPLE = Path(__file__).parent.parent / "examples" / "school"


def test_tour_passes_and_shows_each_lesson_step(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "schemashift", "tour", "--keep", str(tmp_path / "kept")],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    for expected in (
        "$ schemashift revision --autogenerate -m 'Create students'",
        "$ schemashift upgrade head",
        "$ sqlite3 migrations_test.db .tables",
        "alembic_version  scholars",
        "$ schemashift current",
        "$ schemashift history",
        "$ schemashift discard",
        "new_column_name='full_name'",
        "Tour complete",
    ):
        assert expected in out, expected
    assert "✗" not in out and "Traceback" not in out
    kept = tmp_path / "kept" / "school"
    assert (kept / "alembic.ini").exists() and (kept / "migrations_test.db").exists()
    engine = sa.create_engine(f"sqlite:///{kept / 'migrations_test.db'}")
    with engine.connect() as conn:
        names = [r[0] for r in conn.execute(sa.text("SELECT full_name FROM students ORDER BY id"))]
    assert names == ["Ada Lovelace", "Grace Hopper"]


def test_tour_reports_a_failed_check(tmp_path):
    def broken(t: Tour) -> None:
        t.step("a step whose check fails")
        t.expect(False, "this does not hold")

    console = Console(file=open(tmp_path / "out.txt", "w"), width=100)
    assert play(keep=tmp_path / "k", console=console, steps=broken) is False
    console.file.close()
    assert "Tour failed: this does not hold" in (tmp_path / "out.txt").read_text()


def test_tour_refuses_a_used_keep_directory(tmp_path):
    (tmp_path / "school").mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "schemashift", "tour", "--keep", str(tmp_path)], capture_output=True, text=True
    )
    assert proc.returncode != 0 and "already exists" in proc.stdout


def test_tour_failure_raises_inside_steps():
    tour = Tour(Path("."), Console(file=open("/dev/null", "w")))
    try:
        tour.expect(1 == 2, "arithmetic")
    except TourFailed as exc:
        assert "arithmetic" in str(exc)
    else:
        raise AssertionError("expect() did not raise")


@pytest.mark.also_mariadb
def test_example_school_project_works(tmp_path, db_url, backend):
    root = tmp_path / "school"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("*.db", "__pycache__"))
    school = SchoolProject(root, db_url, backend)
    env = {"SCHEMASHIFT_URL": db_url}
    school.cli("upgrade", "head", env=env)
    proc = subprocess.run([sys.executable, "crud.py"], cwd=root, capture_output=True, text=True, env={**env, "PATH": ""})
    assert proc.returncode == 0, proc.stderr
    assert "deleted Alan" in proc.stdout
    assert "No differences" in school.cli("check", env=env).stdout
    before = school.rows("students", "id, full_name, grade")
    assert [r[1] for r in before] == ["Ada Lovelace", "Grace Hopper"]
    school.cli("downgrade", "-1", env=env)
    assert school.rows("students", "id, name, grade") == before
    school.cli("upgrade", "head", env=env)
    assert school.rows("students", "id, full_name, grade") == before
