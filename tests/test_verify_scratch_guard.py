"""verify's scratch database is provably scratch (issue 12.1).

The user's database must be byte-for-byte untouched when the URL hides the
database in a query parameter, when --scratch-url names the project's own
database another way (host alias, query parameters, another path to the same
SQLite file), and when verify is interrupted with Ctrl-C.  What a test means
by "untouched": the SQLite file's hash, or every table's rows and the schema
of the PostgreSQL database.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from verify_examples import Rev, make_project

from schemashift import api
from schemashift.errors import Refused
from schemashift.safety.scratch import SCRATCH_PREFIX, Scratch, guard_hook, scratch_database
from schemashift.safety.snapshot import take_snapshot
from schemashift.safety.verify import verify

INDEX_MODEL = 'Index("ix_users_name", users.c.name)\n'
GOOD = [Rev("r1", 'op.create_index("ix_users_name", "users", ["name"])', 'op.drop_index("ix_users_name", table_name="users")')]


def pg_dump(url: str) -> tuple:
    """Every table's rows (sorted) and the schema: what "untouched" compares."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            snapshot = take_snapshot(conn, exclude=()).to_dict()
            names = sa.inspect(conn).get_table_names()
            rows = {
                name: sorted(map(repr, conn.exec_driver_sql(f'SELECT * FROM "{name}"').all())) for name in names
            }
            version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").all()
    finally:
        engine.dispose()
    return snapshot, rows, version


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def with_rows(example) -> None:
    """The project's own database at head, with a user in it."""
    api.upgrade(example.project, "head")
    engine = sa.create_engine(example.url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO users (id, name, email, score) VALUES (7, 'prod', 'p@x', 3)")
    engine.dispose()


def scratch_databases(pg_server) -> list[str]:
    engine = sa.create_engine(pg_server.url("postgres"), poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        names = [r[0] for r in conn.exec_driver_sql("SELECT datname FROM pg_database")]
    engine.dispose()
    return [n for n in names if n.startswith(SCRATCH_PREFIX)]


def cli(root: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "schemashift", *args], cwd=root, capture_output=True, text=True,
        env={**os.environ, **(env or {})}, timeout=300,
    )


def test_database_named_in_the_query_is_never_the_scratch(tmp_path, pg_server):
    """``postgresql+psycopg://u@host/?dbname=prod``: the scratch must not land on prod."""
    name = pg_server.create_database()
    url = f"postgresql+psycopg://{pg_server.user}@127.0.0.1:{pg_server.port}/?dbname={name}"
    example = make_project(tmp_path, "dbname_query", GOOD, url=url, models_extra=INDEX_MODEL)
    with_rows(example)
    before = pg_dump(pg_server.url(name))
    report = verify(example.project)
    assert report.ok, report.lines()
    assert SCRATCH_PREFIX in report.scratch and name not in report.scratch
    assert pg_dump(pg_server.url(name)) == before
    assert scratch_databases(pg_server) == []
    pg_server.drop_database(name)


@pytest.mark.parametrize("spelling", ["localhost", "query"])
def test_scratch_url_that_is_the_project_database_is_refused(tmp_path, pg_server, pg_url, spelling):
    example = make_project(tmp_path, f"same_db_{spelling}", GOOD, url=pg_url)
    with_rows(example)
    before = pg_dump(pg_url)
    name = pg_url.rsplit("/", 1)[1]
    if spelling == "localhost":
        same = pg_url.replace("127.0.0.1", "localhost")
    else:
        same = f"postgresql+psycopg://{pg_server.user}@127.0.0.1:{pg_server.port}/postgres?dbname={name}"
    result = cli(example.root, "verify", "--scratch-url", same)
    assert result.returncode == 5, result.stderr
    assert "is the project's own database" in result.stderr and "Traceback" not in result.stderr
    assert pg_dump(pg_url) == before
    assert scratch_databases(pg_server) == []


def test_sqlite_scratch_url_naming_the_project_file_is_refused(tmp_path):
    example = make_project(tmp_path, "same_file", GOOD, url=f"sqlite:///{tmp_path / 'same_file' / 'app.db'}")
    with_rows(example)
    path = tmp_path / "same_file" / "app.db"
    digest = file_hash(path)
    result = cli(example.root, "verify", "--scratch-url", "sqlite:///./migrations/../app.db")
    assert result.returncode == 5, result.stderr
    assert "is the project's own database" in result.stderr
    assert file_hash(path) == digest


def test_guard_refuses_a_connection_to_another_database(tmp_path):
    """The guard asks the server where the connection is: another file is refused."""
    other = sa.create_engine(f"sqlite:///{tmp_path / 'other.db'}", poolclass=sa.pool.NullPool)
    with scratch_database("sqlite://") as scratch, other.connect() as conn:
        with pytest.raises(Refused, match="not to the scratch database; nothing was migrated"):
            guard_hook(scratch)(conn, None)
    other.dispose()


def test_guard_refuses_a_scratch_that_is_not_empty():
    with scratch_database("sqlite://") as scratch:
        engine = sa.create_engine(scratch.url, poolclass=sa.pool.NullPool)
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE leftover (id INTEGER)")
        scratch.fresh = True
        with engine.connect() as conn:
            with pytest.raises(Refused, match=r"is not empty \(leftover\)"):
                guard_hook(scratch)(conn, None)
            scratch.fresh = False  # later runs of one walk may find tables
            guard_hook(scratch)(conn, None)
        engine.dispose()


def test_scratch_is_proved_empty_on_creation(pg_server):
    """A template database with tables would make "scratch" databases that are not empty."""
    admin = sa.create_engine(pg_server.url("template1"), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.exec_driver_sql("CREATE TABLE planted (id integer)")
    try:
        with pytest.raises(Refused, match="is not empty"):
            with scratch_database(pg_server.url("postgres")):
                pass
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql("DROP TABLE planted")
        admin.dispose()
    assert scratch_databases(pg_server) == []


SLOW = [
    Rev(
        "r1",
        """
        import os, pathlib, time
        pathlib.Path(os.environ["SCHEMASHIFT_TEST_MARKER"]).write_text("started")
        time.sleep(60)
        """,
    )
]


def test_ctrl_c_drops_the_scratch_database(tmp_path, db_url, backend, request):
    example = make_project(tmp_path, "ctrl_c", SLOW, url=db_url)
    api.upgrade(example.project, "r0")
    if backend == "sqlite":
        path = Path(db_url.split("///", 1)[1])
        before = file_hash(path)
    else:
        before = pg_dump(db_url)
    marker = tmp_path / "marker"
    tmp = tmp_path / "tmpdir"
    tmp.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "schemashift", "verify"], cwd=example.root, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
        env={**os.environ, "SCHEMASHIFT_TEST_MARKER": str(marker), "TMPDIR": str(tmp)},
    )
    deadline = time.monotonic() + 120
    while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert marker.exists(), proc.communicate()
    if backend == "postgresql":
        assert len(scratch_databases(request.getfixturevalue("pg_server"))) == 1  # it is there while running
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err  # click words it "Aborted!"/"aborted", our CLI "interrupted"
    if backend == "sqlite":
        assert file_hash(path) == before
        assert [p.name for p in tmp.iterdir() if p.name.startswith("schemashift-scratch")] == []
    else:
        assert pg_dump(db_url) == before
        assert scratch_databases(request.getfixturevalue("pg_server")) == []
