"""Check a conversion against the data before running it.

A type change that cannot hold some existing value either fails halfway
(PostgreSQL: ``invalid input syntax``), or silently changes the value
(SQLite: ``CAST('abc' AS INTEGER)`` is 0; PostgreSQL: ``'abcdef'::varchar(3)``
is ``'abc'``).  Before converting, each ``LossCheck`` counts the rows whose
value would be lost and keeps a few as examples; ``refuse_if_lossy`` raises
``ConversionWouldLoseData`` while any would be, unless the migration says
``allow_loss=True``.  The checks are plain SQL predicates planned by
``safety.casts`` per dialect, so a dry run can print them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from ..errors import Refused
from .run_options import run_option

EXAMPLES = 3
#: ``config.attributes`` key: a run-wide ``allow_loss`` (``schemashift upgrade --allow-loss``).
ALLOW_LOSS_ATTRIBUTE = "schemashift.allow_loss"


def loss_allowed(migration_context: Any, allow_loss: bool) -> bool:
    """The operation's own ``allow_loss``, or the run's override set by the command line."""
    return bool(allow_loss or run_option(migration_context, "allow_loss"))


@dataclass(frozen=True)
class LossCheck:
    """Rows of ``table`` where ``predicate`` is true would lose their ``column`` value."""

    table: str
    column: str
    predicate: str  # SQL over the table's columns
    reason: str  # what is wrong with such a value, e.g. "not an integer"
    schema: str | None = None


@dataclass
class LossReport:
    check: LossCheck
    count: int
    examples: list[Any] = field(default_factory=list)

    def one_line(self) -> str:
        shown = ", ".join(repr(v) for v in self.examples)
        more = ", ..." if self.count > len(self.examples) else ""
        rows = "row" if self.count == 1 else "rows"
        return f"{self.count} {rows} of {self.check.table}.{self.check.column} {self.check.reason} (e.g. {shown}{more})"


class ConversionWouldLoseData(Refused):
    """A conversion would fail on, or change, values in some rows."""

    def __init__(self, reports: Sequence[LossReport]) -> None:
        self.reports = list(reports)
        total = sum(r.count for r in self.reports)
        super().__init__(
            f"conversion would lose data in {total} row{'s' if total != 1 else ''}: "
            + "; ".join(r.one_line() for r in self.reports),
            hint="fix those rows first, or set allow_loss=True on the operation in the migration "
            "or run upgrade --allow-loss (what cannot convert then becomes NULL, or is truncated or rounded)",
        )

    @property
    def count(self) -> int:
        return sum(r.count for r in self.reports)


def _qualified(connection: Any, check: LossCheck) -> str:
    quote = connection.dialect.identifier_preparer.quote
    table = quote(check.table)
    return f"{quote(check.schema)}.{table}" if check.schema else table


def count_loss(connection: Any, check: LossCheck, *, examples: int = EXAMPLES) -> LossReport:
    """Count the rows ``check`` would lose and fetch a few of their values."""
    quote = connection.dialect.identifier_preparer.quote
    source = _qualified(connection, check)
    where = f"({check.predicate})"
    count = connection.exec_driver_sql(f"SELECT count(*) FROM {source} WHERE {where}").scalar()
    found: list[Any] = []
    if count:
        rows = connection.exec_driver_sql(
            f"SELECT {quote(check.column)} FROM {source} WHERE {where} LIMIT {int(examples)}"
        )
        found = [row[0] for row in rows]
    return LossReport(check, int(count or 0), found)


def measure(connection: Any, checks: Iterable[LossCheck]) -> list[LossReport]:
    """Every check's report, losses or not (for plans and dry runs)."""
    return [count_loss(connection, check) for check in checks]


def refuse_if_lossy(connection: Any, checks: Iterable[LossCheck], *, allow_loss: bool = False) -> list[LossReport]:
    """Raise ``ConversionWouldLoseData`` if any check finds rows, unless ``allow_loss``.

    Returns the reports that found rows (an allowed loss is still reported).
    """
    lossy = [r for r in measure(connection, checks) if r.count]
    if lossy and not allow_loss:
        raise ConversionWouldLoseData(lossy)
    return lossy


class NullsInColumn(Refused):
    """A column cannot become NOT NULL while rows hold NULL in it."""

    def __init__(self, report: LossReport) -> None:
        self.report = report
        rows = "row has" if report.count == 1 else "rows have"
        super().__init__(
            f"cannot make {report.check.table}.{report.check.column} NOT NULL: {report.count} {rows} NULL in it",
            hint="fill those rows first (UPDATE ... SET ... WHERE ... IS NULL), or give the column a server default",
        )


def refuse_nulls(connection: Any, table: str, column: str, *, schema: str | None = None) -> None:
    quote = connection.dialect.identifier_preparer.quote
    report = count_loss(connection, LossCheck(table, column, f"{quote(column)} IS NULL", "is NULL", schema))
    if report.count:
        raise NullsInColumn(report)
