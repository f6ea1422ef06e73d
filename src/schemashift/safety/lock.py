"""One migration at a time per database: a lock held for a whole run.

Alembic takes no lock, so app instances that all run ``upgrade`` at start-up
race each other.  We take a database-level lock before Alembic reads the
version table, so a process that waited sees the version its predecessor
left and applies only what is still missing.

- PostgreSQL: a session-level advisory lock on the migration connection (it
  survives the per-migration commits and dies with the connection, so a
  killed process never leaves it behind).
- SQLite: an exclusive ``flock`` on a file beside the database (SQLite's own
  locks last one transaction; ours must span the run).  Never on the database
  file itself: closing another descriptor of that file would drop SQLite's
  POSIX locks.
- MySQL/MariaDB: ``GET_LOCK`` (not exercised by the test suite: no server here).
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from typing import Any, Callable

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


def _sqlite(connection: Any, spec: LockSpec) -> Callable[[], None] | None:
    import fcntl

    database = connection.engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None  # a private in-memory database has no other writer
    path = os.path.abspath(database) + "-schemashift.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)

    def try_once() -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def holder() -> str:
        try:
            with open(path) as fh:
                pid = fh.read().strip()
            return f" (held by process {pid})" if pid else ""
        except OSError:
            return ""

    try:
        _wait(try_once, spec, holder, database)
    except BaseException:
        os.close(fd)
        raise
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())

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
