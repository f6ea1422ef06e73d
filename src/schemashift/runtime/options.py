"""``RunOptions``: every choice a caller makes about a run, typed, in one object.

The CLI builds one, ``api`` passes it down, the run hands it to Alembic's
``configure`` so custom operations can read it from their migration context
(``options_of(op.get_context())``) instead of a side channel in
``config.attributes``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

from ..errors import RevisionError

DEFAULT_LOCK_TIMEOUT = 300.0
CONTEXT_KEY = "schemashift_options"  # the key under which the options reach MigrationContext.opts

#: A refusal gate: called with the run's planned Alembic steps and a read-only
#: ``MigrationContext`` on the run's connection, while the lock is held and
#: inside the run's first (reading) transaction; returns the decision, called
#: once that transaction ended (the lock still held, nothing written yet), which
#: raises to refuse the run (or None: nothing to decide).
Gate = Callable[[Sequence[Any], Any], "Callable[[], None] | None"]


@dataclass
class RunOptions:
    """How a run protects the database and what it reports."""

    atomic: str = "step"  # "step": a transaction per migration; "run": one for the whole run
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT
    ignore_checksums: bool = False
    ledger: bool = True
    allow_loss: bool = False  # conversions may turn unconvertible values into NULL / cut them
    notice: Callable[[str], None] | None = None  # told things before they happen (e.g. no rollback possible)
    rebuild_progress: Callable[[Any], None] | None = None  # rows copied by a SQLite table rebuild
    gate: Gate | None = None  # looks at exactly the steps that will run, under the lock (the plan's refusal)

    def __post_init__(self) -> None:
        if self.atomic not in ("step", "run"):
            raise RevisionError(f"atomic must be 'step' or 'run', not {self.atomic!r}")


def options_of(migration_context: Any) -> RunOptions | None:
    """The options of the run a migration context belongs to (None under plain Alembic)."""
    opts = getattr(migration_context, "opts", None) or {}
    found = opts.get(CONTEXT_KEY)
    return found if isinstance(found, RunOptions) else None
