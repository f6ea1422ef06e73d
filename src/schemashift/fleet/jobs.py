"""What a fleet does on one target: migrate it, read where it is, check it.

Each job is a small frozen dataclass (picklable, so it crosses into a worker
process) called with the target's ``Project`` and a progress callback.  A
failed migration does not stop the job from saying where the target really
is: the version is read back from the database after the failure, so the
matrix shows the last complete revision, not a guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .. import migrate as migrate_mod
from ..errors import SchemashiftError
from ..runner import REVISION_ERRORS, revision_error, run_env
from .executor import Outcome


def read_state(project: Any, *, ledger: bool = False) -> tuple[tuple[str, ...], list[Any] | None]:
    """The version table's heads and (if asked) the ledger's entries, read without writing."""
    seen: dict[str, Any] = {}

    def read(rev: Any, context: Any) -> list[Any]:
        seen["heads"] = tuple(context.get_current_heads())
        if ledger:
            book = migrate_mod.ledger_for(project)
            connection = context.connection
            seen["entries"] = book.entries(connection) if book.exists(connection) else None
        return []

    run_env(project, read, dont_mutate=True)
    return seen.get("heads", ()), seen.get("entries")


def _with_ancestors(rmap: Any, ids: tuple[str, ...]) -> set[str]:
    found: set[str] = set()
    stack = list(ids)
    while stack:
        rev_id = stack.pop()
        if rev_id in found:
            continue
        found.add(rev_id)
        rev = rmap.get_revision(rev_id)
        down = rev.down_revision if rev is not None else None
        stack.extend([down] if isinstance(down, str) else list(down or ()))
    return found


def drift(rmap: Any, heads: tuple[str, ...], wanted: tuple[str, ...]) -> str:
    """Where ``heads`` stand against ``wanted``: up to date, behind N, ahead N, other branch, unknown."""
    unknown = []
    for head in heads:
        try:
            if rmap.get_revision(head) is None:
                unknown.append(head)
        except REVISION_ERRORS:
            unknown.append(head)
    if unknown:
        return f"unknown revision {', '.join(unknown)} (ahead of these files?)"
    want = _with_ancestors(rmap, wanted)
    have = _with_ancestors(rmap, heads)
    missing, extra = len(want - have), len(have - want)
    if not missing and not extra:
        return "up to date"
    if not extra:
        return f"behind {missing}" + (" (at base)" if not heads else "")
    if not missing:
        return f"ahead {extra}"
    return f"other branch ({missing} behind, {extra} ahead)"


def wanted_revisions(project: Any, revision: str) -> tuple[str, ...]:
    rmap = migrate_mod.revision_map(project)
    try:
        return tuple(r.revision for r in rmap.get_revisions(revision) if r is not None)
    except REVISION_ERRORS as exc:
        raise revision_error(exc) from exc


class _Job:
    """What every job shares: the heavy imports, done in the fleet process before workers fork."""

    def prepare(self, targets: Any) -> None:
        import importlib

        from sqlalchemy.engine import make_url

        for module in ("alembic.runtime.migration", "alembic.operations", "alembic.op", "alembic.context", "sqlalchemy.orm"):
            importlib.import_module(module)
        for backend in {target.url.split("://", 1)[0] for target in targets}:
            try:
                make_url(f"{backend}://").get_dialect().import_dbapi()
            except Exception:  # the worker reports a missing driver for its target
                pass


@dataclass(frozen=True)
class Migrate(_Job):
    """Upgrade or downgrade the target to ``revision``."""

    direction: str  # "up" | "down"
    revision: str
    atomic: str = "step"
    lock_timeout: float | None = None
    ignore_checksums: bool = False
    allow: frozenset[str] = frozenset()
    allow_destructive: bool = False
    plan_first: bool = True

    def _gate(self, project: Any) -> Any:
        """As ``upgrade`` does: the plan as a step of the run, taken under the lock on exactly the
        steps that run, on this target's rows; unallowed error findings refuse (exit 5)."""
        from ..checks.plan import Allowances
        from ..checks.refusal import RunGate
        from ..checks.suppress import configured_levels
        from ..redact import redact_url

        allowances = Allowances(self.allow, self.allow_destructive, configured_levels(project))
        return RunGate(self.direction, self.revision, allowances, None, url=redact_url(project.url))

    def __call__(self, project: Any, report: Callable[[str], None]) -> Outcome:
        options = migrate_mod.RunOptions(
            atomic=self.atomic,
            lock_timeout=migrate_mod.lock_timeout_for(project, self.lock_timeout),
            ignore_checksums=self.ignore_checksums,
            gate=self._gate(project) if self.plan_first else None,
        )
        try:
            result = migrate_mod.migrate(project, self.direction, self.revision,
                                         progress=lambda event: report(event.one_line()), options=options)
        except SchemashiftError as exc:
            outcome = Outcome(ok=False, error=exc.one_line(), exit_code=exc.exit_code)
            try:  # where the target really is after the failure
                outcome.after = list(read_state(project)[0])
            except Exception:  # unreachable: the error above already says so
                pass
            from ..checks.refusal import UnsafeOperations

            if isinstance(exc, UnsafeOperations):  # the gate refused before anything ran
                outcome.before = list(outcome.after)
            return outcome
        return Outcome(before=list(result.before), after=list(result.after),
                       steps=[step.revision for step in result.steps])


