"""The rules, one module per family; ``evaluate`` runs every family on one action.

Each family is a function ``(action, ctx) -> list[Finding]``.  ``Context``
holds what a rule may know besides the action: the database's dialect and
version, the live facts (rows, columns; absent in ``lint``), the direction,
the models' metadata, and whether a lock_timeout is in force.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..actions import Action
from ..facts import Facts
from ..findings import RULES, Finding


@dataclass
class Context:
    dialect: Any
    direction: str = "up"
    facts: Facts | None = None  # None: no live data (lint)
    pg_version: tuple[int, ...] | None = None
    target_metadata: Any = None
    lock_timeout: bool = False  # a lock_timeout is set for the statements that follow
    revision: str | None = None
    path: str | None = None
    line: int | None = None
    existing_override: bool | None = None  # lint: whether the table existed before the operation
    allow_loss: bool = False  # the run allows lossy conversions (upgrade --allow-loss)

    @property
    def name(self) -> str:
        return self.dialect.name

    def finding(self, rule: str, message: str, action: Action, *, level: str | None = None,
                rows: int | None = None, estimated: bool = False, examples: list[Any] | None = None,
                source: str = "static") -> Finding:
        return Finding(
            rule=rule, level=level or RULES[rule].level, message=message, revision=self.revision, path=self.path,
            line=self.line, direction=self.direction, table=action.table, rows=rows, estimated=estimated,
            examples=list(examples or []), source=source,
        )

    def count(self, action: Action) -> tuple[int | None, bool]:
        """Rows of the action's table now: (rows, estimated); (None, False) when unknown."""
        if self.facts is None or not action.table:
            return None, False
        found = self.facts.count(action.table, action.schema)
        return (found.rows, found.estimated) if found is not None else (None, False)

    def existing(self, action: Action) -> bool:
        """The table exists before the plan touches it (not created by the plan)."""
        if not action.table:
            return False
        if self.existing_override is not None:
            return self.existing_override
        if self.facts is None:
            return True
        return not self.facts.is_new(action.table) and self.facts.exists(action.table, action.schema)


def t(action: Action) -> str:
    return f"{action.schema}.{action.table}" if action.schema else str(action.table)


_FAMILIES: tuple[Any, ...] = ()


def families() -> tuple[Any, ...]:
    """The rule families in the order they speak (imported on first use: they import this module)."""
    global _FAMILIES
    if not _FAMILIES:
        from . import compat, data, destructive, postgres, sql, sqlite

        _FAMILIES = (destructive, data, compat, postgres, sqlite, sql)
    return _FAMILIES


def evaluate(action: Action, ctx: Context) -> list[Finding]:
    out: list[Finding] = []
    for family in _FAMILIES or families():  # once per action of every planned revision: no import statement
        out.extend(family.check(action, ctx))
    return out
