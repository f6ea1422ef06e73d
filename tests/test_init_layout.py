"""``schemashift init DIR`` means what ``alembic init DIR`` means: alembic.ini in the
current directory, the scripts in DIR (compared file by file with a real
``alembic init``), plus schemashift's additions; the project folder form under
``--project``; the config found by walking up from a subdirectory, as git does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from fixtures_projects import STUDENT_MODELS, STUDENTS, SchoolProject
from schemashift import api
from schemashift.api import GITIGNORE_LINES


def files(root: Path) -> dict[str, Path]:
    return {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*")) if "__pycache__" not in p.parts}


def test_init_matches_alembic_init_file_by_file(tmp_path, run_cli):
    alembic_dir, ours_dir = tmp_path / "alembic", tmp_path / "ours"
    alembic_dir.mkdir()
    ours_dir.mkdir()
    subprocess.run([sys.executable, "-m", "alembic", "init", "migrations"], cwd=alembic_dir, check=True,
                   capture_output=True)
    result = run_cli(ours_dir, "init", "migrations")
    assert result.code == 0, result.stderr
    theirs, ours = files(alembic_dir), files(ours_dir)
    additions = {"models.py", ".gitignore"}
    assert set(ours) - additions == set(theirs)
    assert {"alembic.ini", "migrations/env.py", "migrations/README", "migrations/script.py.mako",
            "migrations/versions"} <= set(theirs)
    for name in ("migrations/README", "migrations/script.py.mako"):
        assert ours[name].read_bytes() == theirs[name].read_bytes(), name
    assert ours["migrations/versions"].is_dir() and not list(ours["migrations/versions"].iterdir())
    # alembic.ini: Alembic's file, with schemashift's lines changed or added and nothing else
    theirs_ini = theirs["alembic.ini"].read_text().splitlines()
    ours_ini = ours["alembic.ini"].read_text().splitlines()
    changed = {"prepend_sys_path", "sqlalchemy.url"}
    key = lambda line: line.split("=", 1)[0].strip()  # noqa: E731
    assert [ln for ln in theirs_ini if key(ln) not in changed] == [
        ln for ln in ours_ini
        if key(ln) not in changed | {"schemashift.metadata"} and not ln.startswith("# the models' MetaData")
    ]
    assert "script_location = %(here)s/migrations" in ours_ini
    assert "sqlalchemy.url = sqlite:///%(here)s/app.db" in ours_ini
    assert "schemashift.metadata = models:Base.metadata" in ours_ini
    assert "prepend_sys_path = %(here)s" in ours_ini
    # env.py is schemashift's (no editing needed) and still works under plain alembic
    assert "schemashift.metadata" in ours["migrations/env.py"].read_text()
    assert ours[".gitignore"].read_text().splitlines() == list(GITIGNORE_LINES)
    assert "Created" in result.stdout and str(ours_dir / "alembic.ini") in result.stdout


def test_starter_models_never_hide_real_ones(tmp_path, run_cli):
    app = tmp_path / "app"
    (app / "shop").mkdir(parents=True)
    (app / "shop" / "models.py").write_text("# the real models\n")
    result = run_cli(app, "init", "migrations")
    assert result.code == 0, result.stderr
    assert not (app / "models.py").exists()
    assert f"Found {app / 'shop' / 'models.py'}" in result.stderr and "schemashift.metadata" in result.stderr
    # a models.py where schemashift.metadata points is used, not replaced
    other = tmp_path / "other"
    other.mkdir()
    (other / "models.py").write_text("# mine\n")
    assert run_cli(other, "init", "db").code == 0
    assert (other / "models.py").read_text() == "# mine\n"
    assert (other / "db" / "env.py").exists() and (other / "alembic.ini").exists()


def test_project_folder_form_and_refusals(tmp_path, run_cli):
    result = run_cli(tmp_path, "init", "--project", "school")
    assert result.code == 0, result.stderr
    school = tmp_path / "school"
    assert (school / "alembic.ini").is_file() and (school / "migrations" / "env.py").is_file()
    assert (school / "models.py").is_file() and not (tmp_path / "alembic.ini").exists()
    before = files(tmp_path)
    for args, cwd in ((("init", "--project", "school"), tmp_path), (("init", "migrations"), school),
                      (("init", "school"), tmp_path)):
        result = run_cli(cwd, *args)
        assert result.code == 2, (args, result.stderr)
        assert len(result.lines) == 1 and "already exists" in result.lines[0]
    assert files(tmp_path).keys() == before.keys()


def test_commands_from_a_subdirectory(tmp_path, run_cli, db_url, backend):
    root = tmp_path / "proj"
    root.mkdir()
    assert run_cli(root, "init", "migrations", "--url", db_url).code == 0
    project = SchoolProject(root, db_url, backend)
    project.write_models()
    deep = root / "app" / "sub"
    deep.mkdir(parents=True)
    result = run_cli(deep, "revision", "--autogenerate", "-m", "create students", "--rev-id", "sub0001")
    assert result.code == 0, result.stderr
    assert list((root / "migrations" / "versions").glob("sub0001_*.py"))
    assert run_cli(deep, "upgrade", "head").code == 0
    project.insert_students()
    result = run_cli(deep, "current")
    assert result.code == 0 and "sub0001 (head)" in result.stdout
    assert not list(deep.rglob("*.ini")) and not (deep / "migrations").exists()
    assert project.rows("students") == STUDENTS


def test_relative_sqlite_url_means_the_project_top(tmp_path, run_cli):
    """A relative sqlite URL resolves where alembic.ini is, from any subdirectory (as running there)."""
    root = tmp_path / "proj"
    root.mkdir()
    assert run_cli(root, "init", "migrations", "--url", "sqlite:///rel.db").code == 0
    (root / "models.py").write_text(STUDENT_MODELS.replace("{table}", "students").replace("{extra}", ""))
    (root / "pkg").mkdir()
    assert run_cli(root / "pkg", "revision", "--autogenerate", "-m", "c").code == 0
    assert run_cli(root / "pkg", "upgrade", "head").code == 0
    assert (root / "rel.db").exists() and not (root / "pkg" / "rel.db").exists()
    engine = sa.create_engine(f"sqlite:///{root / 'rel.db'}")
    assert "students" in sa.inspect(engine).get_table_names()
    engine.dispose()


def test_config_option_wins_and_walk_stops_at_git_top(tmp_path, run_cli):
    outer = tmp_path / "outer"
    outer.mkdir()
    assert run_cli(outer, "init", "migrations").code == 0
    repo = outer / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "sub").mkdir()
    result = run_cli(repo / "sub", "heads")
    assert result.code == 2 and "or any directory above it" in result.lines[0]
    assert "schemashift init" in result.lines[0]
    other = tmp_path / "other"
    other.mkdir()
    assert run_cli(other, "init", "--project", "p").code == 0
    api.revision(api.load_project(other / "p" / "alembic.ini"), "only here", rev_id="cfg0001")
    result = run_cli(outer, "--config", str(other / "p" / "alembic.ini"), "heads")
    assert result.code == 0 and "cfg0001" in result.stdout


def test_gitignore_keeps_cache_and_lock_out_of_git(tmp_path, run_cli):
    root = tmp_path / "proj"
    root.mkdir()
    (root / ".gitignore").write_text("*.log\n__pycache__/")
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    assert run_cli(root, "init", "migrations").code == 0
    text = (root / ".gitignore").read_text()
    assert text.startswith("*.log\n__pycache__/\n") and text.count("__pycache__/") == 1
    assert "*-schemashift.lock" in text
    assert run_cli(root, "revision", "-m", "first").code == 0
    assert run_cli(root, "upgrade", "head").code == 0
    assert run_cli(root, "heads").code == 0
    cache = root / "migrations" / "__pycache__" / "schemashift-revisions.json"
    lock = root / "app.db-schemashift.lock"
    assert cache.exists() and lock.exists()
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=root,
                            capture_output=True, text=True, check=True).stdout
    assert "schemashift-revisions.json" not in status and "schemashift.lock" not in status
    assert "migrations/versions/" in status  # the revision itself is for version control


def test_init_takes_alembics_template_names(tmp_path, run_cli):
    """``alembic init -t async migrations`` is how an async project starts: ``-t`` was "No such
    option".  ``generic`` and ``async`` are served by init's one env.py (``async`` defaults the URL
    to aiosqlite); Alembic's other templates are refused, naming the alembic command to use."""
    app = tmp_path / "asyncapp"
    app.mkdir()
    result = run_cli(app, "init", "-t", "async", "migrations")
    assert result.code == 0, result.stderr
    assert "sqlalchemy.url = sqlite+aiosqlite:///%(here)s/app.db" in (app / "alembic.ini").read_text()
    (app / "models.py").write_text(STUDENT_MODELS.replace("{table}", "students").replace("{extra}", ""))
    assert run_cli(app, "revision", "--autogenerate", "-m", "create students", "--rev-id", "a0001").code == 0
    assert run_cli(app, "upgrade", "head").code == 0
    engine = sa.create_engine(f"sqlite:///{app / 'app.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO students (id, name, grade) VALUES (1, 'Ada Lovelace', 4)")
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == "a0001"
    engine.dispose()
    for template in ("pyproject", "multidb", "nonsense"):
        before = files(tmp_path)
        result = run_cli(tmp_path, "init", "--template", template, "other")
        assert result.code == 2 and len(result.lines) == 1, result.stderr
        assert f"no template {template!r}" in result.lines[0]
        assert ("alembic init --template" in result.lines[0]) == (template != "nonsense")
        assert files(tmp_path).keys() == before.keys()
