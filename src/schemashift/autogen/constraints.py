"""Unnamed constraints: name them once, and never render ``drop_constraint(None, ...)``.

A constraint created without a name cannot later be dropped or changed by
name: Alembic writes ``op.drop_constraint(None, ...)`` and the migration dies
with ``Constraint must have a name``.  Two tools here:

- ``naming_directives`` (used by ``api.name_constraints``) makes a migration giving every unnamed
  primary key, foreign key, unique and check constraint in the live database
  the name the models' naming convention assigns (SQLAlchemy's own ``conv``
  machinery computes it; a matching constraint in the models wins, so
  autogenerate sees no difference afterwards).  On PostgreSQL, which names
  every constraint itself, "unnamed" means a name PostgreSQL generated
  (``students_pkey``, ``students_name_key``, ``students_grade_check``,
  ``students_teacher_id_fkey``); they are renamed in place with ``ALTER TABLE
  ... RENAME CONSTRAINT``.  On SQLite the constraints really have no name;
  the table is rebuilt with ``op.rebuild_table`` (every row kept).  The
  downgrade reverses both.
- ``name_unnamed_drops`` is a step of the autogenerate pipeline
  (``autogen/pipeline.py``): a ``drop_constraint`` without a name becomes the constraint's real name when
  the database has it now, or ``op.drop_constraint_matching(...)``, which finds
  the name when the migration runs (on SQLite: a rebuild dropping it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

import sqlalchemy as sa
from alembic.autogenerate import renderers
from alembic.operations import MigrateOperation, Operations, ops
from sqlalchemy.types import NullType

from ..alembic_bridge.ops import named_drop_constraint, restore_of_drop
from ..errors import SchemashiftError
from .bookkeeping import bookkeeping_tables
from ..safety.sqlite_ddl import ConstraintRef, parse_create_table
from ..schema.sql import normalize_sql, unquote

from ..schema.kinds import ALEMBIC_TYPES, KIND_OF_TYPE, PG_CONTYPE
OPS_IMPORT = "import schemashift.autogen.constraints  # noqa: F401  (op.rename_constraint, op.drop_constraint_matching)"


class ConstraintNotFound(SchemashiftError):
    """No (or more than one) constraint matches what a migration describes."""


@dataclass(frozen=True)
class LiveConstraint:
    """A constraint as the database has it."""

    table: str
    kind: str  # primary, unique, check, foreign
    name: str | None
    columns: tuple[str, ...] = ()
    check: str | None = None
    referred_table: str | None = None
    referred_columns: tuple[str, ...] = ()
    schema: str | None = None

    def ref(self) -> ConstraintRef:
        """How a migration finds it again when it has no name."""
        if self.kind == "check":
            return ConstraintRef(kind="check", check=self.check)
        return ConstraintRef(kind=self.kind, columns=self.columns, referred_table=self.referred_table)

    def describe(self) -> str:
        what = {"primary": "primary key", "unique": "unique", "check": "check", "foreign": "foreign key"}[self.kind]
        detail = f"({self.check})" if self.kind == "check" else f"({', '.join(self.columns)})"
        return f"{self.table} {what} {detail}"


@dataclass(frozen=True)
class ConstraintNaming:
    constraint: LiveConstraint
    new_name: str


@dataclass
class NamingPlan:
    namings: list[ConstraintNaming] = field(default_factory=list)
    skipped: list[tuple[LiveConstraint, str]] = field(default_factory=list)  # (constraint, why)
    convention_source: str = "models"  # "models", "default" (schemashift's), or the --convention spec


# ------------------------------------------------------------------ reading the database


def _sqlite_constraints(connection: Any, exclude: set[str]) -> list[LiveConstraint]:
    from ..safety.rebuild import ordinary_tables  # virtual tables and their shadow tables left out

    found = []
    for table, sql in ordinary_tables(connection):
        if table in exclude:
            continue
        definition = parse_create_table(sql)
        for _owner, cons in definition.constraints():
            found.append(
                LiveConstraint(
                    table, cons.kind, cons.name, tuple(cons.columns), cons.check,
                    cons.referred_table, tuple(cons.referred_columns),
                )
            )
    return found


_PG_KIND = {contype: kind for kind, contype in PG_CONTYPE.items()}


def _pg_constraints(connection: Any, exclude: set[str], schema: str | None) -> list[LiveConstraint]:
    rows = connection.exec_driver_sql(
        """
        SELECT c.relname, k.contype, k.conname,
               ARRAY(SELECT a.attname FROM unnest(k.conkey) WITH ORDINALITY AS u(n, i)
                     JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY u.i),
               pg_get_constraintdef(k.oid),
               r.relname,
               ARRAY(SELECT a.attname FROM unnest(k.confkey) WITH ORDINALITY AS u(n, i)
                     JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n ORDER BY u.i)
        FROM pg_constraint k
        JOIN pg_class c ON c.oid = k.conrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_class r ON r.oid = k.confrelid
        WHERE n.nspname = coalesce(%(schema)s, current_schema()) AND k.contype IN ('p', 'u', 'c', 'f')
        ORDER BY c.relname, k.conname
        """,
        {"schema": schema},
    ).fetchall()
    found = []
    for table, contype, name, cols, definition, referred, refcols in rows:
        if table in exclude:
            continue
        check = None
        if contype == "c":
            match = re.match(r"CHECK \((.*)\)( NOT VALID)?$", definition, re.S)
            check = match.group(1) if match else definition
        found.append(
            LiveConstraint(table, _PG_KIND[contype], name, tuple(cols or ()), check, referred, tuple(refcols or ()), schema)
        )
    return found


def live_constraints(connection: Any, *, exclude: Iterable[str] = (), schema: str | None = None) -> list[LiveConstraint]:
    """Every primary key, unique, check and foreign key constraint in the database."""
    skip = set(exclude)
    if connection.dialect.name == "sqlite":
        return _sqlite_constraints(connection, skip)
    if connection.dialect.name == "postgresql":
        return _pg_constraints(connection, skip, schema)
    raise SchemashiftError(f"naming constraints is not supported on {connection.dialect.name}")


PG_SUFFIX = {"primary": "pkey", "unique": "key", "check": "check", "foreign": "fkey"}


def looks_generated(constraint: LiveConstraint, max_length: int = 63) -> bool:
    """Is this a name PostgreSQL chose itself (``<table>[_<columns>]_<pkey|key|check|fkey>[N]``)?

    PostgreSQL truncates the table and column parts to fit 63 bytes, so
    only a (possibly truncated) table-name prefix is required.
    """
    name = constraint.name
    if name is None:
        return True
    suffix = PG_SUFFIX[constraint.kind]
    if not re.search(rf"_{suffix}\d*$", name):
        return False
    table = constraint.table
    if constraint.kind == "primary":
        return re.fullmatch(rf"{re.escape(table[: max_length - 5])}_pkey\d*", name) is not None
    prefix_len = min(len(table), max(1, (max_length - len(suffix) - 2) // 2))
    return name.startswith(table[:prefix_len])


def is_unnamed(constraint: LiveConstraint, dialect_name: str) -> bool:
    if dialect_name == "postgresql":
        return looks_generated(constraint)
    return constraint.name is None


# ------------------------------------------------------------------ choosing names


def _metadata_match(metadata: sa.MetaData | None, live: LiveConstraint) -> sa.Constraint | None:
    if metadata is None:
        return None
    table = metadata.tables.get(f"{live.schema}.{live.table}" if live.schema else live.table)
    if table is None:
        return None
    for cons in table.constraints:
        kind = {
            sa.PrimaryKeyConstraint: "primary", sa.UniqueConstraint: "unique",
            sa.CheckConstraint: "check", sa.ForeignKeyConstraint: "foreign",
        }.get(type(cons))
        if kind != live.kind:
            continue
        if kind == "check":
            if normalize_sql(str(cons.sqltext), key=True) == normalize_sql(live.check or "", key=True):
                return cons
            continue
        cols = tuple(c.name for c in cons.columns) if kind != "foreign" else tuple(cons.column_keys)
        if tuple(c.lower() for c in cols) != tuple(c.lower() for c in live.columns):
            continue
        if kind == "foreign" and (cons.referred_table.name.lower() != (live.referred_table or "").lower()):
            continue
        return cons
    return None


def _check_token(live: LiveConstraint, columns: Sequence[str]) -> str:
    """A ``%(constraint_name)s`` for a check that has none: the columns it mentions."""
    names = {c.lower(): c for c in columns}
    used = []
    for word in re.findall(r'"([^"]+)"|([A-Za-z_][A-Za-z0-9_]*)', live.check or ""):
        name = (word[0] or word[1]).lower()
        if name in names and names[name] not in used:
            used.append(names[name])
    return "_".join(used) or "check"


def convention_name(
    live: LiveConstraint,
    naming_convention: dict,
    table_columns: Sequence[str],
    dialect: Any,
) -> str | None:
    """The name SQLAlchemy's naming convention gives ``live`` (None if the convention has no rule)."""
    scratch = sa.MetaData(naming_convention=naming_convention)
    table = sa.Table(live.table, scratch, *[sa.Column(c, NullType()) for c in table_columns], schema=live.schema)
    if live.kind == "primary":
        cons: sa.Constraint = sa.PrimaryKeyConstraint(*live.columns)
    elif live.kind == "unique":
        cons = sa.UniqueConstraint(*live.columns)
    elif live.kind == "check":
        cons = sa.CheckConstraint(sa.text(live.check or "true"), name=_check_token(live, table_columns))
    else:
        referred = live.referred_table or ""
        refcols = live.referred_columns or live.columns
        if referred != live.table:
            sa.Table(referred, scratch, *[sa.Column(c, NullType()) for c in refcols], schema=live.schema)
        prefix = f"{live.schema}.{referred}" if live.schema else referred
        cons = sa.ForeignKeyConstraint(list(live.columns), [f"{prefix}.{c}" for c in refcols])
    try:
        table.append_constraint(cons)
    except sa.exc.InvalidRequestError:
        return None
    if cons.name is None or live.kind == "check" and not _convention_applied(naming_convention, "ck"):
        return None
    return _final_name(cons, dialect)


