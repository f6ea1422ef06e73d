"""Renamed tables and columns, recognised instead of dropped and re-added.

Alembic's autogenerate reports a renamed table as ``DropTableOp`` + ``CreateTableOp``
and a renamed column as ``DropColumnOp`` + ``AddColumnOp``: run as generated,
that migration throws the data away.  This module turns such pairs back into
renames.  Everything here is ops in, ops out: no database, no prompts, no
printing.  ``hook.py`` wires the steps into a pipeline:

1. ``survey``            what autogenerate found: dropped/created tables, added/dropped columns
2. ``plan_table_renames``  declared renames (models, ``--rename``) that apply, chains and swaps included
3. ``table_candidates``  dropped x created tables of one schema, scored by structure
4. ``resolve``           the questioner accepts, rejects or leaves each candidate
5. ``column_scopes`` / ``plan_column_renames`` / ``column_candidates``: the same for columns,
   including the columns of a renamed table pair (compared as a whole)
6. what else differs between the old and the new table, found one of three ways:
   ``inplace_tables``  a table that only renames columns: autogenerate's own ops for it are
                       kept, the drop + add pairs replaced (the common case);
   ``direct_tables``   a renamed table compared from autogenerate's own reflection of it
                       (SQLite/PostgreSQL, no filters, nothing exotic);
   ``old_world_metadata``  otherwise the models as they would look under the *old* names,
                       which Alembic itself diffs against the database (``hook.py`` runs it)
7. ``rewrite``           renames first, then every remaining difference on the new names,
   indexes/constraints/sequences whose names derive from the old names renamed too
8. the downgrade is ``upgrade_ops.reverse()``: every op produced here knows its reverse.

Nothing is ever guessed: a candidate that is not clearly better than its rivals
is marked ambiguous and only a person (or an explicit declaration) can apply it.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Mapping, Sequence

import sqlalchemy as sa
from alembic.autogenerate import renderers
from alembic.operations import ops
from sqlalchemy.engine import Dialect
from sqlalchemy.engine.default import DefaultDialect

from ..errors import Refused
from .declared import SOURCE_CLI, DeclaredRenames

Key = tuple  # (schema, table)

# --------------------------------------------------------------------------
# Thresholds (named so they can be reasoned about and tuned in one place)

#: a table pair scoring below this is not proposed at all
TABLE_MIN_SCORE = 0.6
#: ... nor one sharing less than this fraction of the smaller table's non-key columns by name
TABLE_MIN_SHARED_COLUMNS = 0.5
#: a column pair scoring below this is not proposed (columns of different affinity score 0)
COLUMN_MIN_SCORE = 0.6
#: two candidates for the same name closer than this are ambiguous; one better by
#: at least this much makes the other not a candidate at all
AMBIGUITY_MARGIN = 0.1

TABLE_WEIGHTS = {
    "names": 0.40,  # Jaccard of column names
    "types": 0.25,  # multiset Jaccard of column type affinities
    "nullability": 0.05,
    "primary_key": 0.10,
    "defaults": 0.05,
    "foreign_keys": 0.075,
    "indexes": 0.075,
}
COLUMN_WEIGHTS = {
    "affinity": 0.40,  # required: different affinity scores 0
    "type": 0.15,  # same rendered type
    "nullability": 0.15,
    "default": 0.10,
    "position": 0.10,
    "name": 0.10,  # difflib ratio of the names
}

TEMP_SUFFIX = "__ss_tmp"
STUB_SUFFIX = "__ss_ref"
PG_MAX_IDENTIFIER = 63

#: dialects that can rename constraints and sequences in place
CONSTRAINT_RENAME_DIALECTS = frozenset({"postgresql"})
#: dialects that can rename an index in place, and how
INDEX_RENAME_DIALECTS = frozenset({"postgresql", "mysql", "mariadb"})


# --------------------------------------------------------------------------
# Errors (carry data; the CLI words them)


class RenameConflict(Refused):
    """A rename cannot be carried out safely (target taken, two renames to one name...)."""

    def __init__(
        self,
        message: str,
        *,
        kind: str,
        schema: str | None = None,
        table: str | None = None,
        old: str | None = None,
        new: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.kind = kind
        self.schema = schema
        self.table = table
        self.old = old
        self.new = new


class UnresolvedRenames(Refused):
    """``--strict``: autogenerate found possible renames nobody decided."""

    def __init__(self, candidates: Sequence["RenameCandidate"]) -> None:
        names = ", ".join(c.spec for c in candidates)
        super().__init__(
            f"{len(candidates)} possible rename(s) left undecided: {names}",
            hint="declare them with renamed_from, pass --rename OLD=NEW, or --accept-renames",
        )
        self.candidates = list(candidates)


# --------------------------------------------------------------------------
# Op classes: Alembic's own ops, with the reverse (and diff tuple) Alembic lacks


class RenameTable(ops.RenameTableOp):
    """``op.rename_table(old, new)`` that knows its own reverse."""

    def reverse(self) -> "RenameTable":
        return RenameTable(self.new_table_name, self.table_name, schema=self.schema)

    def to_diff_tuple(self) -> tuple[Any, ...]:
        return ("rename_table", self.schema, self.table_name, self.new_table_name)


class RenameColumn(ops.AlterColumnOp):
    """``op.alter_column(t, old, new_column_name=new, existing_...)``: a pure rename.

    Rendered outside any batch block, so SQLite runs ``ALTER TABLE .. RENAME
    COLUMN`` (no table copy).  Type or nullability changes of the same column
    are separate ``AlterColumnOp``s on the new name.
    """

    def __init__(
        self,
        table_name: str,
        column_name: str,
        new_column_name: str,
        *,
        schema: str | None = None,
        existing_type: Any = None,
        existing_nullable: bool | None = None,
        existing_server_default: Any = False,
        existing_comment: str | None = None,
    ) -> None:
        super().__init__(
            table_name,
            column_name,
            schema=schema,
            modify_name=new_column_name,
            existing_type=existing_type,
            existing_nullable=existing_nullable,
            existing_server_default=existing_server_default,
            existing_comment=existing_comment,
        )

    def has_changes(self) -> bool:
        return True

    def reverse(self) -> "RenameColumn":
        return RenameColumn(
            self.table_name,
            self.modify_name,
            self.column_name,
            schema=self.schema,
            existing_type=self.existing_type,
            existing_nullable=self.existing_nullable,
            existing_server_default=self.existing_server_default,
            existing_comment=self.existing_comment,
        )

    def to_diff_tuple(self) -> list[tuple[Any, ...]]:
        return [("rename_column", self.schema, self.table_name, self.column_name, self.modify_name)]


class RenameObjectSQL(ops.ExecuteSQLOp):
    """Rename of an index, constraint or sequence, as plain SQL (``op.execute``).

    ``kind`` is one of index, unique, primary_key, foreign_key, check, sequence.
    The SQL is built for ``dialect_name`` with proper quoting.
    """

    def __init__(
        self,
        kind: str,
        schema: str | None,
        table_name: str,
        old_name: str,
        new_name: str,
        *,
        dialect: Dialect,
    ) -> None:
        self.kind = kind
        self.schema = schema
        self.table_name = table_name
        self.old_name = old_name
        self.new_name = new_name
        self.dialect = dialect
        super().__init__(rename_object_sql(kind, schema, table_name, old_name, new_name, dialect))

    def reverse(self) -> "RenameObjectSQL":
        return RenameObjectSQL(
            self.kind, self.schema, self.table_name, self.new_name, self.old_name, dialect=self.dialect
        )

    def to_diff_tuple(self) -> tuple[Any, ...]:
        return (f"rename_{self.kind}", self.schema, self.table_name, self.old_name, self.new_name)


def rename_object_sql(kind: str, schema: str | None, table: str, old: str, new: str, dialect: Dialect) -> str:
    prep = dialect.identifier_preparer
    q = prep.quote
    prefix = f"{prep.quote_schema(schema)}." if schema else ""
    name = dialect.name
    if kind == "index":
        if name in ("mysql", "mariadb"):
            return f"ALTER TABLE {prefix}{q(table)} RENAME INDEX {q(old)} TO {q(new)}"
        return f"ALTER INDEX {prefix}{q(old)} RENAME TO {q(new)}"
    if kind == "sequence":
        return f"ALTER SEQUENCE {prefix}{q(old)} RENAME TO {q(new)}"
    return f"ALTER TABLE {prefix}{q(table)} RENAME CONSTRAINT {q(old)} TO {q(new)}"


def _register_renderers() -> None:
    """Alembic has no renderer for RenameTableOp; add one (public extension API)."""

    def render_rename_table(autogen_context: Any, op: ops.RenameTableOp) -> str:
        prefix = autogen_context.opts.get("alembic_module_prefix", "op.")
        text = f"{prefix}rename_table({op.table_name!r}, {op.new_table_name!r}"
        if op.schema:
            text += f", schema={op.schema!r}"
        return text + ")"

    try:
        renderers.dispatch_for(ops.RenameTableOp)(render_rename_table)
    except ValueError:  # someone (or an earlier import) registered one already
        pass


_register_renderers()


# --------------------------------------------------------------------------
# Facts: the structure of tables and columns, as plain data


_AFFINITY_ORDER: list[tuple[type, str]] = [
    (sa.Boolean, "boolean"),
    (sa.Enum, "string"),
    (sa.Integer, "integer"),
    (sa.Numeric, "numeric"),
    (sa.DateTime, "datetime"),
    (sa.Date, "date"),
    (sa.Time, "time"),
    (sa.Interval, "interval"),
    (sa.JSON, "json"),
    (sa.Uuid, "uuid"),
    (sa.ARRAY, "array"),
    (sa.String, "string"),
    (sa.LargeBinary, "binary"),
    (sa.types.NullType, "null"),
]


def type_affinity(type_: Any) -> str:
    """A coarse family of a SQL type: integer, numeric, string, datetime, ..."""
    if type_ is None:
        return "null"
    if isinstance(type_, type):
        type_ = type_()
    if isinstance(type_, sa.types.TypeDecorator):
        impl = getattr(type_, "impl_instance", None) or type_.impl
        return type_affinity(impl)
    for cls, name in _AFFINITY_ORDER:
        if isinstance(type_, cls):
            return name
    return type(type_).__name__.lower()


def type_sql(type_: Any, dialect: Dialect | None = None) -> str:
    if type_ is None:
        return "NULL"
    try:
        return str(type_.compile(dialect=dialect or DefaultDialect())).upper()
    except Exception:
        try:
            return str(type_.compile()).upper()
        except Exception:
            return repr(type_)


_CAST = re.compile(r"::[\w\s\"\.\[\]]+$")


def default_text(server_default: Any) -> str | None:
    """A server default as comparable text (quotes, parentheses, casts stripped)."""
    if server_default is None or server_default is False:
        return None
    arg = getattr(server_default, "arg", server_default)
    if hasattr(arg, "text"):
        text = arg.text
    elif isinstance(arg, str):
        text = arg
    else:
        try:
            text = str(arg.compile(compile_kwargs={"literal_binds": True}))
        except Exception:
            text = type(server_default).__name__
    text = text.strip()
    for _ in range(3):
        text = _CAST.sub("", text).strip()
        if len(text) >= 2 and text[0] == "(" and text[-1] == ")":
            text = text[1:-1].strip()
        if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
            text = text[1:-1]
    return text.lower()


@dataclass(frozen=True)
class ColumnFacts:
    name: str
    affinity: str
    nullable: bool
    default: str | None
    primary_key: bool
    position: int
    comment: str | None = None
    column: Any = field(default=None, compare=False, hash=False, repr=False)
    dialect: Any = field(default=None, compare=False, hash=False, repr=False)

    @property
    def type_sql(self) -> str:
        """The type as the dialect renders it (computed when a column pair is scored)."""
        return type_sql(self.column.type if self.column is not None else None, self.dialect)


@dataclass(frozen=True)
class IndexFacts:
    name: str | None
    columns: tuple[str | None, ...]  # None for an expression
    unique: bool


@dataclass(frozen=True)
class ForeignKeyFacts:
    name: str | None
    columns: tuple[str, ...]
    ref_schema: str | None
    ref_table: str
    ref_columns: tuple[str, ...]
    options: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class TableFacts:
    schema: str | None
    name: str
    columns: tuple[ColumnFacts, ...]
    primary_key: tuple[str, ...] = ()
    pk_name: str | None = None
    foreign_keys: tuple[ForeignKeyFacts, ...] = ()
    indexes: tuple[IndexFacts, ...] = ()
    uniques: tuple[IndexFacts, ...] = ()
    checks: tuple[str, ...] = ()
    sequences: tuple[tuple[str, str], ...] = ()  # (column, sequence name), PostgreSQL
    comment: str | None = None

    @property
    def key(self) -> Key:
        return (self.schema, self.name)

    def column(self, name: str) -> ColumnFacts | None:
        for c in self.columns:
            if c.name == name:
                return c
        return None

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


def _name(value: Any) -> str | None:
    return str(value) if isinstance(value, str) else None


def _fk_options(ondelete: Any, onupdate: Any, deferrable: Any, initially: Any, match: Any = None) -> tuple:
    def norm(v: Any) -> Any:
        if v is None:
            return None
        v = str(v).upper()
        return None if v in ("NO ACTION",) else v

    return tuple(
        (k, v)
        for k, v in (
            ("ondelete", norm(ondelete)),
            ("onupdate", norm(onupdate)),
            ("deferrable", bool(deferrable) or None),
            ("initially", norm(initially) if initially and str(initially).upper() != "IMMEDIATE" else None),
            ("match", norm(match)),
        )
        if v is not None
    )


def column_facts(col: sa.Column, position: int, dialect: Dialect | None = None) -> ColumnFacts:
    return ColumnFacts(
        name=col.name,
        affinity=type_affinity(col.type),
        nullable=bool(col.nullable),
        default=default_text(col.server_default),
        primary_key=bool(col.primary_key),
        position=position,
        comment=col.comment,
        column=col,
        dialect=dialect,
    )


def _expr_name(expr: Any) -> str | None:
    if isinstance(expr, str):
        return expr
    if isinstance(expr, sa.sql.elements.ColumnClause) and not isinstance(expr, sa.sql.elements.TextClause):
        return expr.name
    return None


def index_facts(index: sa.Index) -> IndexFacts:
    exprs = list(index.expressions) or list(index.columns)
    return IndexFacts(_name(index.name), tuple(_expr_name(e) for e in exprs), bool(index.unique))


def fk_facts(fkc: sa.ForeignKeyConstraint) -> ForeignKeyFacts | None:
    try:
        targets = [fk.column for fk in fkc.elements]
    except Exception:  # unresolvable target: read the spec text instead
        try:
            specs = [fk.target_fullname.split(".") for fk in fkc.elements]
        except Exception:
            return None
        ref_schema = specs[0][0] if len(specs[0]) == 3 else None
        return ForeignKeyFacts(
            _name(fkc.name),
            tuple(c.name for c in fkc.columns) or tuple(fkc.column_keys),
            ref_schema,
            specs[0][-2],
            tuple(s[-1] for s in specs),
            _fk_options(fkc.ondelete, fkc.onupdate, fkc.deferrable, fkc.initially, fkc.match),
        )
    return ForeignKeyFacts(
        _name(fkc.name),
        tuple(c.name for c in fkc.columns),
        targets[0].table.schema,
        targets[0].table.name,
        tuple(t.name for t in targets),
        _fk_options(fkc.ondelete, fkc.onupdate, fkc.deferrable, fkc.initially, fkc.match),
    )


def table_facts(
    table: sa.Table,
    dialect: Dialect | None = None,
    *,
    indexes: Iterable[IndexFacts] | None = None,
    schema: str | None | bool = False,
) -> TableFacts:
    """Facts of a model table or a reflected one (``indexes`` given separately when
    the table object does not carry them, as for Alembic's ``DropTableOp``)."""
    cols = tuple(column_facts(c, i, dialect) for i, c in enumerate(table.columns))
    pk = table.primary_key
    fks = tuple(f for f in (fk_facts(c) for c in table.foreign_key_constraints) if f is not None)
    uniques = tuple(
        IndexFacts(_name(c.name), tuple(col.name for col in c.columns), True)
        for c in table.constraints
        if isinstance(c, sa.UniqueConstraint)
    )
    checks = tuple(
        str(c.name) for c in table.constraints if isinstance(c, sa.CheckConstraint) and isinstance(c.name, str)
    )
    idx = tuple(indexes) if indexes is not None else tuple(index_facts(i) for i in table.indexes)
    return TableFacts(
        schema=table.schema if schema is False else schema,  # type: ignore[arg-type]
        name=table.name,
        columns=cols,
        primary_key=tuple(c.name for c in pk.columns) if pk is not None else (),
        pk_name=_name(pk.name) if pk is not None else None,
        foreign_keys=fks,
        indexes=idx,
        uniques=uniques,
        checks=checks,
        comment=table.comment,
    )


# --------------------------------------------------------------------------
# Step 1: survey what autogenerate found


@dataclass
class ChangedTable:
    """An existing table as autogenerate saw it: columns added and dropped."""

    key: Key
    added: dict[str, ColumnFacts] = field(default_factory=dict)
    dropped: dict[str, ColumnFacts] = field(default_factory=dict)
    has_ops: bool = False


@dataclass
class Survey:
    model: dict[Key, sa.Table]
    dropped: dict[Key, TableFacts]
    created: dict[Key, TableFacts]
    changed: dict[Key, ChangedTable]

    def db_has_table(self, key: Key) -> bool:
        return key in self.dropped or (key in self.model and key not in self.created)

    def db_has_column(self, key: Key, column: str) -> bool:
        """For a table that is not renamed: (model - added) + dropped."""
        ch = self.changed.get(key)
        if ch is not None and column in ch.dropped:
            return True
        if ch is not None and column in ch.added:
            return False
        table = self.model.get(key)
        return table is not None and column in table.c and key not in self.created


def model_tables(target_metadata: Any, dialect: Dialect | None = None) -> dict[Key, sa.Table]:
    mds = target_metadata if isinstance(target_metadata, (list, tuple)) else [target_metadata]
    default_schema = getattr(dialect, "default_schema_name", None)
    out: dict[Key, sa.Table] = {}
    for md in mds:
        if md is None:
            continue
        for t in md.tables.values():
            schema = None if (t.schema is not None and t.schema == default_schema) else t.schema
            out[(schema, t.name)] = t
    return out


def _walk(container: Any) -> Iterable[Any]:
    for op in container.ops:
        yield op


def survey(upgrade_ops: ops.UpgradeOps, model: Mapping[Key, sa.Table], dialect: Dialect | None = None) -> Survey:
    """Step 1: dropped/created tables and added/dropped columns, as facts."""
    dropped_tables: dict[Key, ops.DropTableOp] = {}
    dropped_indexes: dict[Key, list[IndexFacts]] = {}
    dropped_index_ops: dict[Key, list[ops.DropIndexOp]] = {}
    created: dict[Key, TableFacts] = {}
    changed: dict[Key, ChangedTable] = {}
    for op in _walk(upgrade_ops):
        if isinstance(op, ops.CreateTableOp):
            key = (op.schema, op.table_name)
            table = model.get(key)
            if table is None:
                table = op.to_table()
            created[key] = table_facts(table, dialect, schema=op.schema)
        elif isinstance(op, ops.DropTableOp):
            dropped_tables[(op.schema, op.table_name)] = op
        elif isinstance(op, ops.ModifyTableOps):
            key = (op.schema, op.table_name)
            ch = changed.setdefault(key, ChangedTable(key))
            for sub in op.ops:
                ch.has_ops = True
                if isinstance(sub, ops.AddColumnOp):
                    col = sub.column
                    table = col.table if isinstance(getattr(col, "table", None), sa.Table) else None
                    pos = list(table.columns).index(col) if table is not None and col in list(table.columns) else 0
                    ch.added[col.name] = column_facts(col, pos, dialect)
                elif isinstance(sub, ops.DropColumnOp):
                    col = sub.to_column()
                    table = col.table if isinstance(getattr(col, "table", None), sa.Table) else None
                    pos = (
                        [c.name for c in table.columns].index(col.name)
                        if table is not None and col.name in table.c
                        else 0
                    )
                    ch.dropped[sub.column_name] = column_facts(col, pos, dialect)
                elif isinstance(sub, ops.DropIndexOp):
                    dropped_index_ops.setdefault(key, []).append(sub)
    for key, index_ops in dropped_index_ops.items():
        if key in dropped_tables:  # the indexes of a dropped table: part of its facts
            for sub in index_ops:
                try:
                    dropped_indexes.setdefault(key, []).append(index_facts(sub.to_index()))
                except Exception:
                    pass
    dropped = {}
    for key, op in dropped_tables.items():
        table = op.to_table()
        dropped[key] = table_facts(table, dialect, indexes=dropped_indexes.get(key, ()), schema=op.schema)
        changed.pop(key, None)
    for key in created:
        changed.pop(key, None)
    return Survey(dict(model), dropped, created, changed)


# --------------------------------------------------------------------------
# Candidates, accepted renames, the plan


def _qual(schema: str | None, name: str) -> str:
    return f"{schema}.{name}" if schema else name


@dataclass(frozen=True)
class RenameCandidate:
    """A possible rename found by structure, waiting for a decision."""

    kind: str  # "table" | "column"
    schema: str | None
    table: str | None  # columns: the (new) table name
    old: str
    new: str
    score: float
    ambiguous: bool = False
    alternatives: tuple[str, ...] = ()
    column_key: str | None = None  # attribute name for the suggestion line

    @property
    def subject(self) -> str:
        if self.kind == "table":
            return f"table {_qual(self.schema, self.old)}"
        return f"column {_qual(self.schema, self.table or '')}.{self.old}"

    @property
    def question(self) -> str:
        return f"Was {self.subject} renamed to {self.new}?"

    @property
    def spec(self) -> str:
        """The ``--rename`` value that applies this candidate."""
        if self.kind == "table":
            return f"{self.schema}.{self.old}={self.schema}.{self.new}" if self.schema else f"{self.old}={self.new}"
        return f"{_qual(self.schema, self.table or '')}.{self.old}={self.new}"

    @property
    def suggestion(self) -> str:
        """The exact model line that declares this rename."""
        if self.kind == "table":
            return f'__table_args__ = {{"info": {{"renamed_from": "{self.old}"}}}}'
        attr = self.column_key or self.new
        return f'{attr} = mapped_column(..., info={{"renamed_from": "{self.old}"}})'

    @property
    def old_key(self) -> Any:
        return (self.schema, self.old) if self.kind == "table" else (self.schema, self.table, self.old)

    @property
    def new_key(self) -> Any:
        return (self.schema, self.new) if self.kind == "table" else (self.schema, self.table, self.new)

    def warning(self) -> str:
        where = "" if self.kind == "table" else f" (in class for table {_qual(self.schema, self.table or '')})"
        if self.kind == "table":
            where = f" (in class for table {_qual(self.schema, self.new)}, or Table(..., info=...))"
        if self.ambiguous:
            head = (
                f"{self.subject} may have been renamed to {self.new}, but it is ambiguous "
                f"(also resembles {', '.join(self.alternatives)}): not guessed"
            )
        else:
            head = f"{self.subject} looks renamed to {self.new} (score {self.score:.2f}) but was not applied"
        return f"{head}; to apply it declare{where}: {self.suggestion}  or pass --rename {self.spec}"


@dataclass(frozen=True)
class TableRename:
    schema: str | None
    old: str
    new: str
    source: str  # declared | --rename | detected | answered
    score: float | None = None

    @property
    def old_key(self) -> Key:
        return (self.schema, self.old)

    @property
    def new_key(self) -> Key:
        return (self.schema, self.new)

    def describe(self) -> str:
        return f"table {_qual(self.schema, self.old)} -> {self.new} ({self.source})"


@dataclass(frozen=True)
class ColumnRename:
    schema: str | None
    table: str  # new table name
    old: str
    new: str
    source: str
    score: float | None = None
    existing: ColumnFacts | None = field(default=None, compare=False, hash=False, repr=False)

    @property
    def table_key(self) -> Key:
        return (self.schema, self.table)

    def describe(self) -> str:
        return f"column {_qual(self.schema, self.table)}.{self.old} -> {self.new} ({self.source})"


@dataclass(frozen=True)
class RenamePlan:
    """Accepted renames: what ``rewrite`` carries out."""

    tables: tuple[TableRename, ...] = ()
    columns: tuple[ColumnRename, ...] = ()
    #: model tables named like a table that is renamed away: created after the renames
    fresh_tables: tuple[Key, ...] = ()
    #: (schema, table, column) model columns named like a column renamed away
    fresh_columns: tuple[tuple[str | None, str, str], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.tables or self.columns)

    def table_new(self, old_key: Key) -> Key | None:
        for r in self.tables:
            if r.old_key == old_key:
                return r.new_key
        return None

    def table_old(self, new_key: Key) -> Key | None:
        for r in self.tables:
            if r.new_key == new_key:
                return r.old_key
        return None

    def columns_of(self, new_key: Key) -> dict[str, str]:
        """old column name -> new column name, for the table now called ``new_key``."""
        return {c.old: c.new for c in self.columns if c.table_key == new_key}

    @property
    def affected(self) -> list[Key]:
        """New keys of every table whose name or columns change, in a stable order."""
        keys: list[Key] = []
        for r in self.tables:
            if r.new_key not in keys:
                keys.append(r.new_key)
        for c in self.columns:
            if c.table_key not in keys:
                keys.append(c.table_key)
        return keys


# --------------------------------------------------------------------------
# Scoring


def _jaccard(a: Iterable[Any], b: Iterable[Any]) -> float:
    sa_, sb = set(a), set(b)
    if not sa_ and not sb:
        return 1.0
    return len(sa_ & sb) / len(sa_ | sb)


def _multiset_jaccard(a: Iterable[Any], b: Iterable[Any]) -> float:
    from collections import Counter

    ca, cb = Counter(a), Counter(b)
    if not ca and not cb:
        return 1.0
    inter = sum((ca & cb).values())
    union = sum((ca | cb).values())
    return inter / union if union else 1.0


def shared_column_fraction(old: TableFacts, new: TableFacts) -> float:
    """Fraction of the smaller table's non-key columns that keep their name."""
    o = {c.name.lower() for c in old.columns if not c.primary_key} or {c.name.lower() for c in old.columns}
    n = {c.name.lower() for c in new.columns if not c.primary_key} or {c.name.lower() for c in new.columns}
    if not o or not n:
        return 0.0
    return len(o & n) / min(len(o), len(n))


def score_tables(old: TableFacts, new: TableFacts) -> float:
    """How much ``new`` looks like ``old`` under another name, in [0, 1]."""
    w = TABLE_WEIGHTS
    onames = {c.name.lower(): c for c in old.columns}
    nnames = {c.name.lower(): c for c in new.columns}
    common = set(onames) & set(nnames)
    parts = {
        "names": _jaccard(onames, nnames),
        "types": _multiset_jaccard([c.affinity for c in old.columns], [c.affinity for c in new.columns]),
    }
    if common:
        parts["nullability"] = sum(onames[n].nullable == nnames[n].nullable for n in common) / len(common)
        parts["defaults"] = sum((onames[n].default is None) == (nnames[n].default is None) for n in common) / len(
            common
        )
    else:
        parts["nullability"] = _multiset_jaccard(
            [(c.affinity, c.nullable) for c in old.columns], [(c.affinity, c.nullable) for c in new.columns]
        )
        parts["defaults"] = _multiset_jaccard(
            [c.default is None for c in old.columns], [c.default is None for c in new.columns]
        )
    opk = [old.column(n) for n in old.primary_key]
    npk = [new.column(n) for n in new.primary_key]
    if not opk and not npk:
        parts["primary_key"] = 1.0
    elif [c.affinity for c in opk if c] == [c.affinity for c in npk if c]:
        parts["primary_key"] = 1.0 if [n.lower() for n in old.primary_key] == [n.lower() for n in new.primary_key] else 0.75
    else:
        parts["primary_key"] = 0.0

    def aff(t: TableFacts, names: Sequence[str | None]) -> tuple[str, ...]:
        out = []
        for n in names:
            c = t.column(n) if n else None
            out.append(c.affinity if c else "expr")
        return tuple(out)

    parts["foreign_keys"] = _multiset_jaccard(
        [(aff(old, f.columns), f.ref_columns) for f in old.foreign_keys],
        [(aff(new, f.columns), f.ref_columns) for f in new.foreign_keys],
    )
    parts["indexes"] = _multiset_jaccard(
        [(aff(old, i.columns), i.unique) for i in old.indexes],
        [(aff(new, i.columns), i.unique) for i in new.indexes],
    )
    return round(sum(w[k] * parts[k] for k in w), 4)


def score_columns(old: ColumnFacts, new: ColumnFacts) -> float:
    """How much ``new`` looks like ``old`` under another name, in [0, 1]."""
    if old.affinity != new.affinity or old.primary_key != new.primary_key:
        return 0.0
    w = COLUMN_WEIGHTS
    delta = abs(old.position - new.position)
    parts = {
        "affinity": 1.0,
        "type": float(old.type_sql == new.type_sql),
        "nullability": float(old.nullable == new.nullable),
        "default": float(old.default == new.default),
        "position": 1.0 if delta == 0 else 0.5 if delta == 1 else 0.0,
        "name": difflib.SequenceMatcher(None, old.name.lower(), new.name.lower()).ratio(),
    }
    return round(sum(w[k] * parts[k] for k in w), 4)


def _pick(
    scores: Mapping[tuple[Any, Any], float], label: Callable[[Any], str] = str
) -> list[tuple[Any, Any, float, bool, tuple[str, ...]]]:
    """From scored (old, new) pairs keep the plausible ones; mark ties ambiguous.

    A pair is dropped when a rival sharing its old or its new name scores at
    least ``AMBIGUITY_MARGIN`` more; it is ambiguous when a rival is closer
    than that.
    """
    out = []
    for (o, n), s in scores.items():
        rivals = [((o2, n2), s2) for (o2, n2), s2 in scores.items() if (o2 == o) != (n2 == n)]
        if any(s2 >= s + AMBIGUITY_MARGIN for _, s2 in rivals):
            continue
        close = [(o2, n2) for (o2, n2), s2 in rivals if abs(s2 - s) < AMBIGUITY_MARGIN]
        alternatives = tuple(sorted({label(n2) if o2 == o else label(o2) for o2, n2 in close}))
        out.append((o, n, s, bool(close), alternatives))
    out.sort(key=lambda t: (-t[2], str(t[0]), str(t[1])))
    return out


# --------------------------------------------------------------------------
# Step 2-4: tables


def _declared_conflict(kind: str, msg: str, **kw: Any) -> RenameConflict:
    return RenameConflict(msg, kind=kind, **kw)


def plan_table_renames(survey: Survey, declared: DeclaredRenames) -> tuple[list[TableRename], list[str]]:
    """Step 2: which declared table renames apply to this database.

    A declared rename applies when its old name exists in the database and its
    new name does not (or is itself renamed away: chains and swaps).  Of a list
    of old names the first one present wins.  A rename already carried out is
    silently ignored; a ``--rename`` that cannot apply is reported in the notes.
    """
    notes: list[str] = []
    live: dict[Key, tuple[str, Any]] = {}
    for key_new, d in declared.tables.items():
        schema = d.schema
        if key_new not in survey.model:
            if d.source == SOURCE_CLI:
                raise _declared_conflict(
                    "table",
                    f"--rename {d.label}: there is no table {_qual(schema, d.new)} in the models",
                    schema=schema,
                    old=d.olds[0],
                    new=d.new,
                    hint="the right-hand side is the new (model) table name",
                )
            continue
        old = next((o for o in d.olds if survey.db_has_table((schema, o))), None)
        if old is None:
            if d.source == SOURCE_CLI:
                notes.append(f"--rename {d.label} did not apply: no table {_qual(schema, d.olds[0])} in the database")
            continue
        live[key_new] = (old, d)
    changed = True
    while changed:
        changed = False
        olds = {(k[0], o) for k, (o, _) in live.items()}
        for key_new, (old, d) in list(live.items()):
            if survey.db_has_table(key_new) and key_new not in olds:
                if d.source == SOURCE_CLI or (key_new[0], old) in survey.dropped:
                    raise _declared_conflict(
                        "table",
                        f"cannot rename table {_qual(key_new[0], old)} to {key_new[1]}: "
                        f"a table {key_new[1]} already exists in the database",
                        schema=key_new[0],
                        old=old,
                        new=key_new[1],
                        hint="drop or rename the existing table first, in its own migration"
                        if d.source == SOURCE_CLI
                        else f"both exist, so this migration would drop {old}: remove renamed_from if that "
                        f"is intended, or drop/rename {key_new[1]} first",
                    )
                del live[key_new]  # already carried out (or the target predates it)
                changed = True
    by_old: dict[Key, list[Key]] = {}
    for key_new, (old, _) in live.items():
        by_old.setdefault((key_new[0], old), []).append(key_new)
    for old_key, news in by_old.items():
        if len(news) > 1:
            raise _declared_conflict(
                "table",
                f"table {_qual(*old_key) if old_key[0] else old_key[1]} is declared renamed to "
                f"{' and '.join(sorted(n[1] for n in news))}",
                schema=old_key[0],
                old=old_key[1],
                hint="a table can only be renamed to one name: remove one renamed_from",
            )
    renames = [TableRename(k[0], old, k[1], d.source) for k, (old, d) in live.items()]
    renames = _drop_unevidenced_cycles(
        renames,
        lambda r: r.source == SOURCE_CLI,
        lambda keys: any(survey.changed.get(k) and survey.changed[k].has_ops for k in keys),
        notes,
        "table",
    )
    return renames, notes


def _cycles(pairs: Mapping[Any, Any]) -> list[list[Any]]:
    seen: set[Any] = set()
    cycles = []
    for start in pairs:
        if start in seen:
            continue
        path, node = [], start
        while node in pairs and node not in seen and node not in path:
            path.append(node)
            node = pairs[node]
        if node in path:
            cycles.append(path[path.index(node):])
        seen.update(path)
    return cycles


def _drop_unevidenced_cycles(renames: list[Any], forced: Callable[[Any], bool], evidence: Callable[[list[Any]], bool], notes: list[str], kind: str) -> list[Any]:
    """A declared swap (a<->b) would apply again on every run once done: keep it only
    when autogenerate saw differences on its members (or it came from --rename)."""

    def okey(r: Any) -> Any:
        return (r.schema, r.old) if kind == "table" else (r.schema, r.table, r.old)

    def nkey(r: Any) -> Any:
        return (r.schema, r.new) if kind == "table" else (r.schema, r.table, r.new)

    mapping = {okey(r): nkey(r) for r in renames}
    drop: set[Any] = set()
    for cyc in _cycles(mapping):
        members = [r for r in renames if okey(r) in cyc]
        if any(forced(r) for r in members):
            continue
        keys = [(k[0], k[1]) for k in cyc]
        if not evidence(keys):
            drop.update(cyc)
            names = " <-> ".join(str(k[-1]) for k in cyc)
            notes.append(
                f"declared {kind} swap {names} ignored: the database already matches the models "
                "(remove the renamed_from declarations once migrated)"
            )
    return [r for r in renames if okey(r) not in drop]


def table_candidates(survey: Survey, taken_old: set[Key] = frozenset(), taken_new: set[Key] = frozenset()) -> list[RenameCandidate]:
    """Step 3: score every dropped table against every created table of its schema."""
    scores: dict[tuple[Key, Key], float] = {}
    for dk, dfacts in survey.dropped.items():
        if dk in taken_old:
            continue
        for ck, cfacts in survey.created.items():
            if ck in taken_new or ck[0] != dk[0]:
                continue
            if shared_column_fraction(dfacts, cfacts) < TABLE_MIN_SHARED_COLUMNS:
                continue
            s = score_tables(dfacts, cfacts)
            if s >= TABLE_MIN_SCORE:
                scores[(dk, ck)] = s
    return [
        RenameCandidate("table", o[0], None, o[1], n[1], s, amb, alts)
        for o, n, s, amb, alts in _pick(scores, label=lambda k: k[1])
    ]


@dataclass
class Resolution:
    accepted: list[RenameCandidate] = field(default_factory=list)
    rejected: list[RenameCandidate] = field(default_factory=list)
    unresolved: list[RenameCandidate] = field(default_factory=list)


def resolve(candidates: Sequence[RenameCandidate], questioner: Any) -> Resolution:
    """Step 4: ask about each candidate, best first; once a name is taken, its rivals are moot."""
    res = Resolution()
    used_old: set[Any] = set()
    used_new: set[Any] = set()
    for cand in sorted(candidates, key=lambda c: (-c.score, str(c.schema), str(c.table), c.old, c.new)):
        if cand.old_key in used_old or cand.new_key in used_new:
            continue
        if questioner.ask_rename(cand):
            res.accepted.append(cand)
            used_old.add(cand.old_key)
            used_new.add(cand.new_key)
        elif getattr(questioner, "decides", True):
            res.rejected.append(cand)
        else:
            res.unresolved.append(cand)
    return res


# --------------------------------------------------------------------------
# Step 5: columns


@dataclass
class ColumnScope:
    """The columns of one table as the database has them (old) and the models want them."""

    key: Key  # new key
    old_name: str  # table name in the database
    model: dict[str, ColumnFacts]
    dropped: dict[str, ColumnFacts]  # db columns not in the models (by name)
    added: dict[str, ColumnFacts]  # model columns not in the database
    db_names: set[str]
    has_diff: bool
    db_facts: dict[str, ColumnFacts] = field(default_factory=dict)  # known DB columns
    model_keys: dict[str, str] = field(default_factory=dict)  # column name -> attribute key


def column_scopes(
    survey: Survey,
    table_renames: Sequence[TableRename],
    reflect: Callable[[Key], TableFacts | None] | None = None,
    dialect: Dialect | None = None,
    only: set[Key] | None = None,
) -> dict[Key, ColumnScope]:
    """Where to look for column renames: every renamed table pair (all its columns) and
    every existing table autogenerate saw columns added to or dropped from.

    ``reflect(old_key)`` supplies the database columns of a renamed table that
    autogenerate did not report as dropped (chains, swaps); ``only`` limits the
    plain tables considered (the declared ones are always included by the caller).
    """
    scopes: dict[Key, ColumnScope] = {}
    for r in table_renames:
        old = survey.dropped.get(r.old_key)
        if old is None and reflect is not None:
            old = reflect(r.old_key)
        if old is None:
            raise RenameConflict(
                f"cannot read table {_qual(*r.old_key) if r.schema else r.old} from the database",
                kind="table",
                schema=r.schema,
                old=r.old,
                new=r.new,
            )
        table = survey.model[r.new_key]
        model = {c.name: column_facts(c, i, dialect) for i, c in enumerate(table.columns)}
        db = {c.name: c for c in old.columns}
        scopes[r.new_key] = ColumnScope(
            key=r.new_key,
            old_name=r.old,
            model=model,
            dropped={n: f for n, f in db.items() if n not in model},
            added={n: f for n, f in model.items() if n not in db},
            db_names=set(db),
            has_diff=True,
            db_facts=db,
            model_keys={c.name: c.key for c in table.columns},
        )
    renamed_new = {r.new_key for r in table_renames}
    renamed_old = {r.old_key for r in table_renames}
    for key, ch in survey.changed.items():
        if key in renamed_new or key in renamed_old or key not in survey.model:
            continue
        if only is not None and key not in only and not (ch.added and ch.dropped):
            continue
        table = survey.model[key]
        model = {c.name: column_facts(c, i, dialect) for i, c in enumerate(table.columns)}
        scopes[key] = ColumnScope(
            key=key,
            old_name=key[1],
            model=model,
            dropped=dict(ch.dropped),
            added=dict(ch.added),
            db_names=(set(model) - set(ch.added)) | set(ch.dropped),
            has_diff=ch.has_ops,
            db_facts=dict(ch.dropped),
            model_keys={c.name: c.key for c in table.columns},
        )
    return scopes


def _scope_for(survey: Survey, key: Key, dialect: Dialect | None) -> ColumnScope | None:
    table = survey.model.get(key)
    if table is None or key in survey.created:
        return None
    model = {c.name: column_facts(c, i, dialect) for i, c in enumerate(table.columns)}
    return ColumnScope(
        key=key,
        old_name=key[1],
        model=model,
        dropped={},
        added={},
        db_names=set(model),
        has_diff=False,
        db_facts={},
        model_keys={c.name: c.key for c in table.columns},
    )


def plan_column_renames(
    scopes: dict[Key, ColumnScope],
    declared: DeclaredRenames,
    survey: Survey,
    reflect: Callable[[Key], TableFacts | None] | None = None,
    dialect: Dialect | None = None,
) -> tuple[list[ColumnRename], list[str]]:
    """Declared column renames that apply (same rules as tables, per table)."""
    notes: list[str] = []
    by_table: dict[Key, list[Any]] = {}
    for (schema, table, new), d in declared.columns.items():
        by_table.setdefault((schema, table), []).append(d)
    out: list[ColumnRename] = []
    for key, decls in by_table.items():
        scope = scopes.get(key)
        if scope is None:
            if key not in survey.model:
                if any(d.source == SOURCE_CLI for d in decls):
                    d = next(d for d in decls if d.source == SOURCE_CLI)
                    raise RenameConflict(
                        f"--rename {d.label}: there is no table {_qual(*key) if key[0] else key[1]} in the models",
                        kind="column",
                        schema=key[0],
                        table=key[1],
                        old=d.olds[0],
                        new=d.new,
                        hint="name the table by its new name: --rename NEW_TABLE.OLD_COLUMN=NEW_COLUMN",
                    )
                continue
            if key in survey.created:
                continue  # a brand-new table: nothing to rename in the database
            scope = _scope_for(survey, key, dialect)
            if scope is None:
                continue
            scopes[key] = scope
        live: dict[str, tuple[str, Any]] = {}
        for d in decls:
            if d.new not in scope.model:
                if d.source == SOURCE_CLI:
                    raise RenameConflict(
                        f"--rename {d.label}: table {key[1]} has no column {d.new} in the models",
                        kind="column",
                        schema=key[0],
                        table=key[1],
                        old=d.olds[0],
                        new=d.new,
                    )
                continue
            old = next((o for o in d.olds if o in scope.db_names), None)
            if old is None:
                if d.source == SOURCE_CLI:
                    notes.append(f"--rename {d.label} did not apply: no column {d.olds[0]} in {scope.old_name}")
                continue
            live[d.new] = (old, d)
        changed = True
        while changed:
            changed = False
            olds = {o for o, _ in live.values()}
            for new, (old, d) in list(live.items()):
                if new in scope.db_names and new not in olds:
                    if d.source == SOURCE_CLI or old in scope.dropped:
                        raise RenameConflict(
                            f"cannot rename column {key[1]}.{old} to {new}: column {new} already exists",
                            kind="column",
                            schema=key[0],
                            table=key[1],
                            old=old,
                            new=new,
                            hint="drop or rename the existing column first"
                            if d.source == SOURCE_CLI
                            else f"both exist, so this migration would drop {old}: remove renamed_from if "
                            "that is intended",
                        )
                    del live[new]
                    changed = True
        seen: dict[str, str] = {}
        for new, (old, d) in live.items():
            if old in seen:
                raise RenameConflict(
                    f"column {key[1]}.{old} is declared renamed to both {seen[old]} and {new}",
                    kind="column",
                    schema=key[0],
                    table=key[1],
                    old=old,
                    hint="a column can only be renamed to one name",
                )
            seen[old] = new
        renames = [ColumnRename(key[0], key[1], old, new, d.source) for new, (old, d) in live.items()]
        renames = _drop_unevidenced_cycles(
            renames, lambda r: r.source == SOURCE_CLI, lambda _keys: scope.has_diff, notes, "column"
        )
        for r in renames:
            existing = scope.db_facts.get(r.old)
            if existing is None and reflect is not None:
                facts = reflect((key[0], scope.old_name))
                if facts is not None:
                    scope.db_facts.update({c.name: c for c in facts.columns})
                    existing = scope.db_facts.get(r.old)
            out.append(replace(r, existing=existing))
    return out, notes


def column_candidates(scopes: Mapping[Key, ColumnScope], taken: Sequence[ColumnRename] = ()) -> list[RenameCandidate]:
    """Dropped x added columns of each table, scored; declared renames excluded."""
    out: list[RenameCandidate] = []
    for key, scope in scopes.items():
        used_old = {r.old for r in taken if r.table_key == key}
        used_new = {r.new for r in taken if r.table_key == key}
        # a column renamed away by a declaration frees its name; the dropped set is db - model
        dropped = {n: f for n, f in scope.dropped.items() if n not in used_old}
        added = {n: f for n, f in scope.added.items() if n not in used_new}
        scores: dict[tuple[str, str], float] = {}
        for dn, df in dropped.items():
            for an, af in added.items():
                s = score_columns(df, af)
                if s >= COLUMN_MIN_SCORE:
                    scores[(dn, an)] = s
        for o, n, s, amb, alts in _pick(scores):
            out.append(
                RenameCandidate(
                    "column", key[0], key[1], o, n, s, amb, alts, column_key=scope.model_keys.get(n, n)
                )
            )
    return out


def column_rename_from(candidate: RenameCandidate, scope: ColumnScope, source: str) -> ColumnRename:
    return ColumnRename(
        candidate.schema,
        candidate.table or "",
        candidate.old,
        candidate.new,
        source,
        candidate.score,
        existing=scope.db_facts.get(candidate.old) or scope.dropped.get(candidate.old),
    )


def build_plan(
    survey: Survey, tables: Sequence[TableRename], columns: Sequence[ColumnRename], scopes: Mapping[Key, ColumnScope]
) -> RenamePlan:
    """Freeze the accepted renames; find model tables/columns that re-use a name renamed away."""
    news = {r.new_key for r in tables}
    fresh_tables = tuple(r.old_key for r in tables if r.old_key in survey.model and r.old_key not in news)
    fresh_cols = []
    for key in {c.table_key for c in columns}:
        scope = scopes.get(key)
        model = scope.model if scope else {}
        cnew = {c.new for c in columns if c.table_key == key}
        for c in columns:
            if c.table_key == key and c.old in model and c.old not in cnew:
                fresh_cols.append((key[0], key[1], c.old))
    return RenamePlan(tuple(tables), tuple(columns), fresh_tables, tuple(sorted(fresh_cols, key=str)))


# --------------------------------------------------------------------------
# Step 6: the models under the old names (for Alembic to diff against the database)


@dataclass
class OldWorld:
    metadata: sa.MetaData
    copies: dict[Key, sa.Table]  # new key -> copy named with the old names
    by_copy: dict[Key, Key]  # (schema, copy name) -> new key
    stubs: set[int]  # id() of stub tables (not to be compared)
    aliases: dict[Key, Key]  # stub key -> real (model) key
    skipped_indexes: dict[Key, set[str]]  # new key -> names of expression indexes not copied

    def include_object(self, user: Callable[..., bool] | None) -> Callable[..., bool]:
        def include(obj: Any, name: Any, type_: str, reflected: bool, compare_to: Any) -> bool:
            if type_ == "table" and not reflected and id(obj) in self.stubs:
                return False
            return user(obj, name, type_, reflected, compare_to) if user else True

        return include

    def include_name(self, user: Callable[..., bool] | None) -> Callable[..., bool]:
        wanted = set(self.by_copy)
        schemas = {k[0] for k in wanted}

        def include(name: Any, type_: str, parent_names: Mapping[str, Any]) -> bool:
            if type_ == "schema":
                if name not in schemas:
                    return False
            elif type_ == "table":
                if (parent_names.get("schema_name"), name) not in wanted:
                    return False
            return user(name, type_, parent_names) if user else True

        return include


def _copy_server_default(sd: Any) -> Any:
    if sd is None:
        return None
    if isinstance(sd, sa.Identity):
        kw = {}
        for attr in (
            "always",
            "on_null",
            "start",
            "increment",
            "minvalue",
            "maxvalue",
            "nominvalue",
            "nomaxvalue",
            "cycle",
            "cache",
            "order",
        ):
            if hasattr(sd, attr):
                kw[attr] = getattr(sd, attr)
        try:
            return sa.Identity(**kw)
        except TypeError:
            return sa.Identity(always=sd.always, start=sd.start, increment=sd.increment)
    if isinstance(sd, sa.Computed):
        return sa.Computed(sd.sqltext, persisted=sd.persisted)
    if isinstance(sd, sa.DefaultClause):
        return sa.DefaultClause(sd.arg, for_update=sd.for_update)
    if isinstance(sd, sa.FetchedValue):
        return sa.FetchedValue(for_update=sd.for_update)
    return None


def _copy_column(col: sa.Column, name: str) -> sa.Column:
    type_ = col.type
    if isinstance(type_, (sa.types.SchemaType, sa.types.TypeDecorator)):
        type_ = type_.copy()
    kw: dict[str, Any] = dict(
        key=col.key,
        primary_key=col.primary_key,
        nullable=col.nullable,
        autoincrement=col.autoincrement,
        comment=col.comment,
        server_default=_copy_server_default(col.server_default),
        info=dict(col.info),
    )
    if col.server_onupdate is not None:
        kw["server_onupdate"] = _copy_server_default(col.server_onupdate)
    if isinstance(col.default, sa.Sequence):
        kw["default"] = sa.Sequence(col.default.name, schema=col.default.schema)
    kw.update(col.dialect_kwargs)
    return sa.Column(name, type_, **kw)


def old_world_metadata(plan: RenamePlan, model: Mapping[Key, sa.Table], skip: Iterable[Key] = ()) -> OldWorld:
    """Step 6: copies of the affected model tables carrying their *old* table and column
    names, every other detail (types, defaults, index and constraint names) kept.

    Alembic then diffs these copies against the database: what remains are the
    changes that are not renames, in old names (``rewrite`` moves them to the new).
    """
    md = sa.MetaData()
    copies: dict[Key, sa.Table] = {}
    by_copy: dict[Key, Key] = {}
    fresh = {(s, t, c) for s, t, c in plan.fresh_columns}
    skipped: dict[Key, set[str]] = {}
    col_old: dict[Key, dict[str, str]] = {
        key: {v: k for k, v in plan.columns_of(key).items()} for key in plan.affected
    }
    skip = set(skip)
    for key in plan.affected:
        if key in skip:
            continue
        table = model[key]
        old_key = plan.table_old(key) or key
        new2old = col_old[key]
        cols = [
            _copy_column(c, new2old.get(c.name, c.name))
            for c in table.columns
            if (key[0], key[1], c.name) not in fresh
        ]
        kwargs = dict(table.dialect_kwargs)
        copy = sa.Table(old_key[1], md, *cols, schema=key[0], comment=table.comment, **kwargs)
        copies[key] = copy
        by_copy[(key[0], old_key[1])] = key
    stubs: dict[Key, sa.Table] = {}
    aliases: dict[Key, Key] = {}

    def target_for(ref_table: sa.Table) -> sa.Table:
        rkey = (ref_table.schema, ref_table.name)
        for k, t in model.items():
            if t is ref_table:
                rkey = k
                break
        if rkey in copies:
            return copies[rkey]
        if rkey in stubs:
            return stubs[rkey]
        name = ref_table.name
        while (rkey[0], name) in by_copy or sa.schema._get_table_key(name, rkey[0]) in md.tables:
            name = name + STUB_SUFFIX
        stub = sa.Table(name, md, schema=ref_table.schema)
        stubs[rkey] = stub
        if name != ref_table.name:
            aliases[(ref_table.schema, name)] = rkey
        return stub

    for key, copy in copies.items():
        table = model[key]
        new2old = col_old[key]
        by_key = {c.key: c for c in copy.columns}

        def cc(col: sa.Column) -> sa.Column | None:
            return by_key.get(col.key)

        pk = table.primary_key
        if pk is not None and pk.columns and all(cc(c) is not None for c in pk.columns):
            copy.append_constraint(sa.PrimaryKeyConstraint(*[cc(c) for c in pk.columns], name=_name(pk.name)))
        for cons in table.constraints:
            if isinstance(cons, sa.UniqueConstraint) and not isinstance(cons, sa.PrimaryKeyConstraint):
                cols = [cc(c) for c in cons.columns]
                if cols and all(c is not None for c in cols):
                    copy.append_constraint(
                        sa.UniqueConstraint(
                            *cols,
                            name=_name(cons.name),
                            deferrable=cons.deferrable,
                            initially=cons.initially,
                            **cons.dialect_kwargs,
                        )
                    )
        for fkc in table.foreign_key_constraints:
            try:
                targets = [fk.column for fk in fkc.elements]
            except Exception:
                continue
            local = [cc(c) for c in fkc.columns]
            if not local or any(c is None for c in local):
                continue
            ref = target_for(targets[0].table)
            rkey = (targets[0].table.schema, targets[0].table.name)
            for k, t in model.items():
                if t is targets[0].table:
                    rkey = k
            ref_map = col_old.get(rkey, {})  # a table renaming columns: still the old names
            refcols = []
            is_copy = any(ref is c for c in copies.values())
            for t in targets:
                cname = ref_map.get(t.name, t.name)
                if is_copy:
                    refcols.append(ref.c[t.key] if t.key in ref.c else ref.c[cname])
                else:
                    if cname not in ref.c:
                        ref.append_column(sa.Column(cname, sa.types.NullType()))
                    refcols.append(ref.c[cname])
            copy.append_constraint(
                sa.ForeignKeyConstraint(
                    local,
                    refcols,
                    name=_name(fkc.name),
                    onupdate=fkc.onupdate,
                    ondelete=fkc.ondelete,
                    deferrable=fkc.deferrable,
                    initially=fkc.initially,
                    match=fkc.match,
                    use_alter=fkc.use_alter,
                    **fkc.dialect_kwargs,
                )
            )
        for idx in table.indexes:
            exprs = list(idx.expressions)
            cols = [cc(e) if isinstance(e, sa.Column) else None for e in exprs]
            if not cols or any(c is None for c in cols):
                if idx.name:
                    skipped.setdefault(key, set()).add(str(idx.name))
                continue
            sa.Index(_name(idx.name), *cols, unique=idx.unique, **idx.dialect_kwargs)
    return OldWorld(md, copies, by_copy, {id(t) for t in stubs.values()}, aliases, skipped)


# --------------------------------------------------------------------------
# Step 7: rewrite


@dataclass(frozen=True)
class DerivedRename:
    """An index/constraint/sequence whose name derives from a renamed table or column."""

    kind: str  # index | unique | primary_key | foreign_key | check | sequence
    schema: str | None
    table: str  # the (new) table it belongs to
    old: str
    new: str
    columns: tuple[str, ...] = ()  # new-world column names (indexes)
    unique: bool = False
    model_index: Any = field(default=None, compare=False, hash=False, repr=False)

    def describe(self) -> str:
        return f"{self.kind.replace('_', ' ')} {self.old} -> {self.new} (table {_qual(self.schema, self.table)})"


@dataclass
class RewriteResult:
    upgrade_ops: ops.UpgradeOps
    derived: list[DerivedRename]
    notes: list[str]


@dataclass(frozen=True)
class DbNames:
    """Names of the constraints and sequences of one table in the database (old names)."""

    pk_name: str | None = None
    primary_key: tuple[str, ...] = ()
    uniques: tuple[IndexFacts, ...] = ()
    foreign_keys: tuple[ForeignKeyFacts, ...] = ()
    checks: tuple[str, ...] = ()
    sequences: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_facts(cls, facts: TableFacts) -> "DbNames":
        return cls(facts.pk_name, facts.primary_key, facts.uniques, facts.foreign_keys, facts.checks, facts.sequences)


class _Maps:
    """Name mappings of a plan, old world -> new world."""

    def __init__(self, plan: RenamePlan, world: OldWorld | None) -> None:
        self.plan = plan
        self.world = world
        self.t_new = {r.old_key: r.new_key for r in plan.tables}
        self.c_new: dict[Key, dict[str, str]] = {}
        for c in plan.columns:
            self.c_new.setdefault(c.table_key, {})[c.old] = c.new

    def table(self, schema: str | None, old: str) -> Key:
        key = (schema, old)
        if self.world is not None and key in self.world.aliases:
            return self.world.aliases[key]
        return self.t_new.get(key, key)

    def col(self, new_key: Key, old_col: str) -> str:
        return self.c_new.get(new_key, {}).get(old_col, old_col)

    def cols(self, new_key: Key, cols: Iterable[Any]) -> list[Any]:
        return [self.col(new_key, c) if isinstance(c, str) else c for c in cols]

    def references_renamed(self, schema: str | None, table: str, cols: Iterable[str] = ()) -> bool:
        key = (schema, table)
        if key in self.t_new:
            return True
        new_key = self.t_new.get(key, key)
        m = self.c_new.get(new_key, {})
        return any(c in m for c in cols)


def _fk_spec_from_create(op: ops.CreateForeignKeyOp) -> tuple:
    kw = op.kw
    return (
        kw.get("source_schema"),
        op.source_table,
        tuple(op.local_cols),
        kw.get("referent_schema"),
        op.referent_table,
        tuple(op.remote_cols),
        _fk_options(kw.get("ondelete"), kw.get("onupdate"), kw.get("deferrable"), kw.get("initially"), kw.get("match")),
    )


def _drop_fk_create(op: ops.DropConstraintOp) -> ops.CreateForeignKeyOp | None:
    if op.constraint_type != "foreignkey":
        return None
    try:
        rev = op.reverse()
    except Exception:
        return None
    return rev if isinstance(rev, ops.CreateForeignKeyOp) else None


def _map_fk_spec(spec: tuple, maps: _Maps) -> tuple:
    ss, st, lc, rs, rt, rc, opts = spec
    src = maps.table(ss, st)
    ref = maps.table(rs, rt)
    return (src[0], src[1], tuple(maps.cols(src, lc)), ref[0], ref[1], tuple(maps.cols(ref, rc)), opts)


def _index_spec_of(index: sa.Index) -> tuple[tuple[str | None, ...], bool]:
    return tuple(_expr_name(e) for e in (list(index.expressions) or list(index.columns))), bool(index.unique)


def _create_index_spec(op: ops.CreateIndexOp) -> tuple[tuple[str | None, ...], bool]:
    return tuple(_expr_name(c) for c in op.columns), bool(op.unique)


def _drop_index_spec(op: ops.DropIndexOp) -> tuple[tuple[str | None, ...], bool] | None:
    try:
        return _index_spec_of(op.to_index())
    except Exception:
        return None


def _find_model_index(table: sa.Table, name: Any) -> sa.Index | None:
    for idx in table.indexes:
        if idx.name is not None and str(idx.name) == str(name):
            return idx
    return None


def _find_model_constraint(table: sa.Table, cls: type, name: Any, cols: Sequence[str] | None = None) -> Any:
    for c in table.constraints:
        if isinstance(c, cls) and not (cls is sa.UniqueConstraint and isinstance(c, sa.PrimaryKeyConstraint)):
            if name is not None and c.name is not None and str(c.name) == str(name):
                return c
    if cols is not None:
        for c in table.constraints:
            if isinstance(c, cls) and [col.name for col in c.columns] == list(cols):
                return c
    return None


def _retarget(op: Any, key: Key, old_name: str, maps: _Maps, table: sa.Table) -> Any | None:
    """One old-world op of a renamed table, expressed on the new names (None: unknown op)."""
    schema, new = key
    if isinstance(op, RenameColumn):
        return None
    if isinstance(op, ops.AlterColumnOp):
        kw = dict(op.kw)
        return ops.AlterColumnOp(
            new,
            maps.col(key, op.column_name),
            schema=schema,
            existing_type=op.existing_type,
            existing_server_default=op.existing_server_default,
            existing_nullable=op.existing_nullable,
            existing_comment=op.existing_comment,
            modify_nullable=op.modify_nullable,
            modify_comment=op.modify_comment,
            modify_server_default=op.modify_server_default,
            modify_name=op.modify_name,
            modify_type=op.modify_type,
            **kw,
        )
    if isinstance(op, ops.AddColumnOp):
        col = table.c.get(op.column.key) if op.column.key in table.c else None
        if col is None:
            col = next((c for c in table.columns if c.name == maps.col(key, op.column.name)), None)
        if col is None:
            return None
        return ops.AddColumnOp.from_column_and_tablename(schema, new, col)
    if isinstance(op, ops.DropColumnOp):
        return ops.DropColumnOp.from_column_and_tablename(schema, new, op.to_column())
    if isinstance(op, ops.CreateIndexOp):
        idx = _find_model_index(table, op.index_name)
        if idx is not None:
            return ops.CreateIndexOp.from_index(idx)
        cols = [maps.col(key, n) if n else c for n, c in zip((_expr_name(c) for c in op.columns), op.columns)]
        return ops.CreateIndexOp(op.index_name, new, cols, schema=schema, unique=op.unique, **op.kw)
    if isinstance(op, ops.DropIndexOp):
        try:
            index = op.to_index()
        except Exception:
            return ops.DropIndexOp(op.index_name, table_name=new, schema=schema)
        cols = [maps.col(key, n) if n else sa.text(str(e)) for n, e in zip((_expr_name(e) for e in index.expressions), index.expressions)]
        rebuilt = ops.CreateIndexOp(op.index_name, new, cols, schema=schema, unique=index.unique)
        return ops.DropIndexOp.from_index(rebuilt.to_index())
    if isinstance(op, ops.CreateUniqueConstraintOp):
        cons = _find_model_constraint(table, sa.UniqueConstraint, op.constraint_name)
        if cons is not None:
            return ops.CreateUniqueConstraintOp.from_constraint(cons)
        return ops.CreateUniqueConstraintOp(op.constraint_name, new, maps.cols(key, op.columns), schema=schema, **op.kw)
    if isinstance(op, ops.CreateForeignKeyOp):
        cons = _find_model_constraint(table, sa.ForeignKeyConstraint, op.constraint_name)
        if cons is not None:
            return ops.CreateForeignKeyOp.from_constraint(cons)
        return _mapped_create_fk(op, maps)
    if isinstance(op, ops.DropConstraintOp):
        try:
            rev = op.reverse()
        except Exception:
            return ops.DropConstraintOp(op.constraint_name, new, type_=op.constraint_type, schema=schema)
        mapped: Any
        if isinstance(rev, ops.CreateForeignKeyOp):
            mapped = _mapped_create_fk(rev, maps)
        elif isinstance(rev, ops.CreateUniqueConstraintOp):
            mapped = ops.CreateUniqueConstraintOp(rev.constraint_name, new, maps.cols(key, rev.columns), schema=schema)
        elif isinstance(rev, ops.CreatePrimaryKeyOp):
            mapped = ops.CreatePrimaryKeyOp(rev.constraint_name, new, maps.cols(key, rev.columns), schema=schema)
        else:
            return ops.DropConstraintOp(op.constraint_name, new, type_=op.constraint_type, schema=schema)
        return ops.DropConstraintOp.from_constraint(mapped.to_constraint())
    if isinstance(op, ops.CreateTableCommentOp):
        return ops.CreateTableCommentOp(new, op.comment, schema=schema, existing_comment=op.existing_comment)
    if isinstance(op, ops.DropTableCommentOp):
        return ops.DropTableCommentOp(new, schema=schema, existing_comment=op.existing_comment)
    return None


def _mapped_create_fk(op: ops.CreateForeignKeyOp, maps: _Maps) -> ops.CreateForeignKeyOp:
    kw = dict(op.kw)
    src = maps.table(kw.get("source_schema"), op.source_table)
    ref = maps.table(kw.get("referent_schema"), op.referent_table)
    kw["source_schema"] = src[0]
    kw["referent_schema"] = ref[0]
    return ops.CreateForeignKeyOp(
        op.constraint_name, src[1], ref[1], maps.cols(src, op.local_cols), maps.cols(ref, op.remote_cols), **kw
    )


def order_renames(pairs: Sequence[tuple[str, str]], taken: Iterable[str] = ()) -> list[tuple[str, str]]:
    """Sequence parallel renames: a->b after b->c (chains); cycles (swaps) via a temporary name."""
    pending = dict(pairs)
    names = set(taken) | set(pending) | set(pending.values())
    out: list[tuple[str, str]] = []
    while pending:
        ready = sorted(o for o, n in pending.items() if n not in pending)
        if ready:
            for o in ready:
                out.append((o, pending.pop(o)))
            continue
        o = min(pending)
        n = pending.pop(o)
        tmp = o[: PG_MAX_IDENTIFIER - len(TEMP_SUFFIX) - 2] + TEMP_SUFFIX
        i = 1
        while tmp in names:
            tmp = f"{o[: PG_MAX_IDENTIFIER - len(TEMP_SUFFIX) - 4]}{TEMP_SUFFIX}{i}"
            i += 1
        names.add(tmp)
        out.append((o, tmp))
        pending[tmp] = n
    return out


def _pg_default(table: str, cols: Sequence[str], suffix: str) -> str | None:
    name = "_".join([table, *cols, suffix]) if cols else f"{table}_{suffix}"
    return name if len(name) <= PG_MAX_IDENTIFIER else None


def _substitute(name: str, new_table: str, old_table: str, new2old: Mapping[str, str]) -> str:
    out = name.replace(new_table, old_table) if new_table != old_table else name
    for n, o in sorted(new2old.items(), key=lambda kv: -len(kv[0])):
        out = out.replace(n, o)
    return out


def derived_from_names(
    key: Key, old_name: str, db: DbNames, table: sa.Table, maps: _Maps
) -> list[DerivedRename]:
    """Constraint/sequence renames that keep names in step with a renamed table/column:
    the model's name when it has one, else the database's default naming
    (``{table}_pkey``, ``{table}_{cols}_key``, ``{table}_{cols}_fkey``, ``{table}_{col}_seq``)."""
    schema, new = key
    out: list[DerivedRename] = []
    new2old = {v: k for k, v in maps.c_new.get(key, {}).items()}

    def want(kind: str, db_name: str | None, model_name: Any, old_cols: Sequence[str], suffix: str) -> None:
        if not db_name:
            return
        new_cols = [maps.col(key, c) for c in old_cols]
        if isinstance(model_name, str):
            target = str(model_name)
        else:
            named_cols = suffix != "pkey"  # PostgreSQL: {table}_pkey, {table}_{cols}_key/_fkey
            if db_name != _pg_default(old_name, old_cols if named_cols else [], suffix):
                return
            target = _pg_default(new, new_cols if named_cols else [], suffix)
        if target and target != db_name:
            out.append(DerivedRename(kind, schema, new, db_name, target, tuple(new_cols)))

    pk = table.primary_key
    if db.pk_name and pk is not None and pk.columns:
        want("primary_key", db.pk_name, pk.name, db.primary_key, "pkey")
    for u in db.uniques:
        cols = [maps.col(key, c) for c in u.columns if c]
        cons = _find_model_constraint(table, sa.UniqueConstraint, None, cols)
        if cons is not None:
            want("unique", u.name, cons.name, [c for c in u.columns if c], "key")
    for f in db.foreign_keys:
        src_cols = [maps.col(key, c) for c in f.columns]
        ref = maps.table(f.ref_schema, f.ref_table)
        ref_cols = [maps.col(ref, c) for c in f.ref_columns]
        for fkc in table.foreign_key_constraints:
            mf = fk_facts(fkc)
            if mf is None:
                continue
            if list(mf.columns) == src_cols and mf.ref_table == ref[1] and list(mf.ref_columns) == ref_cols:
                want("foreign_key", f.name, fkc.name, list(f.columns), "fkey")
                break
    model_checks = {str(c.name) for c in table.constraints if isinstance(c, sa.CheckConstraint) and isinstance(c.name, str)}
    for name in db.checks:
        if name in model_checks:
            continue
        match = next((m for m in model_checks if _substitute(m, new, old_name, new2old) == name), None)
        if match:
            out.append(DerivedRename("check", schema, new, name, match))
            continue
        for col in [None, *sorted({c.name for c in table.columns} | set(new2old.values()))]:
            old_col = new2old.get(col, col) if col else None
            cols_old = [old_col] if old_col else []
            if name == _pg_default(old_name, cols_old, "check"):
                target = _pg_default(new, [maps.col(key, old_col)] if old_col else [], "check")
                if target and target != name and target not in model_checks:
                    out.append(DerivedRename("check", schema, new, name, target))
                break
    for old_col, seq in db.sequences:
        new_col = maps.col(key, old_col)
        col = next((c for c in table.columns if c.name == new_col), None)
        if col is not None and isinstance(col.default, sa.Sequence):
            target = col.default.name
        elif seq == _pg_default(old_name, [old_col], "seq"):
            target = _pg_default(new, [new_col], "seq")
        else:
            continue
        if target and target != seq:
            out.append(DerivedRename("sequence", schema, new, seq, target))
    return out


def derived_ops(derived: Sequence[DerivedRename], dialect: Dialect) -> tuple[list[Any], list[str], list[DerivedRename]]:
    """Turn derived renames into ops this dialect can run without rebuilding a table.

    Returns (ops, notes on renames it cannot do, the renames done)."""
    notes: list[str] = []
    out: list[Any] = []
    done: list[DerivedRename] = []
    name = dialect.name
    renames: dict[tuple[str, Any], list[DerivedRename]] = {}
    recreate: list[DerivedRename] = []
    for d in derived:
        if d.kind == "index":
            if name in INDEX_RENAME_DIALECTS:
                ns = (d.schema,) if name == "postgresql" else (d.schema, d.table)
                renames.setdefault(("index", ns), []).append(d)
            else:
                recreate.append(d)
            done.append(d)
        elif name in CONSTRAINT_RENAME_DIALECTS:
            ns = (d.schema,) if d.kind in ("sequence", "unique", "primary_key") else (d.schema, d.table)
            renames.setdefault((d.kind if d.kind == "sequence" else "constraint", ns), []).append(d)
            done.append(d)
        else:
            notes.append(
                f"{name} cannot rename {d.kind.replace('_', ' ')} {d.old} of table {d.table} without "
                f"rebuilding the table: it keeps its old name (the models call it {d.new})"
            )
    for (_group, _ns), items in renames.items():
        by_old = {d.old: d for d in items}
        for old, new in order_renames([(d.old, d.new) for d in items]):
            d = by_old.get(old) or next(x for x in items if x.new == new)
            out.append(RenameObjectSQL(d.kind, d.schema, d.table, old, new, dialect=dialect))
    drops, creates = [], []
    for d in recreate:
        old_idx = ops.CreateIndexOp(d.old, d.table, list(d.columns), schema=d.schema, unique=d.unique)
        drops.append(ops.DropIndexOp.from_index(old_idx.to_index()))
        if d.model_index is not None:
            creates.append(ops.CreateIndexOp.from_index(d.model_index))
        else:
            creates.append(ops.CreateIndexOp(d.new, d.table, list(d.columns), schema=d.schema, unique=d.unique))
    return out + drops + creates, notes, done


def _pair_away(
    mops: list[Any],
    maps: _Maps,
    key: Key | None,
    table: sa.Table | None,
    derived: list[DerivedRename],
    notes: list[str],
    *,
    keep_unique_renames: bool = False,
    rebuilt: set[str] | None = None,
    new_world: bool = False,
) -> list[Any]:
    """Cancel drop/create pairs that describe the same index/constraint once renames
    are taken into account; record a derived rename when only the name differs.

    ``new_world``: the creates are already in new names (an original autogenerate
    ModifyTableOps) and only the drops (from the database) are mapped; otherwise
    both sides are in old names (Alembic's diff of the old-world copies)."""
    result = list(mops)
    rebuilt = rebuilt if rebuilt is not None else set()

    def drop_cols(cols: Sequence[Any]) -> tuple[Any, ...]:
        return tuple(maps.col(key, c) if isinstance(c, str) else c for c in cols) if new_world else tuple(cols)

    # indexes and unique constraints (only within a table whose columns are renamed)
    if key is not None:
        for d in [o for o in result if isinstance(o, ops.DropIndexOp)]:
            dspec = _drop_index_spec(d)
            if dspec is None or None in dspec[0]:
                continue
            dspec = (drop_cols(dspec[0]), dspec[1])
            for c in [o for o in result if isinstance(o, ops.CreateIndexOp)]:
                if _create_index_spec(c) == dspec:
                    result.remove(d)
                    result.remove(c)
                    if str(d.index_name) != str(c.index_name):
                        idx = _find_model_index(table, c.index_name) if table is not None else None
                        derived.append(
                            DerivedRename(
                                "index",
                                key[0],
                                key[1],
                                str(d.index_name),
                                str(c.index_name),
                                tuple(n if new_world else maps.col(key, n) for n in dspec[0] if n),
                                dspec[1],
                                model_index=idx,
                            )
                        )
                    break
        for d in [o for o in result if isinstance(o, ops.DropConstraintOp) and o.constraint_type == "unique"]:
            try:
                rev = d.reverse()
            except Exception:
                continue
            for c in [o for o in result if isinstance(o, ops.CreateUniqueConstraintOp)]:
                if list(c.columns) == list(drop_cols(rev.columns)):
                    renamed = d.constraint_name and c.constraint_name and str(d.constraint_name) != str(c.constraint_name)
                    if renamed and keep_unique_renames:
                        rebuilt.add(str(d.constraint_name))
                        notes.append(
                            f"unique constraint {d.constraint_name} of table {key[1]} is renamed to "
                            f"{c.constraint_name} by a batch rebuild (this database cannot rename constraints)"
                        )
                        break
                    result.remove(d)
                    result.remove(c)
                    if d.constraint_name and c.constraint_name and str(d.constraint_name) != str(c.constraint_name):
                        derived.append(
                            DerivedRename("unique", key[0], key[1], str(d.constraint_name), str(c.constraint_name))
                        )
                    break
    # foreign keys: compare the database's (mapped to the new names) with the model's
    for d in [o for o in result if isinstance(o, ops.DropConstraintOp)]:
        create = _drop_fk_create(d)
        if create is None:
            continue
        dspec = _map_fk_spec(_fk_spec_from_create(create), maps)
        for c in [o for o in result if isinstance(o, ops.CreateForeignKeyOp)]:
            cspec = _fk_spec_from_create(c) if new_world else _map_fk_spec(_fk_spec_from_create(c), maps)
            if (dspec[2:6], dspec[6]) == (cspec[2:6], cspec[6]):
                result.remove(d)
                result.remove(c)
                if d.constraint_name and c.constraint_name and str(d.constraint_name) != str(c.constraint_name):
                    derived.append(
                        DerivedRename("foreign_key", cspec[0], cspec[1], str(d.constraint_name), str(c.constraint_name))
                    )
                break
    return result


def basic_compare_column(dialect: Dialect | None) -> Callable[[Key, sa.Column, sa.Column], Any]:
    """Type (as rendered), nullability and comment of a database column vs a model column.

    The hook uses Alembic's own type comparison instead (``DatabaseView.compare_column``);
    this one serves tests and callers without a database."""

    def compare(key: Key, db_col: sa.Column, model_col: sa.Column) -> ops.AlterColumnOp | None:
        changed_type = type_sql(db_col.type, dialect) != type_sql(model_col.type, dialect)
        return alter_column_op(key, db_col, model_col, type_changed=changed_type)

    return compare


def alter_column_op(
    key: Key, db_col: sa.Column, model_col: sa.Column, *, type_changed: bool, compare_comment: bool = True
) -> ops.AlterColumnOp | None:
    """The AlterColumnOp (on the new column name) for what differs besides the name, or None."""
    modify_nullable = bool(model_col.nullable) if bool(db_col.nullable) != bool(model_col.nullable) else None
    modify_comment: Any = False
    if compare_comment and (db_col.comment or None) != (model_col.comment or None):
        modify_comment = model_col.comment
    if not type_changed and modify_nullable is None and modify_comment is False:
        return None
    return ops.AlterColumnOp(
        key[1],
        model_col.name,
        schema=key[0],
        existing_type=db_col.type,
        existing_nullable=bool(db_col.nullable),
        existing_server_default=db_col.server_default if db_col.server_default is not None else False,
        existing_comment=db_col.comment,
        modify_type=model_col.type if type_changed else None,
        modify_nullable=modify_nullable,
        modify_comment=modify_comment,
    )


def inplace_tables(plan: RenamePlan, survey: Survey, *, compare_server_default: bool = False) -> set[Key]:
    """Tables whose only renames are simple column renames autogenerate already saw as
    drop + add: rewritten in place, without diffing them again (the common case, and
    cheaper).  Chains, swaps, re-used names and server-default comparison go the long way."""
    if compare_server_default:
        return set()
    renamed = {r.new_key for r in plan.tables} | {r.old_key for r in plan.tables}
    fresh = {(s, t) for s, t, _c in plan.fresh_columns}
    out = set()
    for key in {c.table_key for c in plan.columns}:
        ch = survey.changed.get(key)
        if key in renamed or key in fresh or ch is None:
            continue
        cols = [c for c in plan.columns if c.table_key == key]
        simple = all(c.old in ch.dropped and c.new in ch.added for c in cols)
        plain_defaults = all(
            not isinstance(getattr(f.column, "server_default", None), (sa.Computed, sa.Identity))
            for f in [*(ch.dropped[c.old] for c in cols if c.old in ch.dropped), *(ch.added[c.new] for c in cols if c.new in ch.added)]
        )
        if simple and plain_defaults:
            out.add(key)
    return out


def _inplace_ops(
    op: ops.ModifyTableOps,
    key: Key,
    plan: RenamePlan,
    maps: _Maps,
    table: sa.Table,
    derived: list[DerivedRename],
    notes: list[str],
    compare_column: Callable[[Key, sa.Column, sa.Column], Any],
    *,
    new_world_batch: bool,
    rebuilt: set[str],
) -> list[Any]:
    """Autogenerate's ops for a table with renamed columns, rewritten where they stand:
    the drop + add pairs go (the rename ops replace them), what else differs between
    the old and the new column is added, drops coming from the database are moved to
    the new column names (so their reverse is right), derived names are paired away."""
    renames = {c.old: c for c in plan.columns if c.table_key == key}
    news = {c.new for c in renames.values()}
    db_cols: dict[str, Any] = {}
    kept = []
    for o in op.ops:
        if isinstance(o, ops.DropColumnOp) and o.column_name in renames:
            db_cols[o.column_name] = o.to_column()
            continue
        if isinstance(o, ops.AddColumnOp) and o.column.name in news:
            continue
        kept.append(o)
    kept = _pair_away(
        kept, maps, key, table, derived, notes, new_world=True, keep_unique_renames=new_world_batch, rebuilt=rebuilt
    )
    out = []
    for o in kept:
        if isinstance(o, (ops.DropIndexOp, ops.DropConstraintOp)):
            m = _retarget(o, key, key[1], maps, table)
            out.append(m if m is not None else o)
        else:
            out.append(o)
    alters = []
    for old, c in renames.items():
        db_col = db_cols.get(old)
        if db_col is None and c.existing is not None:
            db_col = c.existing.column
        model_col = next((col for col in table.columns if col.name == c.new), None)
        if db_col is None or model_col is None:
            continue
        alter = compare_column(key, db_col, model_col)
        if alter is not None:
            alters.append(alter)
    return alters + out


#: dialects whose reflection the direct comparison of a renamed table is known to match
DIRECT_DIALECTS = frozenset({"sqlite", "postgresql"})


def direct_tables(
    plan: RenamePlan,
    survey: Survey,
    *,
    dialect_name: str,
    opts: Mapping[str, Any],
) -> dict[Key, TableFacts]:
    """Renamed tables that can be compared from what autogenerate already reflected
    (the dropped table) instead of asking Alembic to diff them again: the common case
    on SQLite and PostgreSQL.  Anything unusual takes Alembic's own comparison: object
    or name filters, server-default comparison, computed/identity columns, expression
    indexes, dialect-specific index options, chains and swaps."""
    if dialect_name not in DIRECT_DIALECTS:
        return {}
    if opts.get("include_object") or opts.get("include_name") or opts.get("compare_server_default"):
        return {}
    if opts.get("autogenerate_plugins") not in (None, ["alembic.autogenerate.*"]):
        return {}
    out: dict[Key, TableFacts] = {}
    fresh = {(s, t) for s, t, _c in plan.fresh_columns}
    news = {r.new_key for r in plan.tables}
    for r in plan.tables:
        old = survey.dropped.get(r.old_key)
        table = survey.model.get(r.new_key)
        if old is None or table is None or r.new_key in fresh or r.old_key in news:
            continue
        cols = [c.column for c in old.columns] + list(table.columns)
        if any(isinstance(getattr(c, "server_default", None), (sa.Computed, sa.Identity)) for c in cols):
            continue
        if any(None in i.columns for i in old.indexes):
            continue
        if any(
            i.dialect_kwargs or not all(isinstance(e, sa.Column) for e in i.expressions) for i in table.indexes
        ):
            continue
        out[r.new_key] = old
    return out


def _direct_ops(
    key: Key,
    old: TableFacts,
    table: sa.Table,
    maps: _Maps,
    derived: list[DerivedRename],
    notes: list[str],
    compare_column: Callable[[Key, sa.Column, sa.Column], Any],
    *,
    keep_unique_renames: bool,
    rebuilt: set[str],
    supports_comments: bool,
) -> list[Any]:
    """The differences between a renamed table in the database (``old``, as autogenerate
    reflected it) and in the models, as ops on the new names."""
    schema, new = key
    out: list[Any] = []
    db_cols = {maps.col(key, c.name): c.column for c in old.columns}
    model_cols = {c.name: c for c in table.columns}
    for name, col in model_cols.items():
        if name not in db_cols:
            out.append(ops.AddColumnOp.from_column_and_tablename(schema, new, col))
    for name, col in model_cols.items():
        if name in db_cols:
            alter = compare_column(key, db_cols[name], col)
            if alter is not None:
                out.append(alter)
    # indexes: the database's (new column names) against the model's
    db_idx = [(i, (tuple(maps.col(key, c) for c in i.columns if c), i.unique)) for i in old.indexes]
    model_idx = [(i, (tuple(e.name for e in i.expressions), bool(i.unique))) for i in table.indexes]
    for dbi, spec in db_idx:
        match = next((mi for mi, mspec in model_idx if mspec == spec), None)
        if match is not None:
            model_idx = [(mi, ms) for mi, ms in model_idx if mi is not match]
            if dbi.name and match.name and str(dbi.name) != str(match.name):
                derived.append(DerivedRename("index", schema, new, str(dbi.name), str(match.name), spec[0], spec[1], model_index=match))
        elif dbi.name:
            rebuilt_idx = ops.CreateIndexOp(dbi.name, new, list(spec[0]), schema=schema, unique=spec[1])
            out.append(ops.DropIndexOp.from_index(rebuilt_idx.to_index()))
    for mi, _spec in sorted(model_idx, key=lambda t: str(t[0].name)):
        out.append(ops.CreateIndexOp.from_index(mi))
    # unique constraints
    model_uq = [
        c for c in table.constraints if isinstance(c, sa.UniqueConstraint) and not isinstance(c, sa.PrimaryKeyConstraint)
    ]
    for u in old.uniques:
        cols = [maps.col(key, c) for c in u.columns if c]
        match = next((m for m in model_uq if [c.name for c in m.columns] == cols), None)
        if match is not None:
            model_uq = [m for m in model_uq if m is not match]
            if u.name and isinstance(match.name, str) and str(u.name) != str(match.name):
                if keep_unique_renames:
                    rebuilt.add(str(u.name))
                    notes.append(
                        f"unique constraint {u.name} of table {new} is renamed to {match.name} by a batch "
                        "rebuild (this database cannot rename constraints)"
                    )
                    old_uq = ops.CreateUniqueConstraintOp(u.name, new, cols, schema=schema)
                    out.append(ops.DropConstraintOp.from_constraint(old_uq.to_constraint()))
                    out.append(ops.CreateUniqueConstraintOp.from_constraint(match))
                else:
                    derived.append(DerivedRename("unique", schema, new, str(u.name), str(match.name)))
        elif u.name:
            c = ops.CreateUniqueConstraintOp(u.name, new, cols, schema=schema)
            out.append(ops.DropConstraintOp.from_constraint(c.to_constraint()))
    for m in model_uq:
        if isinstance(m.name, str):
            out.append(ops.CreateUniqueConstraintOp.from_constraint(m))
    # foreign keys
    model_fks = [(fkc, fk_facts(fkc)) for fkc in table.foreign_key_constraints]
    for f in old.foreign_keys:
        src_cols = tuple(maps.col(key, c) for c in f.columns)
        ref = maps.table(f.ref_schema, f.ref_table)
        ref_cols = tuple(maps.col(ref, c) for c in f.ref_columns)
        match = next(
            (
                fkc
                for fkc, mf in model_fks
                if mf is not None
                and mf.columns == src_cols
                and (mf.ref_schema, mf.ref_table) == ref
                and mf.ref_columns == ref_cols
                and mf.options == f.options
            ),
            None,
        )
        if match is not None:
            model_fks = [(fkc, mf) for fkc, mf in model_fks if fkc is not match]
            if f.name and isinstance(match.name, str) and str(f.name) != str(match.name):
                derived.append(DerivedRename("foreign_key", schema, new, str(f.name), str(match.name)))
        elif f.name:
            kw = dict(f.options)
            c = ops.CreateForeignKeyOp(
                f.name, new, ref[1], list(src_cols), list(ref_cols), source_schema=schema, referent_schema=ref[0], **kw
            )
            out.append(ops.DropConstraintOp.from_constraint(c.to_constraint()))
    for fkc, _mf in model_fks:
        out.append(ops.CreateForeignKeyOp.from_constraint(fkc))
    if supports_comments and (old_comment := getattr(old, "comment", None)) != (table.comment or None):
        if table.comment:
            out.append(ops.CreateTableCommentOp(new, table.comment, schema=schema, existing_comment=old_comment))
        else:
            out.append(ops.DropTableCommentOp(new, schema=schema, existing_comment=old_comment))
    for name, col in db_cols.items():
        if name not in model_cols:
            out.append(ops.DropColumnOp.from_column_and_tablename(schema, new, col))
    return out


def rewrite(
    upgrade_ops: ops.UpgradeOps,
    plan: RenamePlan,
    model: Mapping[Key, sa.Table],
    *,
    dialect: Dialect,
    world: OldWorld | None = None,
    diff_ops: Sequence[Any] = (),
    db_names: Mapping[Key, DbNames] | None = None,
    render_as_batch: bool = False,
    inplace: Iterable[Key] = (),
    direct: Mapping[Key, TableFacts] | None = None,
    compare_column: Callable[[Key, sa.Column, sa.Column], Any] | None = None,
) -> RewriteResult:
    """Step 7: the upgrade with renames instead of drop + add.

    ``diff_ops`` are Alembic's differences between ``world`` (the models under
    the old names) and the database: the changes that are not renames.  Order
    of the result: old-world drops that reference renamed names, the table
    renames, the column renames, derived index/constraint/sequence renames,
    then everything else on the new names.  Each op knows its reverse, so
    ``upgrade_ops.reverse()`` is the downgrade.
    """
    maps = _Maps(plan, world)
    notes: list[str] = []
    derived: list[DerivedRename] = []
    if not plan:
        return RewriteResult(upgrade_ops, derived, notes)
    inplace = set(inplace)
    affected = set(plan.affected) - inplace
    old_keys = {r.old_key for r in plan.tables}
    compare_column = compare_column or basic_compare_column(dialect)
    fresh_tables = set(plan.fresh_tables)

    # the re-diffed renamed tables, moved to the new names
    rebuilt: set[str] = set()  # constraints renamed by a batch rebuild (kept as drop + create)
    pre_ops: list[Any] = []
    replaced: dict[Key, list[Any]] = {}
    for op in diff_ops:
        if isinstance(op, ops.ModifyTableOps):
            copy_key = (op.schema, op.table_name)
            key = world.by_copy.get(copy_key) if world is not None else None
            if key is None:
                notes.append(f"unexpected difference on {op.table_name} ignored")
                continue
            table = model[key]
            skipped = world.skipped_indexes.get(key, set()) if world is not None else set()
            sub_ops = [
                o for o in op.ops if not (isinstance(o, ops.DropIndexOp) and str(o.index_name) in skipped)
            ]
            sub_ops = _pair_away(
                sub_ops,
                maps,
                key,
                table,
                derived,
                notes,
                keep_unique_renames=render_as_batch and dialect.name not in CONSTRAINT_RENAME_DIALECTS,
                rebuilt=rebuilt,
            )
            moved, unknown = [], []
            for o in sub_ops:
                m = _retarget(o, key, copy_key[1], maps, table)
                (moved if m is not None else unknown).append(m if m is not None else o)
            if unknown:
                pre_ops.append(ops.ModifyTableOps(copy_key[1], unknown, schema=copy_key[0]))
                notes.append(
                    f"{len(unknown)} change(s) on {copy_key[1]} kept before the rename (no way to move them)"
                )
            replaced[key] = moved
        else:
            notes.append(f"unexpected {type(op).__name__} in the rename diff ignored")
    for key, old_facts in (direct or {}).items():
        replaced[key] = _direct_ops(
            key,
            old_facts,
            model[key],
            maps,
            derived,
            notes,
            compare_column,
            keep_unique_renames=render_as_batch and dialect.name not in CONSTRAINT_RENAME_DIALECTS,
            rebuilt=rebuilt,
            supports_comments=bool(getattr(dialect, "supports_comments", False)),
        )
    for (schema, table_name, col_name) in plan.fresh_columns:
        key = (schema, table_name)
        col = model[key].c[col_name] if col_name in model[key].c else None
        if col is not None:
            replaced.setdefault(key, []).append(ops.AddColumnOp.from_column_and_tablename(schema, table_name, col))
            for idx in model[key].indexes:
                if any(getattr(e, "name", None) == col_name for e in idx.expressions):
                    replaced[key].append(ops.CreateIndexOp.from_index(idx))

    # constraint names from the database
    for key in plan.affected:
        names = (db_names or {}).get(key)
        if names is not None:
            old_name = (plan.table_old(key) or key)[1]
            derived.extend(derived_from_names(key, old_name, names, model[key], maps))

    # the original ops: drop what the renames replace, fill the slots
    rest: list[Any] = []
    early: list[Any] = []
    slots: dict[Key, int] = {}

    def slot(key: Key) -> None:
        if key not in slots:
            slots[key] = len(rest)
            rest.append(("slot", key))

    tables_to_move_early = set()
    for op in upgrade_ops.ops:
        if isinstance(op, ops.DropTableOp) and (op.schema, op.table_name) not in old_keys:
            try:
                t = op.to_table()
                for fkc in t.foreign_key_constraints:
                    f = fk_facts(fkc)
                    if f and maps.references_renamed(f.ref_schema, f.ref_table, f.ref_columns):
                        tables_to_move_early.add((op.schema, op.table_name))
            except Exception:
                pass
    for op in upgrade_ops.ops:
        key = (getattr(op, "schema", None), getattr(op, "table_name", None))
        if isinstance(op, ops.CreateTableOp) and key in affected:
            slot(key)
        elif isinstance(op, ops.DropTableOp) and key in old_keys:
            continue
        elif isinstance(op, ops.ModifyTableOps) and key in inplace:
            moved = _inplace_ops(op, key, plan, maps, model[key], derived, notes, compare_column, new_world_batch=render_as_batch and dialect.name not in CONSTRAINT_RENAME_DIALECTS, rebuilt=rebuilt)
            if moved:
                rest.append(ops.ModifyTableOps(op.table_name, moved, schema=op.schema))
        elif isinstance(op, ops.ModifyTableOps) and (key in affected or key in old_keys):
            if key in affected:
                slot(key)
            if key in fresh_tables:
                slot(("fresh",) + key)
        elif key in tables_to_move_early and isinstance(op, (ops.DropTableOp, ops.ModifyTableOps)):
            early.append(op)
        elif isinstance(op, ops.ModifyTableOps):
            sub = _pair_away(list(op.ops), maps, None, None, derived, notes)
            keep, move = [], []
            for o in sub:
                create = _drop_fk_create(o) if isinstance(o, ops.DropConstraintOp) else None
                if create is not None:
                    spec = _fk_spec_from_create(create)
                    if maps.references_renamed(spec[3], spec[4], spec[5]):
                        move.append(o)
                        continue
                keep.append(o)
            if move:
                early.append(ops.ModifyTableOps(op.table_name, move, schema=op.schema))
            if keep:
                rest.append(ops.ModifyTableOps(op.table_name, keep, schema=op.schema))
        else:
            rest.append(op)
    for key in plan.affected:
        if key not in inplace:
            slot(key)
    for key in fresh_tables:
        slot(("fresh",) + key)

    final_rest: list[Any] = []
    for item in rest:
        if isinstance(item, tuple) and item and item[0] == "slot":
            key = item[1]
            if key and key[0] == "fresh":
                t = model[key[1:]]
                final_rest.append(ops.CreateTableOp.from_table(t))
                idx_ops = [ops.CreateIndexOp.from_index(i) for i in sorted(t.indexes, key=lambda i: str(i.name))]
                if idx_ops:
                    final_rest.append(ops.ModifyTableOps(t.name, idx_ops, schema=key[1]))
            elif replaced.get(key):
                final_rest.append(ops.ModifyTableOps(key[1], replaced[key], schema=key[0]))
        else:
            final_rest.append(item)

    # the renames themselves
    rename_ops: list[Any] = []
    by_schema: dict[Any, list[TableRename]] = {}
    for r in plan.tables:
        by_schema.setdefault(r.schema, []).append(r)
    for schema, items in by_schema.items():
        taken = {k[1] for k in model if k[0] == schema}
        for old, new in order_renames([(r.old, r.new) for r in items], taken):
            rename_ops.append(RenameTable(old, new, schema=schema))
    by_table: dict[Key, list[ColumnRename]] = {}
    for c in plan.columns:
        by_table.setdefault(c.table_key, []).append(c)
    for key, items in by_table.items():
        existing = {c.old: c.existing for c in items}
        taken = set(model[key].c.keys()) | {c.name for c in model[key].columns}
        temp_facts: dict[str, Any] = {}
        for old, new in order_renames([(c.old, c.new) for c in items], taken):
            facts = existing.get(old) or temp_facts.get(old)
            temp_facts[new] = facts
            col = facts.column if facts is not None else None
            rename_ops.append(
                RenameColumn(
                    key[1],
                    old,
                    new,
                    schema=key[0],
                    existing_type=col.type if col is not None else None,
                    existing_nullable=bool(col.nullable) if col is not None else None,
                    existing_server_default=(col.server_default if col is not None and col.server_default is not None else False),
                    existing_comment=col.comment if col is not None else None,
                )
            )
    # derived names, deduplicated (the same constraint may be found twice)
    unique_derived: list[DerivedRename] = []
    seen: set[tuple[Any, ...]] = set()
    for d in derived:
        k = (d.schema, d.table if d.kind not in ("index", "sequence") else None, d.old)
        if k in seen or (d.kind == "unique" and d.old in rebuilt):
            continue
        seen.add(k)
        unique_derived.append(d)
    dops, dnotes, done = derived_ops(unique_derived, dialect)
    notes.extend(dnotes)
    new_ops = ops.UpgradeOps(
        ops=[*early, *pre_ops, *rename_ops, *dops, *final_rest], upgrade_token=upgrade_ops.upgrade_token
    )
    return RewriteResult(new_ops, done, notes)


__all__ = [
    "AMBIGUITY_MARGIN",
    "COLUMN_MIN_SCORE",
    "TABLE_MIN_SCORE",
    "ColumnRename",
    "DerivedRename",
    "RenameCandidate",
    "RenameColumn",
    "RenameConflict",
    "RenameObjectSQL",
    "RenamePlan",
    "RenameTable",
    "TableRename",
    "UnresolvedRenames",
    "column_candidates",
    "old_world_metadata",
    "plan_column_renames",
    "plan_table_renames",
    "resolve",
    "rewrite",
    "score_columns",
    "score_tables",
    "survey",
    "table_candidates",
]
