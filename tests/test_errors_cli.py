"""Bad input: one line on stderr naming the problem, a non-zero exit, no traceback,
and the database exactly as it was."""

from __future__ import annotations

import pytest

from fixtures_projects import STUDENTS

pytestmark = pytest.mark.also_mariadb  # every backend-parametrized test runs on MariaDB too


@pytest.fixture
def migrated(school):
    """The school at head (two revisions) with three students."""
    school.cli("revision", "--autogenerate", "-m", "Create students", "--rev-id", "abc123000001")
    school.manual_revision(
        "add nickname", "op.add_column('students', sa.Column('nickname', sa.String(50)))",
        "op.drop_column('students', 'nickname')", rev_id="abc123000002",
    )
    school.cli("upgrade", "head")
    school.insert_students()
    return school


def assert_clean_failure(result, *needles, code=None):
    assert result.code != 0
    if code is not None:
        assert result.code == code
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    # MariaDB: a "note:" that DDL cannot be rolled back comes before running, by design
    lines = [ln for ln in result.stderr.splitlines() if ln.strip() and not ln.startswith("note: ")]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.mark.parametrize(
    "args, needles",
    [
        (("upgrade", "nosuchrev"), ("No such revision or branch 'nosuchrev'", "schemashift history")),
        (("upgrade", "abc123"), ("Multiple revisions start with 'abc123'", "more characters")),
        (("downgrade", "-5"), ("Relative revision -5",)),
        (("show", "zzzz"), ("zzzz",)),
        (("discard", "abc123000002"), ("is applied", "downgrade first")),
        (("discard", "abc123000001"), ("has descendants",)),
        (("history", "-r", "nocolon"), ("is not [start]:[end]",)),
        (("upgrade", "--atomic", "sideways"), ("sideways",)),
        (("bogus-command",), ("No such command",)),
    ],
    ids=["unknown", "ambiguous", "below-base", "show-unknown", "discard-applied", "discard-parent",
         "bad-range", "bad-choice", "unknown-command"],
)
def test_bad_revision_input(migrated, args, needles):
    before = migrated.state()
    assert_clean_failure(migrated.cli(*args, ok=False), *needles)
    assert migrated.state() == before
    assert migrated.rows("students") == STUDENTS


def test_downgrade_below_base_from_base(school):
    school.cli("revision", "--autogenerate", "-m", "Create students")
    before = school.state()
    assert_clean_failure(school.cli("downgrade", "-1", ok=False), "Relative revision -1")
    assert school.state() == before


def test_missing_config(tmp_path, school):
    result = school.cli("--config", str(tmp_path / "nope.ini"), "current", ok=False)
    assert_clean_failure(result, "does not exist", "--config")
    empty = tmp_path / "empty"
    empty.mkdir()
    result = school.cli("current", ok=False, cwd=empty)
    assert_clean_failure(result, "no alembic.ini", "schemashift init")


def test_broken_config(migrated):
    before = migrated.state()
    migrated.ini.write_text(migrated.ini.read_text().replace("[alembic]", "[alembic"))
    assert_clean_failure(migrated.cli("upgrade", "head", ok=False), "cannot parse")
    migrated.ini.write_text(migrated.ini.read_text().replace("[alembic", "[other]"))
    assert_clean_failure(migrated.cli("current", ok=False), "has no [alembic] section")
    assert migrated.state() == before


def test_unreachable_database_hides_password(migrated):
    url = "postgresql+psycopg://teacher:s3cr3t-pw@127.0.0.1:9/school"
    result = migrated.cli("--url", url, "upgrade", "head", ok=False)
    assert_clean_failure(result, "cannot connect to database", "teacher:***@127.0.0.1:9")
    assert "s3cr3t-pw" not in result.stderr + result.stdout
    result = migrated.cli("current", ok=False, env={"SCHEMASHIFT_URL": url})
    assert "s3cr3t-pw" not in result.stderr + result.stdout
    assert_clean_failure(result, "cannot connect")


def test_bad_url(migrated):
    assert_clean_failure(migrated.cli("--url", "not a url", "current", ok=False), "bad database URL")


@pytest.mark.parametrize("command", [("current",), ("upgrade", "head"), ("check",), ("verify",), ("plan",)])
def test_url_naming_a_driver_that_is_not_installed(migrated, command):
    """Found with optuna's history: a postgresql+psycopg URL in a venv without psycopg was
    blamed on env.py ("failed at line 61"), and verify exited 70 "please report it"."""
    before = migrated.state()
    result = migrated.cli("--url", "postgresql+psycopg2://u:s3cr3t@127.0.0.1/shop", *command, ok=False)
    assert_clean_failure(result, "the URL needs the database driver psycopg2, which is not installed",
                         "pip install psycopg2-binary", code=2)
    assert "s3cr3t" not in result.stderr + result.stdout
    assert migrated.state() == before


