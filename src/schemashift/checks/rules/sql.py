"""Raw SQL the parser could not read (SS-X601): said, never guessed at."""

from __future__ import annotations

from ..actions import Action
from ..findings import Finding
from . import Context


def check(action: Action, ctx: Context) -> list[Finding]:
    if action.kind == "unknown":
        return [ctx.finding("SS-X601", f"SQL not checked: {action.text[:120]}", action)]
    return []
