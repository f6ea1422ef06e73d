"""``validate --accept REV``: take a reviewed edit of an applied file as its new baseline.

A comment or a fix in a migration that already ran makes every later
``upgrade`` refuse (the ledger's checksum no longer matches), and
``--ignore-checksums`` on every run would hide the next, unreviewed edit.
Accepting writes one ``accept`` row to the ledger (the new checksum, when, and
who), as Flyway's ``repair`` and Atlas's ``migrate hash`` do; the history of
what ran stays: nothing is updated or deleted.
"""

from __future__ import annotations

import getpass
import socket
from dataclasses import dataclass
from typing import Any, Sequence

from ..config import Project
from ..errors import ConfigError, RevisionError
from ..migrate import check_ledger, ledger_for, revision_map
from ..revisions.ids import check_reference
from ..runner import REVISION_ERRORS, RunPolicy, revision_error, run_env


@dataclass
class Accepted:
    revision: str
    path: str
    old_checksum: str | None  # None: applied before the ledger knew its file
    new_checksum: str
    who: str

    def one_line(self) -> str:
        old = (self.old_checksum or "none")[:12]
        if self.old_checksum == self.new_checksum:
            return f"{self.revision}: {self.path} already matches the ledger (nothing to accept)"
        return f"Accepted {self.revision}: {self.path} (checksum {old} -> {self.new_checksum[:12]}, by {self.who})"


def default_actor() -> str:
    """USER@HOST of whoever runs the command."""
    try:
        user = getpass.getuser()
    except Exception:  # no login name (some containers)
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def accept_edits(project: Project, revisions: Sequence[str], who: str | None = None) -> list[Accepted]:
    """Record the current checksum of each applied revision's file in the ledger.

    Refused (nothing written) unless every revision is applied and has its
    file; a revision whose file already matches is reported, not recorded.
    """
    who = who or default_actor()
    rmap = revision_map(project)
    wanted = []
    for rev in revisions:
        check_reference(rev)
        try:
            found = rmap.get_revision(rev)
        except REVISION_ERRORS as exc:
            raise revision_error(exc) from exc
        if found is None:
            raise RevisionError(f"{rev!r} is not a single revision", hint="give a revision id")
        wanted.append(found)
    ledger = ledger_for(project)
    done: list[Accepted] = []

    def write(rev: Any, context: Any) -> list[Any]:
        connection = context.connection
        if connection is None:
            raise ConfigError("validate --accept needs a database connection (not --sql)")
        heads = tuple(context.get_current_heads())
        if not ledger.exists(connection):
            raise RevisionError(
                "the database has no ledger yet: there is no checksum to accept",
                hint="run 'schemashift upgrade' once; it adopts the applied revisions",
            )
        report = check_ledger(project, heads, ledger.entries(connection))
        problems = {f.revision: f for f in report.findings}
        for target in wanted:
            if target.revision not in report.applied:
                raise RevisionError(
                    f"revision {target.revision} is not applied in this database: there is no checksum to accept",
                    hint="accept only applied revisions ('schemashift validate' lists what changed)",
                )
            finding = problems.get(target.revision)
            if finding is not None and finding.problem == "missing":
                raise RevisionError(
                    f"revision {target.revision} is applied but its file is missing", hint="restore the file first"
                )
        for target in wanted:
            finding = problems.get(target.revision)
            if finding is None:
                from .ledger import checksum

                value = checksum(target.path)
                done.append(Accepted(target.revision, target.path, value, value, who))
                continue
            new = ledger.accept(connection, target.revision, target.path, who)
            done.append(Accepted(target.revision, target.path, finding.recorded, new, who))
        if not external and connection.in_transaction():
            connection.commit()
        return []

    external = False

    def note_external(connection: Any, env: Any) -> None:
        nonlocal external
        external = connection.in_transaction()  # env.py began it: its block commits

    # transaction_per_migration: env.py's begin_transaction() opens nothing, so the
    # rows are committed here (or by env.py's own transaction when it began one)
    def attach(connection: Any, env: Any) -> None:
        prepare = getattr(ledger, "prepare", None)  # the ledger's own place (SQLite sidecar)
        if prepare is not None:
            prepare(connection, create=False)

    hooks = [note_external, attach]
    run_env(project, write, policy=RunPolicy(transaction_per_migration=True, connection_hooks=hooks))
    return done