def test_a_module_env_py_lacks_is_still_blamed_on_env_py(migrated):
    """Only SQLAlchemy's own driver import is read as a missing driver."""
    env = migrated.root / "migrations" / "env.py"
    env.write_text(env.read_text() + "\nimport no_such_module_anywhere\n")
    assert_clean_failure(migrated.cli("upgrade", "head", ok=False), "env.py", "no_such_module_anywhere", code=2)


def test_revision_file_that_does_not_import(migrated):
    before = migrated.state()
    migrated.manual_revision(
        "broken", "op.add_column('students', sa.Column('x', sa.Integer()))",
        "op.drop_column('students', 'x')", rev_id="abc123000003",
    )
    path = next(migrated.versions.glob("abc123000003_*.py"))
    path.write_text(path.read_text().replace("def upgrade() -> None:", "def upgrade() -> None\n"))
    for args in (("upgrade", "head"), ("history",), ("heads",), ("current",)):
        assert_clean_failure(migrated.cli(*args, ok=False), "abc123000003_broken.py", "does not import", "SyntaxError")
    path.write_text("import no_such_module_anywhere\n" + path.read_text().replace("def upgrade() -> None\n", "def upgrade() -> None:"))
    assert_clean_failure(migrated.cli("upgrade", "head", ok=False), "abc123000003_broken.py", "ModuleNotFoundError")
    assert migrated.state() == before


def test_failing_migration_names_revision_and_statement(migrated):
    before = migrated.state()
    migrated.manual_revision(
        "fails", "op.execute('SELECT * FROM no_such_table')", "pass", rev_id="abc123000004",
    )
    result = migrated.cli("upgrade", "head", ok=False)
    assert_clean_failure(result, "migration abc123000004 failed", "no_such_table")
    assert migrated.state() == before


def test_debug_shows_traceback(migrated):
    result = migrated.cli("--debug", "upgrade", "nosuchrev", ok=False)
    assert "Traceback" in result.stderr


def test_init_refuses_existing_project(school):
    result = school.cli("init", str(school.root), ok=False)
    assert_clean_failure(result, "already exists")
    result = school.cli("init", str(school.root / "x"), "--metadata", "models", ok=False)
    assert_clean_failure(result, "is not MODULE:ATTR")


def test_history_without_a_template(migrated):
    """A history shipped inside a package often leaves out script.py.mako (mlflow's does):
    plain Alembic and schemashift 2026-11 both died there with a FileNotFoundError traceback.
    ``revision`` and ``merge`` now say what is missing; ``check``, which writes no file, still works."""
    (migrated.root / "migrations" / "script.py.mako").unlink()
    files = sorted(p.name for p in migrated.versions.glob("*.py"))
    before = migrated.state()
    for args in (("revision", "-m", "next"), ("revision", "--autogenerate", "-m", "next"),
                 ("merge", "heads", "-m", "join")):
        assert_clean_failure(migrated.cli(*args, ok=False), "has no script.py.mako", "alembic init", code=2)
    assert sorted(p.name for p in migrated.versions.glob("*.py")) == files
    assert migrated.state() == before
    checked = migrated.cli("check", ok=False)  # the models lack the hand-written nickname column
    assert checked.code == 1 and "drop column students.nickname" in checked.stdout, checked.stderr


def test_env_py_with_its_own_url_is_blamed_for_its_own_failure(tmp_path, sqlite_url):
    """Prefect's env.py takes its URL from its own settings (alembic.ini has no sqlalchemy.url) and
    runs only inside an AnyIO worker thread.  Its failure read "no database URL: sqlalchemy.url is not
    set", sending the user to the wrong fix; it is now env.py's own error, with what to do about it.
    A stock env.py without a URL is still told to set one (tests/test_redaction.py)."""
    from fixtures_projects import SchoolProject
    from schemashift import api

    root = tmp_path / "own_url"
    api.init(root, url=sqlite_url)
    project = SchoolProject(root, sqlite_url, "sqlite")
    project.ini.write_text("\n".join(ln for ln in project.ini.read_text().splitlines()
                                     if not ln.startswith("sqlalchemy.url")))
    env = root / "migrations" / "env.py"
    head, future, rest = env.read_text().partition("from __future__ import annotations\n")
    env.write_text(
        head + future + "\nclass NoEventLoopError(RuntimeError):  # as anyio.from_thread raises it\n    pass\n\n"
        "raise NoEventLoopError('Not running inside an AnyIO worker thread, and no event loop token was provided')\n"
        + rest)
    line = (head + future).count("\n") + 5
    result = project.cli("upgrade", "head", ok=False)
    assert_clean_failure(result, f"env.py failed at line {line}", "NoEventLoopError", "anyio.to_thread.run_sync", code=2)
    assert "no database URL" not in result.stderr
    env.write_text(env.read_text().replace(
        "raise NoEventLoopError('Not running inside an AnyIO worker thread, and no event loop token was provided')",
        "raise ValueError('settings file is broken')", 1))
    plain = project.cli("upgrade", "head", ok=False)
    assert_clean_failure(plain, f"env.py failed at line {line}", "ValueError", "fix env.py", code=2)
