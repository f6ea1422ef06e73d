"""The migration commands: upgrade, downgrade and stamp.

Each builds a ``runtime.run.Run`` (which owns transactions, the lock and the
ledger) with a planner that asks Alembic for the steps exactly as
``alembic.command`` would, and runs env.py with it.
"""

from __future__ import annotations

import io
import re
from typing import Any, Callable, Sequence

from .alembic_bridge.steps import downgrade_steps, stamp_steps, upgrade_steps
from .config import Project
from .errors import RevisionError, RevisionFileError
from .revisions.ids import check_reference
from .revisions.index import RevisionIndex, one_scan
from .runner import (
    REVISION_ERRORS,
    check_revision_ids,
    revision_error,
    revision_map,
    run_env,
    script_directory,
)
from .runtime.options import RunOptions
from .runtime.results import MigrateResult, StepEvent
from .runtime.run import Run, applied_revisions as applied_in_script
from .safety import ledger as ledger_mod
from .safety import lock as lock_mod
from .safety import mysql_alter  # noqa: F401 - registers alter_column that completes MySQL column specs

__all__ = ["MigrateResult", "RunOptions", "StepEvent", "migrate", "stamp"]


def ledger_for(project: Project) -> ledger_mod.Ledger:
    return ledger_mod.Ledger.for_config(project.config)


def lock_timeout_for(project: Project, given: float | None) -> float:
    if given is not None:
        return given
    value = project.config.get_main_option("schemashift.lock_timeout")
    return float(value) if value else lock_mod.DEFAULT_TIMEOUT


def _check_ledger_in(
    script: Any, heads: Sequence[str], recorded: dict[str, str | None], checksum_of: Any
) -> ledger_mod.ValidationReport:
    return ledger_mod.validate_recorded(applied_in_script(script, heads), recorded, set(heads), checksum_of=checksum_of)


def _run(
    project: Project,
    direction: str,
    options: RunOptions,
    planner: Callable[[Any, tuple[str, ...]], list[Any]],
    progress: Callable[[StepEvent], None] | None,
    sql: bool,
    output: Any,
    **context_kw: Any,
) -> MigrateResult:
    def plan(script: Any, heads: tuple[str, ...]) -> list[Any]:
        try:
            return planner(script, heads)  # a bad target fails here, before any write
        except REVISION_ERRORS as exc:
            raise revision_error(exc) from exc
        except AttributeError as exc:  # Alembic reads upgrade()/downgrade() off each module it plans
            module = getattr(exc, "obj", None)
            if exc.name in ("upgrade", "downgrade") and getattr(module, "__file__", None):
                raise RevisionFileError(
                    module.__file__, f"it has no {exc.name}() function",
                    hint=f"add def {exc.name}(): to the revision (pass if there is nothing to do)",
                ) from exc
            raise

    run = Run(
        direction=direction,
        options=options,
        plan=plan,
        ledger=ledger_for(project),
        check_ledger=_check_ledger_in,
        url=project.url,
        url_source=project.url_source,
        progress=progress,
    )

    def steps(rev: Any, context: Any) -> list[Any]:
        return run.steps_for(context.script, tuple(rev) if rev else (), purged=bool(getattr(context, "purge", False)))

    buffer = io.StringIO() if sql and output is None else output
    if sql:
        from .safety.offline_sqlite import offline_output  # only --sql needs it (start-up time of a run)

        # SQLite: a shadow database follows the SQL so rebuilds can render; nothing printed unless all renders
        shadow_upgrade = lambda target, rev: migrate(target, "up", rev)  # noqa: E731
        with offline_output(project, buffer, context_kw.get("starting_rev"), shadow_upgrade) as context_kw["output_buffer"]:
            run_env(project, steps, run=run, as_sql=sql, **context_kw)
    else:
        run_env(project, steps, run=run, as_sql=sql, **context_kw)
    result = run.result
    if sql and output is None:
        result.sql = buffer.getvalue()  # type: ignore[union-attr]
    return result


def _applied_revisions(project: Project, heads: Sequence[str]) -> list[Any]:
    rmap = revision_map(project)
    known = [h for h in heads if _exists(rmap, h)]
    if not known:
        return []
    return list(rmap.iterate_revisions(tuple(known), "base", assert_relative_length=False))


def _exists(rmap: Any, rev_id: str) -> bool:
    try:
        return rmap.get_revision(rev_id) is not None
    except REVISION_ERRORS:
        return False


