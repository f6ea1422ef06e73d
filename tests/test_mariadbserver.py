"""The MariaDB fixtures themselves: the MariaDB tests rely on them."""

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from mariadbserver import MISSING_MESSAGE, MariaDbServer, find_binaries

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
            conn.execute(sa.text("CREATE TABLE t (id INTEGER PRIMARY KEY, name VARCHAR(50) NOT NULL)"))
            conn.execute(sa.text("INSERT INTO t (id, name) VALUES (:id, :name)"),
                         [{"id": i, "name": n} for i, n in enumerate(names)])
    finally:
        engine.dispose()


def test_mariadb_url_keeps_committed_rows_and_databases_are_isolated(mariadb_server, mariadb_url):
    _create_and_fill(mariadb_url, ["a", "b", "ü"])
    assert _rows(mariadb_url) == ["a", "b", "ü"]
    other = mariadb_server.create_database()
    try:
        assert sa.inspect(sa.create_engine(mariadb_server.url(other))).get_table_names() == []
    finally:
        mariadb_server.drop_database(other)


def test_mariadb_server_shape(mariadb_server, mariadb_url):
    name = mariadb_url.rsplit("/", 1)[1].split("?")[0]
    assert mariadb_url == f"mysql+pymysql://root@127.0.0.1:{mariadb_server.port}/{name}?charset=utf8mb4"
    engine = sa.create_engine(mariadb_url)
    with engine.connect() as conn:
        assert "MariaDB" in conn.execute(sa.text("SELECT VERSION()")).scalar()
        assert conn.execute(sa.text("SELECT @@socket")).scalar() == str(mariadb_server.socket_path)
        assert conn.execute(sa.text("SELECT @@innodb_flush_log_at_trx_commit")).scalar() == 0
        assert engine.dialect.name == "mysql" and engine.dialect.is_mariadb
    engine.dispose()
    if os.geteuid() == 0:  # mariadbd refuses root: the data belongs to mysql
        assert mariadb_server.data_dir.stat().st_uid == pwd.getpwnam("mysql").pw_uid


def test_drop_database_even_with_open_connections(mariadb_server):
    name = mariadb_server.create_database()
    engine = sa.create_engine(mariadb_server.url(name))
    conn = engine.connect()  # left open on purpose, as a careless test would
    conn.execute(sa.text("CREATE TABLE x (id INT PRIMARY KEY)"))
    mariadb_server.drop_database(name)
    with pytest.raises(sa.exc.OperationalError):
        sa.create_engine(mariadb_server.url(name)).connect()
    # close the killed connection now: finalised later by the garbage collector, inside
    # an unrelated ast.parse, it trips CPython 3.11's "AST constructor recursion depth" check
    with contextlib.suppress(Exception):
        conn.close()
    engine.dispose()


@pytest.mark.mariadb
def test_stop_removes_the_server():
    with MariaDbServer() as server:
        base, port = server.base, server.port
        assert (base / "data" / "mysql").is_dir()
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    assert not base.exists()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    server.stop()  # idempotent (atexit calls it again)


def test_find_binaries_prefers_the_override(monkeypatch, tmp_path):
    for exe in ("mariadbd", "mariadb-install-db"):
        (tmp_path / exe).write_text("#!/bin/sh\n")
        (tmp_path / exe).chmod(0o755)
    monkeypatch.setenv("SCHEMASHIFT_MARIADB_BIN", str(tmp_path))
    assert find_binaries() == (tmp_path / "mariadbd", tmp_path / "mariadb-install-db")
    monkeypatch.setenv("SCHEMASHIFT_MARIADB_BIN", str(tmp_path / "nowhere"))
    assert find_binaries() is None


def test_missing_binaries_fail_loudly_not_skip(tmp_path):
    for name in ("conftest.py", "pgserver.py", "mariadbserver.py"):
        shutil.copy(TESTS / name, tmp_path / name)
    (tmp_path / "test_needs_mariadb.py").write_text("def test_it(mariadb_url):\n    pass\n")
    env = {**os.environ, "SCHEMASHIFT_MARIADB_BIN": str(tmp_path / "nowhere")}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "-rA", str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert MISSING_MESSAGE in result.stdout
    assert "1 error" in result.stdout and "skipped" not in result.stdout
