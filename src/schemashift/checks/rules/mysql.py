"""MySQL and MariaDB: a revision of several DDL statements is not atomic there.

Both commit each DDL statement (and TRUNCATE) implicitly, so Alembic's
transaction around a revision cannot roll back a statement that ran before a
later one failed; the revision stays half applied while the version table
still names the revision before it.  The rule looks at a revision as a whole
(how many of its operations are DDL), so ``plan`` calls it once per revision.
"""

from __future__ import annotations

from ..actions import Action
from ..findings import Finding
from . import Context

# action kinds that are not DDL (they stay inside the revision's transaction)
NOT_DDL = frozenset({"write", "read", "set", "set_lock_timeout", "delete_all", "unknown", "other"})


def is_ddl(actions: list[Action]) -> bool:
    """Whether one operation (its actions) runs a DDL statement."""
    return any(a.kind not in NOT_DDL for a in actions)


#: the dialects that commit each DDL statement (the only ones ``non_atomic_revision`` speaks for)
NON_ATOMIC_DDL = ("mysql", "mariadb")


def non_atomic_revision(ddl_operations: int, ctx: Context) -> Finding | None:
    """SS-M701 when a revision runs several DDL statements on MySQL/MariaDB."""
    if ctx.name not in NON_ATOMIC_DDL or ddl_operations < 2:
        return None
    return ctx.finding(
        "SS-M701",
        f"runs {ddl_operations} DDL statements, and {ctx.name} commits each at once: if a later one fails, "
        "the earlier ones stay applied and cannot be rolled back (the version stays at the revision before)",
        Action("ddl"),
    )