def check_ledger(project: Project, heads: Sequence[str], entries: list[Any]) -> ledger_mod.ValidationReport:
    """Applied revisions (ancestors of ``heads``) whose files changed or vanished.

    Checksums come from the revision index (a file is hashed again only when it changed).
    """
    applied = _applied_revisions(project, heads)
    try:
        checksum_of = RevisionIndex(script_directory(project)).checksums().get
    except REVISION_ERRORS + (RevisionFileError,):
        checksum_of = None
    return ledger_mod.validate(applied, entries, set(heads), checksum_of=checksum_of)


# ------------------------------------------------------------------ targets

_SPECIAL_TARGETS = {"", "head", "heads", "base", "current"}
_RELATIVE = re.compile(r"^(.*?)([+-]\d+)$")


def precheck_targets(project: Project, targets: Sequence[str | None]) -> None:
    """Resolve each target's revision part before touching the database.

    Alembic reports an ambiguous partial id as "Can't locate revision"; the
    revision map says which revisions it matched, so ask it first.
    """
    idents = []
    for target in targets:
        if target is None:
            continue
        check_reference(target, "target")
        match = _RELATIVE.match(target)
        ident = match.group(1) if match else target
        ident = ident.split("@", 1)[0]  # branch@head: let Alembic resolve the branch
        if ident.lower() not in _SPECIAL_TARGETS:
            idents.append(ident)
    if not idents:  # head, base, +N: Alembic resolves them in the run, before any write
        check_revision_ids(project)  # duplicate revision ids refused before any run
        return
    rmap = revision_map(project, check_syntax=False)  # also refuses duplicate revision ids, before any run
    for ident in idents:
        try:
            rmap.get_revisions(ident)
        except REVISION_ERRORS as exc:
            if "no such revision" in str(exc).lower() and _env_py_picks_versions(project):
                continue  # the run resolves it among the versions env.py chose, before writing anything
            raise revision_error(exc) from exc


def _env_py_picks_versions(project: Project) -> bool:
    """env.py sets ``context.script.version_locations`` itself (Prefect's picks a folder per dialect):
    the revisions it runs are known only once it has run."""
    try:
        return "version_locations" in (project.script_location / "env.py").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False


# ------------------------------------------------------------- the commands


@one_scan()  # per call: the target check, the plan and the run's checksums share one scan of the files
def migrate(
    project: Project,
    direction: str,
    revision: str,
    *,
    sql: bool = False,
    tag: str | None = None,
    progress: Callable[[StepEvent], None] | None = None,
    output: Any = None,
    options: RunOptions | None = None,
) -> MigrateResult:
    """Upgrade (``direction="up"``) or downgrade to ``revision``."""
    options = options or RunOptions()
    starting_rev = None
    if ":" in revision:
        if not sql:
            raise RevisionError(f"a range ({revision}) is only allowed with --sql", hint="give a single target revision")
        starting_rev, revision = revision.split(":", 1)
    elif direction == "down" and sql:
        raise RevisionError("downgrade with --sql needs a range", hint="e.g. schemashift downgrade --sql head:base")
    precheck_targets(project, (starting_rev, revision))

    def planner(script: Any, heads: tuple[str, ...]) -> list[Any]:
        if direction == "up":
            return upgrade_steps(script, revision, heads)
        return downgrade_steps(script, revision, heads)

    return _run(
        project, direction, options, planner, progress, sql, output,
        starting_rev=starting_rev, destination_rev=revision, tag=tag,
    )


@one_scan()
def stamp(
    project: Project,
    revisions: Sequence[str],
    *,
    sql: bool = False,
    purge: bool = False,
    tag: str | None = None,
    output: Any = None,
    options: RunOptions | None = None,
) -> MigrateResult:
    """Record ``revisions`` in the version table without running migrations."""
    destinations = list(revisions)
    starting_rev = None
    if sql:
        starts = {r.split(":", 1)[0] for r in destinations if ":" in r}
        if len(starts) > 1:
            raise RevisionError("stamp with --sql supports one starting revision at a time")
        starting_rev = next(iter(starts), None)
        destinations = [r.split(":", 1)[-1] for r in destinations]
    precheck_targets(project, [starting_rev, *destinations])

    def planner(script: Any, heads: tuple[str, ...]) -> list[Any]:
        return stamp_steps(script, destinations, heads)

    return _run(
        project, "stamp", options or RunOptions(), planner, None, sql, output,
        starting_rev=starting_rev, destination_rev=tuple(destinations), tag=tag, purge=purge,
    )
