"""verify never migrates the user's database, and cleans up its scratch databases."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from verify_examples import Rev, make_project, table_names

from schemashift.errors import ConfigError, DatabaseError, Refused
from schemashift.safety.scratch import SCRATCH_PREFIX, scratch_database
from schemashift.safety.verify import verify

GOOD = [Rev("r1", 'op.create_index("ix_users_name", "users", ["name"])', 'op.drop_index("ix_users_name", table_name="users")')]


def scratch_databases(pg_server):
    engine = sa.create_engine(pg_server.url("postgres"), poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        names = [r[0] for r in conn.exec_driver_sql("SELECT datname FROM pg_database")]
    engine.dispose()
    return [n for n in names if n.startswith(SCRATCH_PREFIX)]


@pytest.mark.parametrize("history", ["revisions", "empty"])
def test_env_py_that_ignores_the_url_is_refused(tmp_path, db_url, history):
    """An env.py that hard-codes its database would migrate the real one: refuse.  With no revision
    to walk, verify's comparison with the models ran env.py first, through Alembic's command, and
    created the version table in the real database, then reported OK (SQLite)."""
    if history == "empty":
        example = make_project(tmp_path, "hardcoded_url", [], url=db_url, base=False)
    else:
        example = make_project(tmp_path, "hardcoded_url", GOOD, url=db_url)
    env_py = example.root / "migrations" / "env.py"
    text = env_py.read_text()
    hardcoded = re.sub(
        r"connectable = engine_from_config\(.*?\n        \)",
        f"from sqlalchemy import create_engine\n        connectable = create_engine({db_url!r}, poolclass=pool.NullPool)",
        text,
        flags=re.DOTALL,
    )
    assert hardcoded != text
    env_py.write_text(hardcoded)
    with pytest.raises(Refused, match="not to the scratch database; nothing was migrated"):
        verify(example.reload())
    assert table_names(db_url) == []  # not even the version table


def test_scratch_databases_are_dropped_on_success_and_failure(tmp_path, pg_server, pg_url):
    before = scratch_databases(pg_server)
    good = make_project(tmp_path, "cleanup_good", GOOD, url=pg_url)
    assert all(r.ok for r in verify(good.project).revisions)
    bad = make_project(tmp_path, "cleanup_bad", [Rev("r1", 'op.create_index("ix_users_name", "users", ["name"])', "pass")], url=pg_url)
    assert not verify(bad.project, fail_fast=True).ok
    assert scratch_databases(pg_server) == before


def test_scratch_server_can_differ_from_the_project_database(tmp_path, sqlite_url, pg_server):
    """A SQLite project verified on PostgreSQL: --scratch-url picks the server."""
    example = make_project(tmp_path, "scratch_elsewhere", GOOD, url=sqlite_url)
    report = verify(example.project, scratch_url=pg_server.url("postgres"))
    assert report.dialect == "postgresql" and SCRATCH_PREFIX in report.scratch
    assert [r.status for r in report.revisions] == ["ok", "ok"]
    assert scratch_databases(pg_server) == []


def test_sqlite_scratch_is_a_temporary_file_removed_afterwards(sqlite_url, tmp_path):
    with scratch_database(sqlite_url) as scratch:
        path = scratch.sqlite_path
        assert path.parent != tmp_path  # never the project's own file
        engine = sa.create_engine(scratch.url)
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (id INTEGER)")
        engine.dispose()
        scratch.reset()
        assert not path.exists()
    assert not path.parent.exists()


def test_unsupported_scratch_dialect_is_a_config_error():
    with pytest.raises(ConfigError, match="scratch databases on mssql are not supported"):
        with scratch_database("mssql+pyodbc://user@localhost/app"):
            pass


def test_unreachable_server_is_a_database_error(tmp_path):
    with pytest.raises(DatabaseError, match="to create a scratch database"):
        with scratch_database("postgresql+psycopg://nobody@127.0.0.1:1/app"):
            pass


def test_the_collector_is_left_as_verify_found_it(tmp_path, sqlite_url):
    """verify freezes the objects older than the call out of the garbage
    collector while it runs (a speed measure): nothing of that outlives the
    call, also when it fails, and a caller's own freeze or disabled collector
    is not touched."""
    import gc

    example = make_project(tmp_path, "gc_scope", GOOD, url=sqlite_url, models_extra='Index("ix_users_name", users.c.name)\n')
    seen = []
    assert gc.isenabled() and gc.get_freeze_count() == 0
    report = verify(example.project, progress=lambda r: seen.append(gc.get_freeze_count()))
    assert report.ok, report.lines()
    assert seen and all(count > 0 for count in seen)  # it did freeze while running
    assert gc.isenabled() and gc.get_freeze_count() == 0

    broken = make_project(tmp_path, "gc_scope_broken", [Rev("r1", "raise RuntimeError('boom')")], url=sqlite_url)
    assert not verify(broken.project).ok
    assert gc.isenabled() and gc.get_freeze_count() == 0
    with pytest.raises(ConfigError):  # verify raising out of the call
        verify(example.project, scratch_url="oracle://nowhere/x")
    assert gc.get_freeze_count() == 0

    gc.freeze()  # the caller's own freeze: not added to, not undone
    try:
        frozen = gc.get_freeze_count()
        seen.clear()
        assert verify(example.project, progress=lambda r: seen.append(gc.get_freeze_count())).ok
        assert seen and max(seen) <= frozen  # (frozen objects freed by reference counting leave it)
        assert gc.get_freeze_count() > frozen // 2
    finally:
        gc.unfreeze()
    gc.disable()
    try:
        assert verify(example.project, progress=lambda r: seen.append(gc.get_freeze_count())).ok
        assert not gc.isenabled() and seen[-1] == 0
    finally:
        gc.enable()
