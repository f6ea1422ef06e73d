"""The one place conversions and rebuilds read run-wide options set by the command line.

Today they travel in ``config.attributes["schemashift.<name>"]``
(``allow_loss`` for ``upgrade --allow-loss``, ``rebuild_progress`` for the
progress callback); when the run carries typed options instead, only
``run_option`` changes.
"""

from __future__ import annotations

from typing import Any


def run_option(migration_context: Any, name: str) -> Any:
    """The run's option ``name`` (``allow_loss``, ``rebuild_progress``), or None when not set."""
    from ..runtime.options import options_of  # the run's typed options (RunOptions)

    options = options_of(migration_context)
    value = getattr(options, name, None) if options is not None else None
    if value:
        return value
    config = getattr(migration_context, "config", None)  # callers still setting the attribute
    return None if config is None else config.attributes.get(f"schemashift.{name}")
