"""What a failed migration left behind on a database without transactional DDL.

Why: MySQL and MariaDB commit every DDL statement at once (and with it any
row changes made before it in the same transaction); what ran after the
last DDL statement is still in the open transaction and is rolled back with
it.  A failure message must say exactly which statements stayed applied and
which did not, or the user repairs the wrong thing.
"""

from __future__ import annotations

import re
from typing import Sequence

# statements after which MySQL/MariaDB have committed (the implicit commit of DDL)
IMPLICIT_COMMIT = re.compile(r"^\s*(CREATE|ALTER|DROP|RENAME|TRUNCATE|LOCK\s+TABLES|UNLOCK\s+TABLES|GRANT|REVOKE)\b",
                             re.IGNORECASE)
# statements that change nothing (reflection, reads, session settings)
READS = re.compile(r"^\s*(SELECT|SHOW|DESCRIBE|DESC|EXPLAIN|SET\s+(@|SESSION|NAMES|autocommit))\b", re.IGNORECASE)


def split_ran(statements: Sequence[str], failed: str | None, *, every_statement: bool = False) -> tuple[list[str], list[str]]:
    """(stayed applied, rolled back): the writing statements before the failing one.

    ``every_statement``: each statement committed by itself (AUTOCOMMIT), DDL or not.
    """
    ran = [s for s in statements if s]
    if failed is not None and ran and ran[-1] == failed:
        ran.pop()
    writes = [s for s in ran if not READS.match(s)]
    if every_statement:
        return writes, []
    last_commit = max((i for i, s in enumerate(writes) if IMPLICIT_COMMIT.match(s)), default=-1)
    return writes[: last_commit + 1], writes[last_commit + 1 :]


def describe_partial(statements: Sequence[str], failed: str | None, *, every_statement: bool = False) -> str:
    """The hint of a failed migration on a database that commits each DDL statement.

    ``every_statement``: the connection was in AUTOCOMMIT mode, so every
    writing statement before the failing one stayed, DDL or not.
    """
    stayed, undone = split_ran(statements, failed, every_statement=every_statement)
    why = ("env.py's connection commits each statement (AUTOCOMMIT)" if every_statement
           else "this database has no transactional DDL")
    short = lambda items: "; ".join(" ".join(s.split())[:120] for s in items)  # noqa: E731
    text = f"{why}, so these statements of it stayed applied: {short(stayed) or 'none'}"
    if undone:
        text += f"; rolled back: {short(undone)}"
    return text