def _convention_applied(naming_convention: dict, key: str) -> bool:
    return key in naming_convention or sa.CheckConstraint in naming_convention


def _final_name(cons: sa.Constraint, dialect: Any) -> str:
    """The name as the dialect writes it (long ``conv`` names truncated like SQLAlchemy does)."""
    return unquote(dialect.identifier_preparer.format_constraint(cons))


def plan_naming(
    connection: Any,
    metadata: sa.MetaData | None,
    *,
    exclude: Iterable[str] = (),
    schema: str | None = None,
    convention: dict | None = None,
    convention_spec: str | None = None,
) -> NamingPlan:
    """Which unnamed constraints get which names.

    ``convention`` (from ``--convention``) replaces the models'; without one, a
    models' MetaData with no rule for constraints gets schemashift's default.
    """
    from ..naming import DEFAULT_NAMING_CONVENTION, has_constraint_rules

    dialect = connection.dialect
    plan = NamingPlan()
    if convention is not None:
        plan.convention_source = convention_spec or "given"
    else:
        convention = dict(metadata.naming_convention) if metadata is not None else {}
        if not has_constraint_rules(convention):
            convention = dict(DEFAULT_NAMING_CONVENTION)
            plan.convention_source = "default"
    taken: set[tuple[str, str]] = set()
    inspector = sa.inspect(connection)
    constraints = live_constraints(connection, exclude=exclude, schema=schema)
    for live in constraints:
        if live.name:
            taken.add((live.table, live.name.lower()))
    columns_cache: dict[str, list[str]] = {}
    for live in constraints:
        if not is_unnamed(live, dialect.name):
            continue
        if live.table not in columns_cache:
            columns_cache[live.table] = [c["name"] for c in inspector.get_columns(live.table, schema=schema)]
        match = _metadata_match(metadata, live)
        name = None
        if match is not None and isinstance(match.name, str) and match.name:
            name = _final_name(match, dialect)
        if name is None and convention:
            name = convention_name(live, convention, columns_cache[live.table], dialect)
        if name is None:
            plan.skipped.append((live, "the naming convention has no rule for it and the models do not name it"))
            continue
        if name == live.name:
            continue
        key = (live.table if dialect.name == "sqlite" else "", name.lower())
        if key in taken:
            plan.skipped.append((live, f"the name {name} is already taken"))
            continue
        taken.add(key)
        plan.namings.append(ConstraintNaming(live, name))
    return plan


