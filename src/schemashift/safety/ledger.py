"""The ledger: every applied step, with a checksum of the file that ran.

Alembic stores only the current revision id, so a migration edited after it
was applied goes unnoticed.  Beside the version table we keep one row per
step (revision, direction, checksum, when, how long, tool version), written
in the same transaction as the step itself.  ``validate`` compares the
checksums of applied revisions with their files today.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, inspect, select

DEFAULT_TABLE = "schemashift_ledger"
LEDGER_OPTION = "schemashift.ledger_table"

UP, DOWN, STAMP, ADOPT = "up", "down", "stamp", "adopt"


def checksum(path: str | Path) -> str:
    """sha256 of a revision file, blind to line endings and trailing blank lines."""
    data = Path(path).read_bytes().replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return hashlib.sha256(data.rstrip(b"\n") + b"\n").hexdigest()


def _tool_version() -> str:
    from .. import __version__

    return f"schemashift {__version__}"


def ledger_table(name: str = DEFAULT_TABLE, schema: str | None = None) -> Table:
    return Table(
        name,
        MetaData(),
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("revision", String(64), nullable=False, index=True),
        Column("direction", String(8), nullable=False),
        Column("checksum", String(64)),
        Column("applied_at", DateTime(timezone=True), nullable=False),
        Column("duration_ms", Integer),
        Column("tool_version", String(40)),
        schema=schema,
    )


@dataclass
class Entry:
    revision: str
    direction: str
    checksum: str | None
    applied_at: dt.datetime
    duration_ms: int | None
    tool_version: str | None


class Ledger:
    """Reads and writes the ledger table through a migration connection."""

    def __init__(self, name: str = DEFAULT_TABLE, schema: str | None = None) -> None:
        self.table = ledger_table(name, schema)

    def exists(self, connection: Any) -> bool:
        return inspect(connection).has_table(self.table.name, schema=self.table.schema)

    def create(self, connection: Any) -> None:
        self.table.create(connection, checkfirst=True)

    def record(
        self,
        connection: Any,
        revision: str,
        direction: str,
        *,
        path: str | None,
        duration_ms: int | None = None,
    ) -> None:
        connection.execute(
            self.table.insert().values(
                revision=revision,
                direction=direction,
                checksum=checksum(path) if path and Path(path).exists() else None,
                applied_at=dt.datetime.now(dt.timezone.utc),
                duration_ms=duration_ms,
                tool_version=_tool_version(),
            )
        )

    def adopt(self, connection: Any, revisions: Iterable[Any]) -> int:
        """Mark revisions a database already has (migrated by plain Alembic) as adopted."""
        count = 0
        for rev in revisions:
            self.record(connection, rev.revision, ADOPT, path=getattr(rev, "path", None))
            count += 1
        return count

    def entries(self, connection: Any) -> list[Entry]:
        t = self.table
        rows = connection.execute(select(t).order_by(t.c.id)).mappings()
        return [
            Entry(r["revision"], r["direction"], r["checksum"], r["applied_at"], r["duration_ms"], r["tool_version"])
            for r in rows
        ]


@dataclass
class Finding:
    revision: str
    problem: str  # "changed", "missing", "unrecorded"
    path: str | None
    recorded: str | None = None
    actual: str | None = None

    def one_line(self) -> str:
        if self.problem == "changed":
            return f"{self.revision}: {self.path} changed since it was applied"
        if self.problem == "missing":
            return f"{self.revision}: applied, but its file is missing"
        return f"{self.revision}: applied, but not in the ledger (no checksum to compare)"


@dataclass
class ValidationReport:
    applied: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    ledger_exists: bool = True

    @property
    def failed(self) -> list[Finding]:
        return [f for f in self.findings if f.problem in ("changed", "missing")]

    @property
    def ok(self) -> bool:
        return not self.failed


def last_applied(entries: list[Entry]) -> dict[str, Entry]:
    """For each revision, the latest entry that put it in place (up, stamp or adopt)."""
    latest: dict[str, Entry] = {}
    for entry in entries:
        if entry.direction in (UP, STAMP, ADOPT):
            latest[entry.revision] = entry
    return latest


def validate(applied: list[Any], entries: list[Entry], known_ids: set[str]) -> ValidationReport:
    """Compare what was applied with the files now.

    ``applied``: revision objects (with ``path``) that the database has;
    ``known_ids``: ids the version table holds, including any without a file.
    """
    report = ValidationReport(applied=[r.revision for r in applied])
    latest = last_applied(entries)
    for missing in sorted(known_ids - {r.revision for r in applied}):
        report.findings.append(Finding(missing, "missing", None))
    for rev in applied:
        entry = latest.get(rev.revision)
        path = getattr(rev, "path", None)
        if path is None or not Path(path).exists():
            report.findings.append(Finding(rev.revision, "missing", path))
        elif entry is None or entry.checksum is None:
            report.findings.append(Finding(rev.revision, "unrecorded", path))
        else:
            actual = checksum(path)
            if actual != entry.checksum:
                report.findings.append(Finding(rev.revision, "changed", path, entry.checksum, actual))
    return report
