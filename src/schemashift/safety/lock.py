"""One migration at a time per database: a lock held for a whole run.

Alembic takes no lock, so app instances that all run ``upgrade`` at start-up
race each other.  We take a database-level lock before Alembic reads the
version table, so a process that waited sees the version its predecessor
left and applies only what is still missing.

- PostgreSQL: a session-level advisory lock on a connection of its own, in
  autocommit (it survives the per-migration commits, never holds a
  transaction open that ``CREATE INDEX CONCURRENTLY`` would wait for, and
  dies with the connection, so a killed process never leaves it behind).
- SQLite: an exclusive ``flock`` on a file beside the database (SQLite's own
  locks last one transaction; ours must span the run), or in the temporary
  directory when the database's directory is read-only.  Never on the
  database file itself: closing another descriptor of that file would drop
  SQLite's POSIX locks.  URI filenames (``sqlite:///file:...?uri=true``) lock
  the file they name.
- MySQL/MariaDB: ``GET_LOCK`` (not exercised by the test suite: no server here).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy import text

from ..errors import LockTimeout

POLL_SECONDS = 0.05
DEFAULT_TIMEOUT = 300.0


@dataclass(frozen=True)
class LockSpec:
    """Which lock a run takes, and how long it may wait for it."""

    name: str
    timeout: float = DEFAULT_TIMEOUT

    @property
    def key(self) -> int:
        """A signed 64-bit key for PostgreSQL's advisory locks."""
        digest = hashlib.sha256(f"schemashift:{self.name}".encode()).digest()
        return int.from_bytes(digest[:8], "big", signed=True)


def _wait(try_once: Callable[[], bool], spec: LockSpec, describe_holder: Callable[[], str], where: str) -> None:
    deadline = time.monotonic() + spec.timeout
    while not try_once():
        if time.monotonic() >= deadline:
            raise LockTimeout(
                f"another migration has held the lock on {where} for more than {spec.timeout:g} s{describe_holder()}",
                hint="wait for it to finish, or raise --lock-timeout",
            )
        time.sleep(POLL_SECONDS)


def _query(connection: Any, sql: str, **params: Any) -> Any:
    """Run one lock query; end the transaction it auto-began (never one env.py began)."""
    began = not connection.in_transaction()
    result = connection.execute(text(sql), params).first()
    if began and connection.in_transaction():
        connection.commit()
    return result


def _postgresql(connection: Any, spec: LockSpec) -> Callable[[], None]:
    key = spec.key

    def try_once() -> bool:
        return bool(_query(connection, "SELECT pg_try_advisory_lock(:k)", k=key)[0])

    def holder() -> str:
        # bigint's << wraps, so the signed key compares as it is
        row = _query(
            connection,
            "SELECT l.pid, a.application_name FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND "
            "((l.classid::bigint << 32) | l.objid::bigint) = :k LIMIT 1",
            k=key,
        )
        return f" (held by backend pid {row[0]}{', ' + row[1] if row and row[1] else ''})" if row else ""

    _wait(try_once, spec, holder, "this PostgreSQL database")

    def release() -> None:
        if connection.closed:
            return
        if connection.in_transaction():
            connection.rollback()  # a failed migration's transaction: the unlock must still run
        _query(connection, "SELECT pg_advisory_unlock(:k)", k=key)

    return release


def sqlite_path(url: Any) -> str | None:
    """The file a SQLite URL names (URI filenames included); None for a private in-memory database."""
    database = url.database
    if not database or database == ":memory:":
        return None
    if database.startswith("file:"):
        parts = urlsplit(database)
        if parse_qs(parts.query).get("mode") == ["memory"]:
            return None
        database = unquote(parts.path)
        if not database or database == ":memory:":
            return None
    return os.path.realpath(database)


