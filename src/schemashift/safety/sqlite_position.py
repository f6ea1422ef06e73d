"""Where a SQLite database stands, read with the standard library when env.py is schemashift's own.

``current`` prints the database's revision(s); ``graph`` marks them and when
each revision was applied.  The general way to learn that runs env.py (env.py
decides where the database is and what the version table is called), which
imports Alembic's runtime, SQLAlchemy and the models: most of the time of a
``current`` on a small project, several times the cost of drawing 5,000
revisions.  When env.py is byte for byte the file ``schemashift init``
writes, what it would do is known: connect to ``sqlalchemy.url`` from
alembic.ini and use Alembic's default version table.  For a SQLite file URL
that is read here with ``sqlite3``, read-only, in one read transaction over
the database and the ledger's sidecar.  Anything outside that narrow case
(another env.py, ``--url``, ``-x``, a ledger option, a URL with a query, a
file that is missing or locked) returns None and the caller takes the general
way, so this never answers differently.  One thing env.py does is skipped:
importing the models (``schemashift.metadata``), which neither answer needs.
"""

from __future__ import annotations

import configparser
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    import sqlite3

from .ledger_place import DEFAULT_TABLE as LEDGER_TABLE
from .ledger_place import OWN_SCHEMA, SIDECAR_SUFFIX

TEMPLATE_ENV = Path(__file__).resolve().parent.parent / "templates" / "project" / "env.py"
# init's env.py of earlier releases that read a SQLite URL exactly as today's does (sha256): a
# project keeps this answer after upgrading schemashift (the one before: no async branch)
EARLIER_TEMPLATES = frozenset({"87cfb7607a5fcd92f18ce2e69fd95ac2afb00ba57cd7a4ccb1b4b2a679e6b8b3"})
VERSION_TABLE = "alembic_version"  # Alembic's default, which the template keeps
_URL = re.compile(r"^sqlite(?:\+pysqlite)?:///(?P<path>[^?#]+)$")
_WHEN = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
_PUT_IN_PLACE = ("up", "stamp", "adopt")  # safety.ledger.last_applied's directions


class Position(NamedTuple):
    """What env.py would have found: the version table's rows, the ledger's times, and the URL it used."""

    heads: tuple[str, ...]  # as Alembic's get_current_heads(): the version table's rows, in table order
    applied: dict[str, str]  # revision -> "DIRECTION YYYY-MM-DD HH:MM:SS" (safety.ledger.last_applied)
    url: str  # sqlalchemy.url as Alembic's Config reads it (interpolated), not yet redacted


def sqlite_position(ini: Path, section: str) -> Position | None:
    """Where the database stands, or None: ask env.py."""
    try:
        target = _target(ini, section)
        if target is None:
            return None
        import sqlite3  # start-up time: only once env.py and the URL qualify (not for a server's URL)

        try:
            return _read(*target)
        except sqlite3.Error:
            return None
    except (OSError, configparser.Error, UnicodeDecodeError, ValueError):
        return None


def _init_env_py(text: bytes) -> bool:
    """The env.py ``schemashift init`` writes, today's or an earlier release's."""
    if text == TEMPLATE_ENV.read_bytes():
        return True
    import hashlib

    return hashlib.sha256(text).hexdigest() in EARLIER_TEMPLATES


def _target(ini: Path, section: str) -> tuple[Path, str] | None:
    """The SQLite file init's env.py would open, and its URL; None for anything else."""
    parser = configparser.ConfigParser(defaults={"here": os.path.abspath(ini.parent)})
    parser.read(ini, encoding="utf-8")
    if not parser.has_section(section):
        return None
    options = parser.options(section)
    if any(name.startswith("schemashift.ledger") for name in options):
        return None
    location = parser.get(section, "script_location", fallback="")
    if not location or (":" in location and not re.match(r"^[A-Za-z]:[\\/]", location)):
        return None
    if not os.path.isabs(location):  # relative to wherever Alembic is started: not worth guessing
        return None
    if not _init_env_py((Path(location) / "env.py").read_bytes()):
        return None
    url = parser.get(section, "sqlalchemy.url", fallback="")
    match = _URL.match(url)
    if match is None or match["path"] == ":memory:" or "%" in url or "@" in url:
        return None  # %-escapes and "@" are SQLAlchemy's and config.encode_password's to read
    database = Path(match["path"])
    if not database.is_absolute() or not database.is_file():
        return None
    return database, url


def _read(database: Path, url: str) -> Position | None:
    import sqlite3

    sidecar = Path(str(database) + SIDECAR_SUFFIX)
    connection = sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True, timeout=0, isolation_level=None)
    try:
        if sidecar.is_file():
            connection.execute(f"ATTACH DATABASE ? AS {OWN_SCHEMA}", (f"{sidecar.as_uri()}?mode=ro",))
        connection.execute("BEGIN")  # one snapshot of version table and ledger
        heads = tuple(row[0] for row in _rows(connection, "main", VERSION_TABLE, "version_num"))
        legacy = list(_rows(connection, "main", LEDGER_TABLE, "revision, direction, checksum, applied_at"))
        own = list(_rows(connection, OWN_SCHEMA, LEDGER_TABLE, "revision, direction, checksum, applied_at"))
        connection.execute("COMMIT")
    finally:
        connection.close()
    have = {(r[0], r[1], r[2], r[3][:26]) for r in own}
    older = [r for r in legacy if (r[0], r[1], r[2], r[3][:26]) not in have]
    # as Ledger.entries: rows in the main file (an older release's, or a killed run's) merged in time order
    entries = sorted(older + own, key=lambda r: r[3] if isinstance(r[3], str) else "") if older else own
    applied: dict[str, str] = {}
    for revision, direction, _checksum, when in entries:
        if direction in _PUT_IN_PLACE:
            if not isinstance(when, str) or not _WHEN.match(when):
                return None  # a stored form this reader does not know: let SQLAlchemy read it
            applied[revision] = f"{direction} {when[:19]}"
    return Position(heads, applied, url)


def _rows(connection: sqlite3.Connection, schema: str, table: str, columns: str) -> list[tuple]:
    exists = connection.execute(
        f"SELECT 1 FROM {schema}.sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).fetchone() if _attached(connection, schema) else None
    if not exists:
        return []
    order = " ORDER BY id" if table == LEDGER_TABLE else ""
    return connection.execute(f"SELECT {columns} FROM {schema}.{table}{order}").fetchall()


def _attached(connection: sqlite3.Connection, schema: str) -> bool:
    return any(row[1] == schema for row in connection.execute("PRAGMA database_list"))
