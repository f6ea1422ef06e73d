"""The database fixtures themselves: every other test relies on them."""

import os
import pwd
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from pgserver import MISSING_MESSAGE, PgServer, find_bindir

TESTS = Path(__file__).parent


def _rows(url, table="t"):
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(f"SELECT name FROM {table} ORDER BY id")).scalars().all()
    finally:
        engine.dispose()


def _create_and_fill(url, names):
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL)"))
            conn.execute(sa.text("INSERT INTO t (id, name) VALUES (:id, :name)"),
                         [{"id": i, "name": n} for i, n in enumerate(names)])
    finally:
        engine.dispose()


def test_pg_url_keeps_committed_rows(pg_url):
    _create_and_fill(pg_url, ["a", "b", "c"])
    assert _rows(pg_url) == ["a", "b", "c"]  # read back through a new engine


def test_pg_databases_are_isolated(pg_server, pg_url):
    other = pg_server.create_database()
    try:
        other_url = pg_server.url(other)
        assert other_url != pg_url
        _create_and_fill(pg_url, ["only here"])
        assert sa.inspect(sa.create_engine(other_url)).get_table_names() == []
        _create_and_fill(other_url, ["there"])
        assert _rows(pg_url) == ["only here"]
    finally:
        pg_server.drop_database(other)


def test_drop_database_even_with_open_connections(pg_server):
    name = pg_server.create_database()
    engine = sa.create_engine(pg_server.url(name))
    engine.connect()  # left open on purpose, as a careless test would
    pg_server.drop_database(name)
    with pytest.raises(sa.exc.OperationalError):
        sa.create_engine(pg_server.url(name)).connect()


def test_pg_server_shape_and_settings(pg_server, pg_url):
    assert pg_url == f"postgresql+psycopg://postgres@127.0.0.1:{pg_server.port}/{pg_url.rsplit('/', 1)[1]}"
    assert (pg_server.host, pg_server.user) == ("127.0.0.1", "postgres")
    engine = sa.create_engine(pg_url)
    with engine.connect() as conn:
        show = lambda name: conn.execute(sa.text(f"SHOW {name}")).scalar()  # noqa: E731
        assert [show(s) for s in ("fsync", "full_page_writes", "synchronous_commit")] == ["off"] * 3
        assert show("unix_socket_directories") == str(pg_server.base)
        assert conn.execute(sa.text("SELECT current_user")).scalar() == "postgres"
    engine.dispose()
    if os.geteuid() == 0:  # PostgreSQL refuses root: the cluster belongs to postgres
        assert pg_server.data_dir.stat().st_uid == pwd.getpwnam("postgres").pw_uid


def test_sqlite_url_is_a_file(sqlite_url, tmp_path):
    assert sqlite_url == f"sqlite:///{tmp_path / 'test.db'}"
    _create_and_fill(sqlite_url, ["x"])
    assert (tmp_path / "test.db").is_file()
    assert _rows(sqlite_url) == ["x"]


def test_db_url_follows_backend(db_url, backend, request):
    prefix = {"sqlite": "sqlite:///", "postgresql": "postgresql+psycopg://"}[backend]
    assert db_url.startswith(prefix)
    assert (request.node.get_closest_marker("postgres") is not None) == (backend == "postgresql")
    _create_and_fill(db_url, ["fresh"])
    assert _rows(db_url) == ["fresh"]


@pytest.mark.postgres
def test_stop_removes_the_cluster():
    with PgServer() as server:
        base, port = server.base, server.port
        assert (base / "data" / "PG_VERSION").is_file()
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    assert not base.exists()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    server.stop()  # idempotent (atexit calls it again)


def test_find_bindir_prefers_the_override(monkeypatch, tmp_path):
    for exe in ("initdb", "pg_ctl"):
        (tmp_path / exe).write_text("#!/bin/sh\n")
        (tmp_path / exe).chmod(0o755)
    monkeypatch.setenv("SCHEMASHIFT_PG_BIN", str(tmp_path))
    assert find_bindir() == tmp_path
    monkeypatch.setenv("SCHEMASHIFT_PG_BIN", str(tmp_path / "nowhere"))
    assert find_bindir() is None


def test_missing_binaries_fail_loudly_not_skip(tmp_path):
    for name in ("conftest.py", "pgserver.py", "mariadbserver.py"):
        shutil.copy(TESTS / name, tmp_path / name)
    (tmp_path / "test_needs_pg.py").write_text("def test_it(pg_url):\n    pass\n")
    env = {**os.environ, "SCHEMASHIFT_PG_BIN": str(tmp_path / "nowhere")}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "-rA", str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert MISSING_MESSAGE in result.stdout
    assert "1 error" in result.stdout and "skipped" not in result.stdout
