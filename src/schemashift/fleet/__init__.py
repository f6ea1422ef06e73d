"""Fleets: one migration history run over many databases.

A fleet is a list of targets (database URLs, PostgreSQL schemas of one
database, SQLite files by glob).  The same revision target runs over every
one of them in a pool of processes (Alembic's command state is not
thread-safe), each target under its own lock, ledger and transactions.
Groups run in order (canaries first), a journal records which targets are
done so an interrupted run can be resumed, and every target gets its own
result.  The commands themselves (what runs on one target) come from
``schemashift.api``; this package only lists targets and hands them out.
"""

from .executor import FleetEvent, FleetResult, TargetResult, run_fleet
from .journal import Journal
from .targets import ProjectSpec, Target, parse_targets

__all__ = [
    "FleetEvent",
    "FleetResult",
    "Journal",
    "ProjectSpec",
    "Target",
    "TargetResult",
    "parse_targets",
    "run_fleet",
]