# ------------------------------------------------------------------ operations


@Operations.register_operation("rename_constraint")
class RenameConstraintOp(MigrateOperation):
    """Rename a constraint in place (PostgreSQL ``RENAME CONSTRAINT``; SQLite: a rebuild)."""

    def __init__(self, table_name: str, old_name: str, new_name: str, *, type_: str | None = None, schema: str | None = None) -> None:
        self.table_name = table_name
        self.old_name = old_name
        self.new_name = new_name
        self.type_ = type_
        self.schema = schema

    @classmethod
    def rename_constraint(
        cls, operations: Any, table_name: str, old_name: str, new_name: str, *, type_: str | None = None, schema: str | None = None
    ) -> Any:
        """Rename constraint ``old_name`` of ``table_name`` to ``new_name``."""
        return operations.invoke(cls(table_name, old_name, new_name, type_=type_, schema=schema))

    def reverse(self) -> "RenameConstraintOp":
        return RenameConstraintOp(self.table_name, self.new_name, self.old_name, type_=self.type_, schema=self.schema)


@Operations.implementation_for(RenameConstraintOp)
def _rename_constraint(operations: Any, op: RenameConstraintOp) -> None:
    dialect = operations.migration_context.dialect
    if dialect.name == "sqlite":
        from ..safety.rebuild import RebuildTableOp

        kind = KIND_OF_TYPE.get(op.type_ or "", None)
        ref = {"name": op.old_name, **({"type": kind} if kind else {})}
        operations.invoke(RebuildTableOp(op.table_name, name_constraints=[(ref, op.new_name)], schema=op.schema))
        return
    quote = dialect.identifier_preparer.quote
    table = f"{quote(op.schema)}.{quote(op.table_name)}" if op.schema else quote(op.table_name)
    operations.execute(f"ALTER TABLE {table} RENAME CONSTRAINT {quote(op.old_name)} TO {quote(op.new_name)}")