def _lock_file(database: str, name: str) -> int:
    """Open the lock file beside the database, or in the temp directory when that one is read-only.

    One file per version table: projects sharing a database under different
    version tables do not wait for each other.
    """
    suffix = "" if name == "alembic_version" else "-" + re.sub(r"[^A-Za-z0-9_.-]", "_", name)
    beside = f"{database}-schemashift{suffix}.lock"
    try:
        return os.open(beside, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        digest = hashlib.sha256(f"{database}{suffix}".encode()).hexdigest()[:16]
        elsewhere = os.path.join(tempfile.gettempdir(), f"schemashift-{digest}.lock")
        return os.open(elsewhere, os.O_RDWR | os.O_CREAT, 0o666)


def _sqlite(connection: Any, spec: LockSpec) -> Callable[[], None] | None:
    return sqlite_lock(connection.engine.url, spec)


def sqlite_lock(url: Any, spec: LockSpec) -> Callable[[], None] | None:
    import fcntl

    database = sqlite_path(url)
    if database is None:
        return None  # a private in-memory database has no other writer
    fd = _lock_file(database, spec.name)

    def try_once() -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def holder() -> str:
        try:
            pid = os.pread(fd, 32, 0).decode(errors="replace").strip()
            return f" (held by process {pid})" if pid else ""
        except OSError:
            return ""

    try:
        _wait(try_once, spec, holder, database)
    except BaseException:
        os.close(fd)
        raise
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)

    def release() -> None:
        os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    return release


def _mysql(connection: Any, spec: LockSpec) -> Callable[[], None]:
    name = f"schemashift:{spec.name}"[:64]

    def try_once() -> bool:
        return _query(connection, "SELECT GET_LOCK(:n, 0)", n=name)[0] == 1

    _wait(try_once, spec, lambda: "", "this MySQL database")

    def release() -> None:
        if not connection.closed:
            _query(connection, "SELECT RELEASE_LOCK(:n)", n=name)

    return release


LOCKS = {"postgresql": _postgresql, "sqlite": _sqlite, "mysql": _mysql, "mariadb": _mysql}


def acquire(connection: Any, spec: LockSpec) -> Callable[[], None] | None:
    """Take the migration lock on ``connection``; return its release, or None when not needed."""
    take = LOCKS.get(connection.dialect.name)
    if take is None:
        return None
    return take(connection, spec)


@dataclass
class HeldLock:
    """A run's lock, and a way to look at the database from outside the migration connection."""

    release: Callable[[], None]
    observer: Callable[[], Any] | None  # a context manager giving a connection other than the migration's


def _side_engine(connection: Any) -> Any:
    """An engine for connections beside the migration's (a sync one when env.py is async)."""
    engine = connection.engine
    if not getattr(connection.dialect, "is_async", False):
        return engine
    from sqlalchemy import create_engine, pool

    sync_driver = {"postgresql": "postgresql+psycopg", "sqlite": "sqlite", "mysql": "mysql+pymysql"}
    url = engine.url.set(drivername=sync_driver.get(engine.url.get_backend_name(), engine.url.get_backend_name()))
    return create_engine(url, poolclass=pool.NullPool)


def take(connection: Any, spec: LockSpec) -> HeldLock:
    """Take the migration lock for the run ``connection`` belongs to, on a connection of its own."""
    name = connection.dialect.name
    engine = _side_engine(connection)
    if name == "sqlite":
        release = sqlite_lock(connection.engine.url, spec) or (lambda: None)
        in_memory = sqlite_path(connection.engine.url) is None

        @contextlib.contextmanager
        def observe() -> Iterator[Any]:
            with engine.connect() as other:
                yield other

        return HeldLock(release, None if in_memory else observe)
    if name not in LOCKS:
        return HeldLock(lambda: None, None)
    side = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        release_lock = LOCKS[name](side, spec)
    except BaseException:
        side.close()
        raise

    def release() -> None:
        try:
            release_lock()
        finally:
            side.close()

    @contextlib.contextmanager
    def observe_side() -> Iterator[Any]:
        yield side

    return HeldLock(release, observe_side)
