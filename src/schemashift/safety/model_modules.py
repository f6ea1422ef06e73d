"""Are all model modules imported when env.py builds its metadata?

Why: a model defined in a module nobody imports is missing from
``target_metadata``; autogenerate then proposes dropping its table.
pytest-alembic checks this (``test_all_models_register_on_metadata``); here
it is a plain function: find the packages the metadata's tables come from,
import every module in them, and report tables that appear only then.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from typing import Any


def _holders(metadata: Any) -> set[str]:
    """Top-level packages of loaded modules that hold ``metadata`` (directly or as ``X.metadata``)."""
    out = set()
    for name, module in list(sys.modules.items()):
        if module is None or name.startswith(("sqlalchemy", "alembic", "schemashift", "_")):
            continue
        for value in list(vars(module).values()):
            if value is metadata or getattr(value, "metadata", None) is metadata:
                out.add(name)
                break
    return out


def unregistered_tables(metadata: Any | list[Any]) -> list[str]:
    """Tables that appear in the metadata only after importing every module of
    the packages its models live in (empty: every model module is registered)."""
    metadatas = list(metadata) if isinstance(metadata, (list, tuple)) else [metadata]
    before = {id(m): set(m.tables) for m in metadatas}
    for md in metadatas:
        for name in _holders(md):
            top = sys.modules.get(name.split(".", 1)[0])
            paths = getattr(top, "__path__", None)
            if paths is None:
                continue  # a single module: nothing else to import
            for info in pkgutil.walk_packages(paths, prefix=f"{top.__name__}."):
                try:
                    importlib.import_module(info.name)
                except Exception:  # a module that cannot be imported registers nothing
                    continue
    return sorted(t for md in metadatas for t in set(md.tables) - before[id(md)])


def target_metadata(project: Any, scratch_url: str | None = None) -> Any:
    """The ``target_metadata`` env.py hands to ``configure()``, read on a scratch database."""
    from ..runner import RunPolicy, run_env
    from .scratch import guard_hook, scratch_database, scratch_project

    found: list[Any] = []

    def capture(rev: Any, context: Any) -> list[Any]:
        found.append(context.opts.get("target_metadata"))
        return []

    with scratch_database(project.url, scratch_url) as scratch:
        run_env(scratch_project(project, scratch), capture, policy=RunPolicy(connection_hooks=[guard_hook(scratch)]))
    return found[0] if found else None