@dataclass(frozen=True)
class Current(_Job):
    """Read the target's version and say how it stands against ``revision``."""

    revision: str = "heads"

    def __call__(self, project: Any, report: Callable[[str], None]) -> Outcome:
        heads, _ = read_state(project)
        state = drift(migrate_mod.revision_map(project), heads, wanted_revisions(project, self.revision))
        return Outcome(before=list(heads), after=list(heads), state=state)


@dataclass(frozen=True)
class VerifyState(_Job):
    """The target is at ``revision`` and its ledger matches the revision files."""

    revision: str = "heads"

    def __call__(self, project: Any, report: Callable[[str], None]) -> Outcome:
        heads, entries = read_state(project, ledger=True)
        state = drift(migrate_mod.revision_map(project), heads, wanted_revisions(project, self.revision))
        problems = [] if state == "up to date" else [f"not at {self.revision}: {state}"]
        if entries is None:
            problems.append("no ledger (never migrated by schemashift)")
        else:
            report_ = migrate_mod.check_ledger(project, heads, entries)
            problems.extend(finding.one_line() for finding in report_.failed)
        outcome = Outcome(before=list(heads), after=list(heads), state=state, ok=not problems)
        if problems:
            outcome.error, outcome.exit_code = "; ".join(problems), 1
        return outcome


@dataclass(frozen=True)
class PlanRun(_Job):
    """What upgrading (or downgrading) the target to ``revision`` would run and risk; runs nothing.

    Refused-as-unsafe findings (error level, not allowed) fail the target, as they
    would refuse the real run there.
    """

    revision: str = "head"
    direction: str = "up"
    allow: frozenset[str] = frozenset()
    allow_destructive: bool = False

    def __call__(self, project: Any, report: Callable[[str], None]) -> Outcome:
        from ..checks.plan import Allowances, build_plan
        from ..checks.suppress import configured_levels

        heads, _ = read_state(project)
        allowances = Allowances(self.allow, self.allow_destructive, configured_levels(project))
        plan = build_plan(project, self.direction, self.revision, allowances=allowances)
        steps = [r.revision for r in plan.revisions]
        findings = [f for f in plan.findings if not f.allowed_by]
        state = f"{len(steps)} revision(s) to run; {len(findings)} finding(s), worst: {plan.worst()}"
        outcome = Outcome(before=list(heads), after=list(heads), steps=steps, state=state)
        blocking = plan.blocking()
        if blocking:
            outcome.ok, outcome.exit_code = False, 5
            outcome.error = "; ".join(f"{f.rule}: {f.message}" for f in blocking[:3]) + (
                f" (and {len(blocking) - 3} more)" if len(blocking) > 3 else "")
        return outcome
