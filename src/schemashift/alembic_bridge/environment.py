"""The one interception of env.py: ``context.configure(...)``.

Alembic runs env.py with ``alembic.context`` proxying to an
``EnvironmentContext``.  Ours is a subclass whose ``configure`` lets the run
see the connection and adjust the keyword arguments before Alembic's own
``configure`` runs; env.py stays exactly as written.

The canary: if env.py reaches ``run_migrations`` but our ``configure`` never
ran (an Alembic release changed how the proxy dispatches), the command stops
before the first step instead of running without lock, ledger or
transactions.
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator

from alembic.runtime.environment import EnvironmentContext

from ..errors import SchemashiftError

ConfigureHook = Callable[[dict[str, Any]], dict[str, Any]]


class AttachError(SchemashiftError):
    """schemashift could not attach to env.py (an Alembic it does not support)."""

    exit_code = 70


def attached_environment(config: Any, script: Any, *, on_configure: ConfigureHook, **kw: Any) -> EnvironmentContext:
    """An Alembic ``EnvironmentContext`` whose ``configure`` first passes through ``on_configure``.

    Alembic installs the context as ``alembic.context`` by class (its proxy
    table is keyed by the exact class), so a subclass would lose the proxy;
    the method is replaced on the instance instead, and env.py's
    ``context.configure(...)`` (a proxy calling the instance's attribute)
    lands here.
    """
    context = EnvironmentContext(config, script, **kw)
    alembic_configure = context.configure
    calls = [0]

    def configure(*args: Any, **kw: Any) -> None:
        if args:  # configure's first positional parameter is the connection
            kw.setdefault("connection", args[0])
        calls[0] += 1
        alembic_configure(**on_configure(kw))

    def check_attached() -> None:
        """The canary: call when env.py is about to run migrations."""
        if not calls[0]:
            import alembic

            raise AttachError(
                "schemashift could not attach to env.py: context.configure() ran without passing through "
                f"schemashift (Alembic {alembic.__version__})",
                hint="install a supported Alembic (see pyproject.toml) and report this",
            )

    context.configure = configure  # type: ignore[method-assign]
    context.schemashift_check_attached = check_attached  # type: ignore[attr-defined]
    return context


def check_attached(context: Any) -> None:
    context.schemashift_check_attached()


@contextlib.contextmanager
def serving(context: Any, migration_context: Any) -> Iterator[None]:
    """While the run plans inside ``configure``, env.py's ``context`` answers with ``migration_context``.

    Alembic sets the ``MigrationContext`` that ``context.get_bind()`` and
    ``context.get_context()`` return only when ``configure`` returns; the
    run's gate captures revisions before that, and a revision (or a module it
    imports, as Airflow's ``db_types``) that asks ``context.get_bind()`` would
    fail there while it works when run.  Nothing is set when one is there.
    """
    if getattr(context, "_migration_context", None) is not None:
        yield
        return
    context._migration_context = migration_context  # noqa: SLF001 - read by get_context()/get_bind()
    try:
        yield
    finally:
        context._migration_context = None  # noqa: SLF001 - configure sets Alembic's own right after
