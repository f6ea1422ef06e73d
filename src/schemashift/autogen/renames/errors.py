"""Errors of rename detection; they carry data and the CLI words them.

A module of their own, so that code catching them needs none of the pipeline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from ...errors import Refused

if TYPE_CHECKING:  # pragma: no cover
    from .plan import RenameCandidate


class RenameConflict(Refused):
    """A rename cannot be carried out safely (target taken, two renames to one name...)."""

    def __init__(
        self,
        message: str,
        *,
        kind: str,
        schema: str | None = None,
        table: str | None = None,
        old: str | None = None,
        new: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.kind = kind
        self.schema = schema
        self.table = table
        self.old = old
        self.new = new


class UnresolvedRenames(Refused):
    """``--strict``: autogenerate found possible renames nobody decided."""

    def __init__(self, candidates: Sequence["RenameCandidate"]) -> None:
        names = ", ".join(c.spec for c in candidates)
        super().__init__(
            f"{len(candidates)} possible rename(s) left undecided: {names}",
            hint="declare them with renamed_from, pass --rename OLD=NEW, or --accept-renames",
        )
        self.candidates = list(candidates)
