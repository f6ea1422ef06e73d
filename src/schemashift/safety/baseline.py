"""A scratch database that starts where a project's new databases start.

Why: many projects create new databases with ``metadata.create_all()`` and
``alembic stamp head``, and write migrations only from there; their early
revisions may no longer run from an empty database.  ``verify --baseline
REV`` starts each walk from the models' ``create_all()`` stamped at REV.
The models are the ``target_metadata`` env.py hands to ``configure()`` (one
MetaData or a list); the stamp goes through Alembic's public
``MigrationContext.stamp`` in the same env.py run, so the version table is
where env.py puts it.
"""

from __future__ import annotations

from typing import Any

from ..config import Project
from ..errors import ConfigError
from ..runner import RunPolicy, RunState, run_env
from .scratch import Scratch, step_hooks


def create_baseline(target: Project, scratch: Scratch, revision: str) -> None:
    """On the (empty) scratch database: the models' tables, stamped at ``revision``."""
    state = RunState()

    def build(rev: Any, context: Any) -> list[Any]:
        metadata = context.opts.get("target_metadata")
        if metadata is None:
            raise ConfigError(
                "--baseline needs the models: env.py passes no target_metadata to configure()",
                hint="set target_metadata in env.py, or verify without --baseline",
            )
        for md in metadata if isinstance(metadata, (list, tuple)) else [metadata]:
            md.create_all(context.connection)
        context.stamp(state.env.context.script, revision)  # type: ignore[union-attr]
        if context.connection.in_transaction():
            context.connection.commit()
        return []

    run_env(target, build, policy=RunPolicy(connection_hooks=step_hooks(scratch)), state=state)
