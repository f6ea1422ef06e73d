"""schemashift's autogenerate: Alembic compares, then one pipeline rewrites the result.

``revision --autogenerate`` and ``check`` both run ``process`` (as Alembic's
``process_revision_directives``), so they cannot disagree: ``check`` reports
what ``revision`` would write.  The steps, in order, each a function from
upgrade ops to upgrade ops that reads the database only through the run's
``Snapshot``:

1. ``bookkeeping``  schemashift's own tables (the ledger) are not the project's
2. ``renames``      declared, ``--rename``/``--not-renamed``, detected and decided
                    by the questioner (``autogen/renames/``)
3. ``not_null``     a NOT NULL column added to a table: a default for its rows,
                    or a one-line refusal (``not_null.py``)
4. ``expression_indexes``  on SQLite, the models' expression indexes Alembic cannot
                    compare, created where the database lacks them
                    (``expression_indexes.py``)
5. ``conversions``  PostgreSQL type changes as ``convert_column``, enum values
                    as ``alter_enum`` (``conversions.py``)

The downgrade is then built once: the reverse of this upgrade, plus a typed
tail for what only a downgrade needs (dropping an enum type ``create_table``
made).  The remaining steps lower both directions to what the database can run:

6. ``sqlite_rebuilds``  on SQLite, changes it cannot make in place folded into
                        one ``op.rebuild_table`` per table
7. ``unnamed``          no ``drop_constraint(None)``: the live name, or
                        ``op.drop_constraint_matching``
8. ``risk_notes``       one line per op that removes data, for the report
9. ``imports``          ``import module`` for the project's own types
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable, Sequence

from alembic.operations import ops

from .bookkeeping import bookkeeping_tables, drop_bookkeeping
from .constraints import LiveConstraint, live_constraints, match_live, name_unnamed_drops
from .conversions import convert_types, database_enums, fold_rebuilds, type_imports
from .expression_indexes import add_expression_indexes, database_indexes
from .not_null import NotNullDefaults, fill_not_null
from .questioner import Questioner, default_questioner
from .renames import DatabaseView, DeclaredRenames, RenameReport, apply_renames, declare
from .renames.declared import with_cli_renames, with_not_renamed


@dataclass(frozen=True)
class Options:
    """What the caller decides for one autogenerate (the CLI's flags, as data)."""

    renames: Sequence[str] = ()
    not_renamed: Sequence[str] = ()
    accept_renames: bool = False
    strict: bool = False
    questioner: Questioner | None = None
    #: ``--default posts.slug=VALUE``: one-off defaults for NOT NULL columns added to tables with rows
    defaults: Sequence[str] = ()
    #: False (``check``): a NOT NULL column added to a table with rows and no value is
    #: left as the models have it and noted (``Run.notes``), not refused
    not_null_required: bool = True
    #: always let Alembic diff renamed tables again under their old names (slower fallback)
    full_compare: bool = False

    def __post_init__(self) -> None:
        with_not_renamed(with_cli_renames(DeclaredRenames(), self.renames), self.not_renamed)  # bad specs fail early
        NotNullDefaults.parse(self.defaults)

    def the_questioner(self) -> Questioner:
        return self.questioner or default_questioner(accept_unambiguous=self.accept_renames)


class Snapshot:
    """The database as the steps see it, read through Alembic's MigrationContext.

    Each fact is read at most once, when a step first needs it; steps never
    touch the connection themselves.
    """

    def __init__(self, context: Any, *, full_compare: bool = False) -> None:
        self.context = context
        self.dialect = context.dialect
        self.connection = getattr(context, "connection", None)
        self.renames = DatabaseView(context)
        self.renames.direct = not full_compare
        self._live: dict[Any, list[LiveConstraint]] = {}
        self._rows: dict[Any, bool] = {}
        self._indexes: dict[Any, dict[str, str | None] | None] = {}

    @cached_property
    def enums(self) -> dict[str, tuple[str, ...]]:
        """PostgreSQL enum types and their values."""
        if self.dialect.name != "postgresql" or self.connection is None:
            return {}
        return database_enums(self.connection)

    def live_constraint(self, table: str, ref: Any, schema: str | None) -> LiveConstraint:
        """The constraint ``ref`` describes on ``table`` as it is now (PostgreSQL)."""
        if schema not in self._live:
            self._live[schema] = live_constraints(self.connection, schema=schema)
        return match_live(self._live[schema], table, ref)

    def indexes(self, table: str, schema: str | None) -> dict[str, str | None] | None:
        """Every index of ``table`` on SQLite with its ``CREATE INDEX`` text, expression
        indexes included (None: no such table, or offline)."""
        if self.connection is None or self.dialect.name != "sqlite":
            return None
        key = (schema, table)
        if key not in self._indexes:
            self._indexes[key] = database_indexes(self.connection, table, schema)
        return self._indexes[key]

    def included(self, table: Any, index: Any) -> bool:
        """env.py's ``include_name``/``include_object`` on a table of the models, or one of its indexes."""
        opts = getattr(self.context, "opts", {})
        if table.schema is not None and not opts.get("include_schemas"):
            return False
        name_filter, object_filter = opts.get("include_name"), opts.get("include_object")
        if index is None:
            if name_filter and not name_filter(table.name, "table", {"schema_name": table.schema}):
                return False
            return not object_filter or bool(object_filter(table, table.name, "table", False, None))
        return not object_filter or bool(object_filter(index, index.name, "index", False, None))

    def has_rows(self, table: str, schema: str | None) -> bool:
        """Whether ``table`` holds at least one row (assumed when it cannot be read)."""
        key = (schema, table)
        if key not in self._rows:
            import sqlalchemy as sa

            if self.connection is None or not sa.inspect(self.connection).has_table(table, schema=schema):
                # offline, or a table renamed in this migration: assume rows, so a value is required
                self._rows[key] = True
            else:
                query = sa.select(sa.literal(1)).select_from(sa.table(table, schema=schema)).limit(1)
                self._rows[key] = self.connection.execute(query).first() is not None
        return self._rows[key]


@dataclass
class Run:
    """One autogenerate through the pipeline: its inputs and what the steps report."""

    snapshot: Snapshot
    metadata: Any
    config: Any
    options: Options
    questioner: Questioner
    declared: DeclaredRenames
    renames: RenameReport
    #: ops only the downgrade needs, run after the reverse of the upgrade
    downgrade_tail: list[Any] = field(default_factory=list)
    risks: list[str] = field(default_factory=list)
    #: what ``revision`` would refuse to write (``check`` only: ``Options.not_null_required`` False)
    notes: list[str] = field(default_factory=list)
    imports: set[str] = field(default_factory=set)

    @property
    def dialect(self) -> Any:
        return self.snapshot.dialect


Step = Callable[[ops.UpgradeOps, Run], ops.UpgradeOps]


# ------------------------------------------------------------------ the steps


def step_bookkeeping(up: ops.UpgradeOps, run: Run) -> ops.UpgradeOps:
    return drop_bookkeeping(up, bookkeeping_tables(run.config))


def step_renames(up: ops.UpgradeOps, run: Run) -> ops.UpgradeOps:
    return apply_renames(
        up,
        target_metadata=run.metadata,
        declared=run.declared,
        questioner=run.questioner,
        db=run.snapshot.renames,
        report=run.renames,
    )


def step_not_null(up: ops.UpgradeOps, run: Run) -> ops.UpgradeOps:
    return fill_not_null(
        up,
        defaults=NotNullDefaults.parse(run.options.defaults),
        has_rows=run.snapshot.has_rows,
        questioner=run.questioner,
        dialect=run.dialect,
        missing=None if run.options.not_null_required else (lambda refusal: run.notes.append(refusal.one_line())),
        pending_renames=run.renames.unresolved,
    )


def step_expression_indexes(up: ops.UpgradeOps, run: Run) -> ops.UpgradeOps:
    if run.dialect.name != "sqlite":  # other dialects reflect expressions: Alembic compares them
        return up
    return add_expression_indexes(
        up,
        metadata=run.metadata,
        dialect=run.dialect,
        existing=run.snapshot.indexes,
        include=run.snapshot.included,
        renamed=[r.new_key for r in run.renames.applied_tables],
    )


def step_conversions(up: ops.UpgradeOps, run: Run) -> ops.UpgradeOps:
    out, tail = convert_types(up, dialect=run.dialect, metadata=run.metadata, db_enums=run.snapshot.enums)
    run.downgrade_tail.extend(tail)
    return out


#: Steps that decide what the upgrade does, in order.
UPGRADE_STEPS: tuple[tuple[str, Step], ...] = (
    ("bookkeeping", step_bookkeeping),
    ("renames", step_renames),
    ("not_null", step_not_null),
    ("expression_indexes", step_expression_indexes),
    ("conversions", step_conversions),
)


def drop_moot_alters(container: Any) -> None:
    """Within one table's ops, an ``alter_column`` of a column dropped later in the same
    table's ops changes nothing (a reversed one-off default, for one): removed, in place."""
    for table_ops in container.ops:
        if not isinstance(table_ops, ops.ModifyTableOps):
            continue
        kept: list[Any] = []
        for i, op in enumerate(table_ops.ops):
            later = table_ops.ops[i + 1 :]
            if (
                isinstance(op, ops.AlterColumnOp)
                and op.modify_name is None
                and any(isinstance(x, ops.DropColumnOp) and x.column_name == op.column_name for x in later)
            ):
                continue
            kept.append(op)
        table_ops.ops = kept


def lower(container: Any, run: Run, *, upgrade: bool) -> None:
    """Steps 6-7 on one direction (in place): SQLite rebuild folding, then unnamed constraints."""
    drop_moot_alters(container)
    fold_rebuilds(container, run.dialect)
    live = run.snapshot.live_constraint if upgrade and run.dialect.name == "postgresql" else None
    name_unnamed_drops(container, live)


def risk_notes(container: Any) -> list[str]:
    """Step 8: one line per op of ``container`` that removes data (lint judges them further)."""
    from .describe import describe_op

    out = []
    for op in container.ops:
        for line in describe_op(op):
            if line.startswith(("drop table", "drop column")):
                out.append(f"{line}: its data is deleted")
    return out


def build_downgrade(up: ops.UpgradeOps, tail: Sequence[Any] = ()) -> ops.DowngradeOps:
    """The downgrade: the reverse of the final upgrade, then the typed tail."""
    return ops.DowngradeOps(ops=[*up.reverse().ops, *tail])


def run_steps(up: ops.UpgradeOps, run: Run) -> tuple[ops.UpgradeOps, ops.DowngradeOps]:
    """Every step on one upgrade; returns the final upgrade and its downgrade."""
    for _name, step in UPGRADE_STEPS:
        up = step(up, run)
    down = build_downgrade(up, run.downgrade_tail)
    lower(up, run, upgrade=True)
    lower(down, run, upgrade=False)
    run.risks.extend(risk_notes(up))
    run.imports |= type_imports(up) | type_imports(down)
    return up, down


# ------------------------------------------------------------------ Alembic's hook


class Pipeline:
    """The pipeline as Alembic's ``process_revision_directives``; ``runs`` holds each run's report.

    A migration script is processed once, even when two hooks see it (an
    env.py that enables ``schemashift.autogen.hook`` and schemashift's own
    commands): the script carries its ``Run`` as ``schemashift_run``.
    """

    def __init__(self, options: Options | None = None) -> None:
        self.options = options or Options()
        self.runs: list[Run] = []
        #: what rename detection did, over every run of this pipeline
        self.renames = RenameReport(strict=self.options.strict)

    def __call__(self, context: Any, revision: Any, directives: list[Any]) -> None:
        metadata = context.opts.get("target_metadata")
        for script in directives:
            done = getattr(script, "schemashift_run", None)
            if done is not None:
                continue
            run = Run(
                snapshot=Snapshot(context, full_compare=self.options.full_compare),
                metadata=metadata,
                config=getattr(context, "config", None),
                options=self.options,
                questioner=self.options.the_questioner(),
                declared=declare(metadata, self.options.renames, self.options.not_renamed),
                renames=self.renames,
            )
            # in place: the containers keep their tokens, and callers holding them see the result
            for up, down in zip(script.upgrade_ops_list, script.downgrade_ops_list):
                final, reverse = run_steps(ops.UpgradeOps(ops=list(up.ops)), run)
                up.ops[:] = final.ops
                down.ops[:] = reverse.ops
            script.imports.update(run.imports)
            script.schemashift_run = run
            self.runs.append(run)
            if self.options.strict:
                run.renames.raise_for_unresolved()


def is_empty(script: Any) -> bool:
    """Whether an autogenerated script changes nothing."""
    return all(up.is_empty() for up in script.upgrade_ops_list)


__all__ = [
    "Options",
    "Pipeline",
    "Run",
    "Snapshot",
    "UPGRADE_STEPS",
    "build_downgrade",
    "is_empty",
    "run_steps",
]
