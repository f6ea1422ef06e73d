"""``check``: the models compared with the database, as ``revision --autogenerate`` would see them.

Here rather than in ``api`` because ``verify`` (a feature below ``api``) asks
the same question of its scratch database once every revision ran.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from ..config import Project
from ..errors import RevisionError, SchemashiftError
from ..runner import alembic_command, revision_map
from .describe import describe_ops
from .expression_indexes import blind_spot_warnings_hidden
from .pipeline import Options, Pipeline
from .questioner import NonInteractiveQuestioner


@dataclass
class CheckResult:
    """``differences``: one line per op ``revision --autogenerate`` would write (with the same
    options); ``risks``: its risk notes (ops that delete data); ``refusals``: why that
    revision would refuse to be written (a NOT NULL column with no value for its rows)."""

    differences: list[str]
    warnings: list[str] = field(default_factory=list)
    risks: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)

    @property
    def drift(self) -> bool:
        return bool(self.differences)


def check(
    project: Project,
    *,
    renames: Sequence[str] = (),
    not_renamed: Sequence[str] = (),
    accept_renames: bool = False,
    defaults: Sequence[str] = (),
) -> CheckResult:
    """Compare the models with the database; ``differences`` lists what differs.

    The same pipeline as ``revision --autogenerate`` (so ``check`` reports
    every difference ``revision`` would write, and its risk notes), never
    asking: renames are only declared, ``renames``, or with ``accept_renames``
    the clear candidates, so a renamed table reads as one rename, not a drop
    and an add.  ``defaults`` (``posts.slug=VALUE``) fill a NOT NULL column
    added to a table with rows, as for ``revision``; without one the column is
    reported and ``refusals`` says what ``revision`` needs.
    """
    revision_map(project)  # refuses duplicate revision ids, as every command does
    found: list[str] = []
    pipeline = Pipeline(
        Options(
            renames=tuple(renames),
            not_renamed=tuple(not_renamed),
            questioner=NonInteractiveQuestioner(accept_unambiguous=accept_renames),
            defaults=tuple(defaults),
            not_null_required=False,
        )
    )

    def capture(context: Any, rev: Any, directives: list[Any]) -> None:
        pipeline(context, rev, directives)
        for script in directives:
            for ops in script.upgrade_ops_list:
                found.extend(describe_ops(ops))
        directives[:] = []  # write no file

    try:
        with blind_spot_warnings_hidden():
            alembic_command(project, "revision", message="check", autogenerate=True, process_revision_directives=capture)
    except RevisionError as exc:
        if "not up to date" in exc.message.lower():
            raise RevisionError(
                "the database is not at the head revision, so models cannot be compared with it",
                hint=_upgrade_hint(project),
            ) from exc
        raise
    return CheckResult(
        found,
        pipeline.renames.warnings(),
        risks=[line for run in pipeline.runs for line in run.risks],
        refusals=[line for run in pipeline.runs for line in run.notes],
    )


def _upgrade_hint(project: Project) -> str:
    """The command that brings the database to the head(s): 'upgrade heads' when there are several."""
    try:
        count = len(revision_map(project).heads)
    except SchemashiftError:
        count = 1
    if count > 1:
        return (f"run 'schemashift upgrade heads' first (the history has {count} heads; "
                "'schemashift merge heads' joins them)")
    return "run 'schemashift upgrade head' first"
