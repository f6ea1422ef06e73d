"""Planning a run's steps exactly as ``alembic.command`` does.

Alembic has no public function returning the steps of an upgrade,
downgrade or stamp; its commands call these ``ScriptDirectory`` methods
from the ``fn`` they hand to ``run_migrations``.  We call the same ones.
"""

from __future__ import annotations

from typing import Any, Sequence


def upgrade_steps(script: Any, destination: str, heads: Any) -> list[Any]:
    return list(script._upgrade_revs(destination, heads))  # noqa: SLF001 - as alembic.command.upgrade


def downgrade_steps(script: Any, destination: str, heads: Any) -> list[Any]:
    return list(script._downgrade_revs(destination, heads))  # noqa: SLF001 - as alembic.command.downgrade


def stamp_steps(script: Any, destinations: Sequence[str], heads: Any) -> list[Any]:
    return list(script._stamp_revs(tuple(destinations), heads))  # noqa: SLF001 - as alembic.command.stamp


def run_first(step: Any, prelude: Any) -> None:
    """Make ``step`` call ``prelude()`` just before its revision function, inside its transaction.

    ``MigrationContext.run_migrations`` calls ``step.migration_fn(**kw)``, an
    attribute ``RevisionStep`` sets from the revision's module; it is wrapped
    here, on this step only.
    """
    import functools

    function = step.migration_fn

    @functools.wraps(function)
    def run(*args: Any, **kw: Any) -> Any:
        prelude()
        return function(*args, **kw)

    step.migration_fn = run
