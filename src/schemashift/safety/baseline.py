"""A scratch database that starts where a project's new databases start.

Why: many projects create new databases with ``metadata.create_all()`` and
``alembic stamp head``, and write migrations only from there; their early
revisions may no longer run from an empty database.  ``verify --baseline
REV`` starts each walk from the models' ``create_all()`` stamped at REV.
The models are the ``target_metadata`` env.py hands to ``configure()`` (one
MetaData or a list); ``create_all()`` and the stamp (Alembic's own stamp
steps) run in one transaction of a ``Run``, so the version table is where
env.py puts it.
"""

from __future__ import annotations

from typing import Any

from ..alembic_bridge.steps import stamp_steps
from ..config import Project
from ..errors import ConfigError
from .scratch import Scratch, run_on_scratch


def create_baseline(target: Project, scratch: Scratch, revision: str) -> None:
    """On the (empty) scratch database: the models' tables, stamped at ``revision``,
    in one transaction of a ``Run`` (as ``schemashift stamp`` runs)."""

    def build(context: Any) -> None:
        metadata = context.opts.get("target_metadata")
        if metadata is None:
            raise ConfigError(
                "--baseline needs the models: env.py passes no target_metadata to configure()",
                hint="set target_metadata in env.py, or verify without --baseline",
            )
        for md in metadata if isinstance(metadata, (list, tuple)) else [metadata]:
            md.create_all(context.connection)

    def planner(script: Any, heads: tuple[str, ...]) -> list[Any]:
        return stamp_steps(script, [revision], heads)

    run_on_scratch(target, scratch, "stamp", planner, before_steps=build)