@renderers.dispatch_for(RenameConstraintOp)
def _render_rename_constraint(autogen_context: Any, op: RenameConstraintOp) -> str:
    autogen_context.imports.add(OPS_IMPORT)
    args = [repr(op.table_name), repr(op.old_name), repr(op.new_name)]
    if op.type_:
        args.append(f"type_={op.type_!r}")
    if op.schema:
        args.append(f"schema={op.schema!r}")
    return f"op.rename_constraint({', '.join(args)})"


@Operations.register_operation("drop_constraint_matching")
class DropConstraintMatchingOp(MigrateOperation):
    """Drop the one constraint of ``type_`` on ``columns`` (or with ``check``), whatever its name.

    For constraints created without a name: the name is looked up when the
    migration runs.  ``restore`` is the operation that re-creates it (the
    reverse), kept when autogenerate builds this op.
    """

    def __init__(
        self,
        table_name: str,
        type_: str,
        *,
        columns: Sequence[str] = (),
        check: str | None = None,
        referred_table: str | None = None,
        schema: str | None = None,
        restore: MigrateOperation | None = None,
    ) -> None:
        self.table_name = table_name
        self.type_ = type_
        self.columns = list(columns)
        self.check = check
        self.referred_table = referred_table
        self.schema = schema
        self.restore = restore

    @classmethod
    def drop_constraint_matching(
        cls,
        operations: Any,
        table_name: str,
        type_: str,
        *,
        columns: Sequence[str] = (),
        check: str | None = None,
        referred_table: str | None = None,
        schema: str | None = None,
    ) -> Any:
        """Drop the constraint of ``type_`` on ``columns`` (or ``check``) of ``table_name``."""
        return operations.invoke(
            cls(table_name, type_, columns=columns, check=check, referred_table=referred_table, schema=schema)
        )

    def ref(self) -> ConstraintRef:
        kind = KIND_OF_TYPE.get(self.type_, self.type_)
        return ConstraintRef(kind=kind, columns=tuple(self.columns), check=self.check, referred_table=self.referred_table)

    def reverse(self) -> MigrateOperation:
        if self.restore is None:
            raise ConstraintNotFound(f"drop_constraint_matching on {self.table_name} has no definition to re-create")
        return self.restore


