"""What rename detection did in one autogenerate run, for the CLI and the API to show."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .derived import DerivedRename
from .errors import UnresolvedRenames
from .plan import ColumnRename, RenameCandidate, Resolution, TableRename


@dataclass
class RenameReport:
    """What the rename pipeline did during one or more autogenerate runs."""

    strict: bool = False
    applied_tables: list[TableRename] = field(default_factory=list)
    applied_columns: list[ColumnRename] = field(default_factory=list)
    derived: list[DerivedRename] = field(default_factory=list)
    #: candidates nobody decided (non-interactive, not accepted): each has
    #: ``.suggestion`` (the renamed_from line) and ``.spec`` (the --rename value)
    unresolved: list[RenameCandidate] = field(default_factory=list)
    #: every ambiguous candidate seen (decided or not)
    ambiguous: list[RenameCandidate] = field(default_factory=list)
    rejected: list[RenameCandidate] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def applied(self) -> list[Any]:
        return [*self.applied_tables, *self.applied_columns]

    def warnings(self) -> list[str]:
        """One line per undecided candidate, with the declaration that would apply it."""
        return [c.warning() for c in self.unresolved]

    def lines(self) -> list[str]:
        """Everything worth telling a user, one line each."""
        out = [f"rename {r.describe()}" for r in self.applied]
        out += [f"rename {d.describe()}" for d in self.derived]
        out += [f"warning: {w}" for w in self.warnings()]
        out += [f"note: {n}" for n in self.notes]
        return out

    def raise_for_unresolved(self) -> None:
        if self.unresolved:
            raise UnresolvedRenames(self.unresolved)

    def record(self, candidates: list[RenameCandidate], res: Resolution) -> None:
        """Add the questioner's decisions about ``candidates``."""
        self.unresolved.extend(res.unresolved)
        self.rejected.extend(res.rejected)
        self.ambiguous.extend(c for c in candidates if c.ambiguous)
