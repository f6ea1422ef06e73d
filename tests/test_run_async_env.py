"""An async env.py (Alembic's ``async`` template) on PostgreSQL and on SQLite (aiosqlite): a failed
step is rolled back, and schemashift can say so because it asks the async driver's own connection.

Found by running pytest-alembic's ``test_async_sqlalchemy_native`` example through
schemashift: on asyncpg the run could not tell whether a transaction was open, so
every failure read "rolled back as far as the database allows; could not read the
version back".
"""

from __future__ import annotations

import pytest

from fixtures_runcore import RunCore, make_env_async
from fixtures_projects import forget_project_modules
from schemashift import api
from schemashift.errors import MigrationFailed



@pytest.fixture(params=["asyncpg", "psycopg_async", "aiosqlite"])
def async_project(request, tmp_path):
    root = tmp_path / "proj"
    if request.param == "aiosqlite":  # Prefect's kind: it failed with "AsyncAdapt_aiosqlite_connection
        url = request.getfixturevalue("sqlite_url")  # object has no attribute 'in_transaction'"
        api.init(root, url=url.replace("sqlite:///", "sqlite+aiosqlite:///"))
        project = RunCore(root, url, "sqlite")
    else:
        url = request.getfixturevalue("pg_url")
        api.init(root, url=url.replace("postgresql+psycopg://", f"postgresql+{request.param}://"))
        project = RunCore(root, url, "postgresql")  # read back through a sync engine
    make_env_async(project.env_py)
    project.rev("aaa", None, """
        op.create_table('items', sa.Column('id', sa.Integer, primary_key=True), sa.Column('name', sa.String(20)))
        op.execute("INSERT INTO items VALUES (1, 'one'), (2, 'two')")
    """)
    project.rev("bbb", "aaa", """
        op.add_column('items', sa.Column('note', sa.String(20)))
        op.execute("UPDATE items SET name = 'changed'")
        raise RuntimeError('bbb is broken')
    """)
    yield project
    forget_project_modules()


@pytest.mark.parametrize("atomic", ["step", "run"])
def test_failed_step_is_rolled_back_and_said_so(async_project, atomic):
    with pytest.raises(MigrationFailed) as failed:
        async_project.upgrade(atomic=atomic)
    line = failed.value.one_line()
    assert "migration bbb failed: RuntimeError: bbb is broken" in line
    if atomic == "step":
        assert "rolled back: the database is as it was before migration bbb" in line
        assert async_project.version() == {"aaa"}
        assert async_project.rows("items", "id, name") == [(1, "one"), (2, "two")]
        assert [c for c in async_project.columns("items")] == ["id", "name"]
    else:
        assert "rolled back: the database is as it was before the run" in line
        assert async_project.version() == set()
        assert "items" not in async_project.tables()


@pytest.mark.parametrize("driver", ["aiosqlite", "asyncpg"])
def test_init_with_an_async_url_writes_an_env_py_that_runs(tmp_path, request, driver):
    """``schemashift init --url sqlite+aiosqlite:///...`` wrote the sync env.py, which failed at once
    with MissingGreenlet; Alembic's answer is ``init -t async``.  init's env.py now runs an async
    driver's URL in an event loop of its own, under schemashift and plain alembic alike."""
    from fixtures_projects import STUDENTS, SchoolProject

    if driver == "aiosqlite":
        sync_url = request.getfixturevalue("sqlite_url")
        url, backend = sync_url.replace("sqlite:///", "sqlite+aiosqlite:///"), "sqlite"
    else:
        sync_url = request.getfixturevalue("pg_url")
        url, backend = sync_url.replace("postgresql+psycopg://", "postgresql+asyncpg://"), "postgresql"
    root = tmp_path / "asyncapp"
    api.init(root, url=url)
    project = SchoolProject(root, sync_url, backend)  # rows read back through a sync engine
    project.write_models()
    try:
        project.cli("revision", "--autogenerate", "-m", "create students", "--rev-id", "s1")
        project.cli("upgrade", "head")
        project.insert_students()
        project.manual_revision("nickname", "op.add_column('students', sa.Column('nickname', sa.String(20)))",
                                "op.drop_column('students', 'nickname')", rev_id="s2")
        project.cli("upgrade", "head")
        assert project.version() == {"s2"} and project.rows("students") == STUDENTS
        assert "s2 (head)" in project.cli("current").stdout
        project.cli("downgrade", "s1", "--allow-destructive")
        assert project.version() == {"s1"} and project.rows("students") == STUDENTS
        assert project.columns("students") == ["id", "name", "grade"]
    finally:
        forget_project_modules()