def find_live(connection: Any, table: str, ref: ConstraintRef, schema: str | None = None) -> LiveConstraint:
    """The one live constraint of ``table`` that ``ref`` describes."""
    return match_live(live_constraints(connection, schema=schema), table, ref)


def match_live(constraints: Iterable[LiveConstraint], table: str, ref: ConstraintRef) -> LiveConstraint:
    """The one constraint of ``constraints`` on ``table`` that ``ref`` describes."""
    found = [
        c for c in constraints
        if c.table == table and (ref.kind is None or c.kind == ref.kind)
        and (not ref.columns or tuple(x.lower() for x in c.columns) == tuple(x.lower() for x in ref.columns))
        and (ref.check is None or normalize_sql(ref.check, key=True) == normalize_sql(c.check or "", key=True))
        and (not ref.referred_table or (c.referred_table or "").lower() == ref.referred_table.lower())
    ]
    if len(found) != 1:
        raise ConstraintNotFound(
            f"{'no' if not found else len(found)} constraint{'s' if len(found) > 1 else ''} on {table} match {ref.describe()}",
            hint="name the constraint in the migration instead",
        )
    return found[0]


@Operations.implementation_for(DropConstraintMatchingOp)
def _drop_constraint_matching(operations: Any, op: DropConstraintMatchingOp) -> None:
    context = operations.migration_context
    dialect = context.dialect
    if dialect.name == "sqlite":
        from ..safety.rebuild import RebuildTableOp

        operations.invoke(RebuildTableOp(op.table_name, drop_constraints=[op.ref()], schema=op.schema))
        return
    if context.as_sql:
        raise ConstraintNotFound(
            f"drop_constraint_matching on {op.table_name} looks the name up in the database; it cannot run with --sql"
        )
    live = find_live(operations.get_bind(), op.table_name, op.ref(), op.schema)
    operations.drop_constraint(live.name, op.table_name, type_=op.type_, schema=op.schema)


@renderers.dispatch_for(DropConstraintMatchingOp)
def _render_drop_matching(autogen_context: Any, op: DropConstraintMatchingOp) -> str:
    autogen_context.imports.add(OPS_IMPORT)
    args = [repr(op.table_name), repr(op.type_)]
    if op.columns:
        args.append(f"columns={op.columns!r}")
    if op.check:
        args.append(f"check={op.check!r}")
    if op.referred_table:
        args.append(f"referred_table={op.referred_table!r}")
    if op.schema:
        args.append(f"schema={op.schema!r}")
    return f"op.drop_constraint_matching({', '.join(args)})"


def naming_ops(plan: NamingPlan, dialect_name: str) -> list[MigrateOperation]:
    """The upgrade operations carrying out ``plan`` (one rebuild per table on SQLite)."""
    if dialect_name == "sqlite":
        from ..safety.rebuild import RebuildTableOp

        by_table: dict[str, list[tuple[dict, str]]] = {}
        for naming in plan.namings:
            by_table.setdefault(naming.constraint.table, []).append(
                (naming.constraint.ref().as_dict(), naming.new_name)
            )
        return [RebuildTableOp(table, name_constraints=pairs) for table, pairs in by_table.items()]
    return [
        RenameConstraintOp(
            n.constraint.table, n.constraint.name or "", n.new_name,
            type_=ALEMBIC_TYPES[n.constraint.kind], schema=n.constraint.schema,
        )
        for n in plan.namings
    ]


