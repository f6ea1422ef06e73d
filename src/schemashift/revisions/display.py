"""Revisions as plain data for the API, and their one-line form for the CLI.

The one-line form follows Alembic's (``down -> rev (head), message``) so that
people and scripts used to ``alembic history`` read ours the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Sequence


def as_tuple(value: Any) -> tuple[str, ...]:
    """A revision attribute that is None, one id or a sequence of ids, as a tuple."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)


@dataclass(frozen=True)
class RevisionInfo:
    """One revision, as the API returns it."""

    revision: str
    down_revisions: tuple[str, ...]
    dependencies: tuple[str, ...]
    branch_labels: tuple[str, ...]
    doc: str
    longdoc: str
    path: str | None
    create_date: str | None
    is_head: bool
    is_base: bool
    is_branch_point: bool
    is_merge_point: bool
    is_current: bool = False
    applied_at: str | None = field(default=None, compare=False)
    branches_into: tuple[str, ...] = ()  # the revisions revising this one, when it is a branch point
    # revisions that name this one in depends_on (not as a down revision): a head they depend on is
    # what Alembic calls an "effective head"
    dependents: tuple[str, ...] = ()

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> "RevisionInfo":
        """``RevisionInfo(*row)``, without the frozen ``__init__``'s setattr per field (5,000 of them make a
        long history: ``revisions.answers`` and ``revisions.fresh`` make them so)."""
        info = object.__new__(cls)
        info.__dict__.update(zip(_ROW_FIELDS, row))
        return info

    @classmethod
    def from_revision(cls, rev: Any, *, current: frozenset[str] | set[str] = frozenset(),
                      dependents: tuple[str, ...] = ()) -> "RevisionInfo":
        return cls(
            revision=rev.revision,
            down_revisions=as_tuple(rev.down_revision),
            dependencies=as_tuple(rev.dependencies),
            branch_labels=tuple(sorted(rev.branch_labels)),
            doc=getattr(rev, "doc", "") or "",
            longdoc=getattr(rev, "longdoc", "") or "",
            path=getattr(rev, "path", None),
            create_date=getattr(rev, "create_date", None),
            is_head=bool(rev.is_head),
            is_base=bool(rev.is_base),
            is_branch_point=bool(rev.is_branch_point),
            is_merge_point=bool(rev.is_merge_point),
            is_current=rev.revision in current,
            branches_into=tuple(sorted(rev.nextrev)) if rev.is_branch_point else (),
            dependents=dependents,
        )

    @property
    def head_flag(self) -> str:
        """``head``, or ``effective head`` for a head other revisions depend on, as Alembic marks them
        in ``heads``, ``history`` and ``current`` (its ``-v`` entries say ``head`` for both)."""
        return "effective head" if self.dependents else "head"

    def one_line(self, *, parents: bool = True, doc: bool = True, tree: bool = True) -> str:
        """``down -> rev (labels) (head) (current) (branchpoint), message``.

        ``tree=False`` leaves out (branchpoint)/(mergepoint), as ``alembic heads`` does.
        """
        text = self.revision
        if parents:
            down = ", ".join(self.down_revisions) if self.down_revisions else "<base>"
            if self.dependencies:
                down += f" ({', '.join(self.dependencies)})"
            text = f"{down} -> {text}"
        if self.branch_labels:
            text += f" ({', '.join(self.branch_labels)})"
        for flag, word in (
            (self.is_head, self.head_flag),
            (self.is_current, "current"),
            (tree and self.is_branch_point, "branchpoint"),
            (tree and self.is_merge_point, "mergepoint"),
        ):
            if flag:
                text += f" ({word})"
        if doc:
            text += f", {self.doc}"
        if self.applied_at:
            text += f" [applied {self.applied_at}]"
        return text

    def head_only(self) -> str:
        """``rev (head) (branchpoint)``: the line of ``current``, as Alembic's ``_head_only``."""
        flags = ((self.is_head, self.head_flag), (self.is_branch_point, "branchpoint"),
                 (self.is_merge_point, "mergepoint"))
        return self.revision + "".join(f" ({w})" for f, w in flags if f)

    def details(self) -> str:
        """The multi-line form of ``show`` and ``-v``: Alembic's ``log_entry``, line for line
        (the docstring indented, blank lines too, and the entry ending in a newline)."""
        flags = " ".join(
            f"({w})"
            for f, w in (
                (self.is_head, "head"),
                (self.is_branch_point, "branchpoint"),
                (self.is_merge_point, "mergepoint"),
                (self.is_current, "current"),
            )
            if f
        )
        lines = [f"Rev: {self.revision}{' ' + flags if flags else ''}"]
        if self.is_merge_point:
            lines.append(f"Merges: {', '.join(self.down_revisions)}")
        else:
            lines.append(f"Parent: {', '.join(self.down_revisions) or '<base>'}")
        if self.dependencies:
            lines.append(f"Also depends on: {', '.join(self.dependencies)}")
        if self.branches_into:
            lines.append(f"Branches into: {', '.join(self.branches_into)}")
        if self.branch_labels:
            lines.append(f"Branch names: {', '.join(self.branch_labels)}")
        if self.path:
            lines.append(f"Path: {self.path}")
        if self.applied_at:
            lines.append(f"Applied: {self.applied_at}")
        lines.append("")
        lines.append("\n".join("    " + ln for ln in self.longdoc.splitlines()))
        return "\n".join(lines) + "\n"


_ROW_FIELDS = tuple(f.name for f in fields(RevisionInfo))  # the fields in order: a row's
