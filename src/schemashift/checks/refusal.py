"""The step ``upgrade``/``downgrade`` take before migrating: plan, then refuse or confirm.

Error-level findings nobody allowed refuse the run (exit 5) with one line per
finding, unless ``confirm`` (the CLI's prompt on a terminal, showing the rows
at stake) says yes.  Allowed findings stay in the plan, marked with who
allowed them.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from ..errors import Refused
from .findings import RULES, Finding
from .plan import Allowances, Plan, plan_revisions


class UnsafeOperations(Refused):
    """The plan has error-level findings nobody allowed."""

    def __init__(self, plan: Plan, findings: Sequence[Finding]) -> None:
        self.plan = plan
        self.findings = list(findings)
        rules = ",".join(sorted({f.rule for f in self.findings}))
        verb = "upgrade" if plan.direction == "up" else "downgrade"
        n = len(self.findings)
        # --allow-destructive covers the destructive family only: offered when it would be enough
        destructive = all(RULES[f.rule].family == "destructive" for f in self.findings if f.rule in RULES)
        super().__init__(
            f"{verb} to {plan.target} refused: {n} unsafe operation{'s' if n != 1 else ''}",
            hint=f"review them with 'schemashift plan {plan.target}"
            f"{' --down' if plan.direction == 'down' else ''}', then rerun with --allow {rules}"
            f"{' or --allow-destructive' if destructive else ''}, "
            "or add '# schemashift: allow RULE -- reason' to the revision",
        )

    def lines(self) -> list[str]:
        out = []
        for f in self.findings:
            where = f" ({f.path}:{f.line})" if f.path and f.line else ""
            out.append(f"refused: {f.one_line()}{where}")
        return out


class UnsafeWhenRun(UnsafeOperations):
    """A revision judged again just before it ran did something the plan could not see."""

    def __init__(self, plan: Plan, findings: Sequence[Finding], revision: str) -> None:
        super().__init__(plan, findings)
        n = len(self.findings)
        self.message = (
            f"{n} unsafe operation{'s' if n != 1 else ''} that the plan before the run could not see: {revision} "
            "decides what to do from the database, and the steps before it changed the database"
        )
        rules = ",".join(sorted({f.rule for f in self.findings}))
        self.hint = f"review them, then rerun with --allow {rules}, or add '# schemashift: allow RULE -- reason' to the revision"


Confirm = Callable[[Plan, list[Finding]], bool]


def gate(plan: Plan, confirm: Confirm | None = None) -> Plan:
    """Refuse unless every error-level finding is allowed or confirmed."""
    blocking = plan.blocking()
    if not blocking:
        return plan
    if confirm is not None and confirm(plan, blocking):
        for finding in blocking:
            finding.allowed_by = "prompt"
        return plan
    raise UnsafeOperations(plan, blocking)


class RunGate:
    """The refusal as a step of the run (``RunOptions.gate``).

    The run calls it with the lock held and the steps it is about to take, so
    the plan judges exactly what runs, on the rows the version was read with;
    the decision (``gate``, which may prompt) comes back to the run, which
    calls it before it writes anything.  ``plan`` keeps what was judged.
    """

    def __init__(self, direction: str, target: str, allowances: Allowances, confirm: Confirm | None,
                 url: str | None = None) -> None:
        self.direction, self.target, self.allowances, self.confirm, self.url = (
            direction, target, allowances, confirm, url)
        self.plan: Plan | None = None

    def __call__(self, steps: Sequence[Any], migration_context: Any) -> Callable[[], None]:
        plan = plan_revisions([step.revision for step in steps], migration_context, direction=self.direction,
                              target=self.target, url=self.url, allowances=self.allowances)
        self.plan = plan

        def decide() -> None:
            gate(plan, self.confirm)

        return decide

    def rejudged(self) -> set[str]:
        """The revisions to judge again when they run: their functions read the database (or raised)."""
        return {r.revision for r in self.plan.revisions if r.depends_on_state} if self.plan is not None else set()

    def recheck(self, script: Any, migration_context: Any) -> None:
        """Judge ``script`` again on the database as it is now, just before it runs.

        The plan judged every revision on the database as the run found it.  A
        revision that reads the database to decide what to do (``if
        has_table(...)``) may do something else once the steps before it have
        changed the database, so its operations are captured again here, in
        the step's own transaction, with live rows.  A finding that the plan
        did not show, and that nobody allowed (a finding confirmed at the
        plan's prompt stays confirmed), refuses the step.  What was judged is
        kept in the plan's ``when_run``, so the result says what ran.
        """
        fresh = plan_revisions([script], migration_context, direction=self.direction, target=self.target,
                               url=self.url, allowances=self.allowances)
        judged = fresh.revisions[0]
        confirmed: set[tuple[str, int | None]] = set()
        if self.plan is not None:
            self.plan.when_run.append(judged)
            for planned in self.plan.revisions:
                if planned.revision == judged.revision:
                    confirmed = {(f.rule, f.line) for f in planned.all_findings() if f.allowed_by == "prompt"}
        blocking = []
        for finding in fresh.blocking():
            if (finding.rule, finding.line) in confirmed:
                finding.allowed_by = "prompt"
            else:
                blocking.append(finding)
        if blocking:  # not asked about: a person's answer would be awaited inside the step's transaction
            raise UnsafeWhenRun(fresh, blocking, judged.revision)


def sql_comments(plan: Plan) -> str:
    """The findings of an offline (--sql) run, as SQL comments: nothing is refused there."""
    lines = []
    for f in plan.findings:
        allowed = f" [allowed: {f.allowed_by}]" if f.allowed_by else ""
        lines.append(f"-- schemashift {f.level}: {f.one_line()}{allowed}")
    return "\n".join(lines) + ("\n" if lines else "")


