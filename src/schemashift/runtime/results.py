"""What a run reports: one ``StepEvent`` per committed step, and the run's result."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class StepEvent:
    """One migration step, reported once its transaction committed."""

    direction: str
    from_revisions: tuple[str, ...]
    to_revisions: tuple[str, ...]
    revision: str
    doc: str
    seconds: float

    def one_line(self) -> str:
        source = ", ".join(self.from_revisions) or "<base>"
        target = ", ".join(self.to_revisions) or "<base>"
        verb = {"up": "Upgraded", "down": "Downgraded"}.get(self.direction, "Stamped")
        doc = " ".join(self.doc.split())  # a docstring with no blank line after its title is one paragraph
        return f"{verb} {source} -> {target}, {doc} ({self.seconds * 1000:.0f} ms)"


@dataclass
class MigrateResult:
    direction: str
    steps: list[StepEvent] = field(default_factory=list)
    sql: str | None = None
    before: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    adopted: int = 0
    warnings: list[str] = field(default_factory=list)