# ------------------------------------------------------------------ the command


@dataclass
class NamingResult:
    revision: Any  # RevisionInfo of the file written, or None when nothing needed a name
    named: list[ConstraintNaming]
    skipped: list[tuple[LiveConstraint, str]]
    convention_source: str = "models"


def naming_directives(plan_out: NamingPlan, convention: dict | None = None, convention_spec: str | None = None) -> Any:
    """A ``process_revision_directives`` hook that replaces the migration with the naming plan."""

    def hook(context: Any, revision: Any, directives: list[Any]) -> None:
        script = directives[0]
        metadata = context.opts.get("target_metadata")
        if isinstance(metadata, (list, tuple)):
            metadata = metadata[0] if metadata else None
        exclude = {getattr(context, "version_table", "alembic_version"), *bookkeeping_tables(getattr(context, "config", None))}
        plan = plan_naming(context.connection, metadata, exclude=exclude, convention=convention,
                           convention_spec=convention_spec)
        plan_out.namings.extend(plan.namings)
        plan_out.skipped.extend(plan.skipped)
        plan_out.convention_source = plan.convention_source
        if not plan.namings:
            directives[:] = []  # Alembic then writes no file
            return
        upgrade = naming_ops(plan, context.dialect.name)
        script.upgrade_ops = ops.UpgradeOps(ops=upgrade)
        script.downgrade_ops = ops.DowngradeOps(ops=[op.reverse() for op in reversed(upgrade)])

    return hook


# ------------------------------------------------------------------ the pipeline step


def ref_of_drop(op: ops.DropConstraintOp) -> tuple[ConstraintRef, Any] | None:
    """What a nameless ``DropConstraintOp`` drops, from the constraint it would restore."""
    restore = restore_of_drop(op)
    if restore is None:
        return None
    try:
        cons = restore.to_constraint()
    except Exception:
        return None
    kind = KIND_OF_TYPE.get(op.constraint_type or "", None)
    if isinstance(cons, sa.CheckConstraint):
        return ConstraintRef(kind="check", check=str(cons.sqltext)), restore
    if isinstance(cons, sa.ForeignKeyConstraint):
        return ConstraintRef(kind="foreign", columns=tuple(cons.column_keys), referred_table=cons.referred_table.name), restore
    return ConstraintRef(kind=kind, columns=tuple(c.name for c in cons.columns)), restore


LiveLookup = Callable[[str, ConstraintRef, "str | None"], LiveConstraint]


def _resolve(op: Any, live: LiveLookup | None) -> Any:
    if not isinstance(op, ops.DropConstraintOp) or op.constraint_name is not None:
        return op
    found = ref_of_drop(op)
    if found is None:
        return op
    ref, restore = found
    if live is not None:
        try:
            constraint = live(op.table_name, ref, op.schema)
        except ConstraintNotFound:
            constraint = None
        if constraint is not None:  # in the database now: write its real name
            return named_drop_constraint(
                constraint.name, op.table_name, type_=op.constraint_type, schema=op.schema, restore=restore
            )
    return DropConstraintMatchingOp(
        op.table_name,
        op.constraint_type or ALEMBIC_TYPES.get(ref.kind or "", "unique"),
        columns=ref.columns,
        check=ref.check,
        referred_table=ref.referred_table,
        schema=op.schema,
        restore=restore,
    )


def name_unnamed_drops(container: Any, live: LiveLookup | None) -> None:
    """Pipeline step: no ``drop_constraint(None, ...)`` in ``container`` (in place).

    Runs after the SQLite rebuild folding (which takes SQLite's constraint
    drops into rebuilds already).  ``live(table, ref, schema)`` finds the
    constraint in the database as it is now (the upgrade; PostgreSQL): its
    real name is written.  Otherwise (the downgrade, or not found)
    ``op.drop_constraint_matching`` finds it when the migration runs.
    """
    new = []
    for op in container.ops:
        if isinstance(op, ops.ModifyTableOps):
            name_unnamed_drops(op, live)
            new.append(op)
        else:
            new.append(_resolve(op, live))
    container.ops = new
