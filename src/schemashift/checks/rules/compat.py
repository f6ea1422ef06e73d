"""Backward-incompatible rules: changes old application instances trip over (SS-B3xx).

During a deploy, instances running the previous code keep querying the
database while the migration runs and after it: a renamed table or column,
or a dropped column the models still map, breaks them.
"""

from __future__ import annotations

from ..actions import Action
from ..findings import Finding
from . import Context, t


def check(action: Action, ctx: Context) -> list[Finding]:
    if action.kind == "rename_table":
        return [ctx.finding("SS-B301", f"renames table {t(action)} to {action.new_name}", action)]
    if action.kind == "rename_column":
        return [ctx.finding("SS-B302", f"renames column {t(action)}.{action.column} to {action.new_name}", action)]
    if action.kind == "drop_column" and ctx.direction == "up" and _mapped(ctx, action):
        return [ctx.finding("SS-B303", f"drops column {t(action)}.{action.column}, which the models still map", action)]
    return []


def _mapped(ctx: Context, action: Action) -> bool:
    metadata = ctx.target_metadata
    if metadata is None or not action.table:
        return False
    for md in metadata if isinstance(metadata, (list, tuple)) else [metadata]:
        key = f"{action.schema}.{action.table}" if action.schema else action.table
        table = md.tables.get(key)
        if table is not None and action.column in table.c:
            return True
    return False
