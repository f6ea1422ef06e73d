"""A SQLite table rebuild that loses nothing.

SQLite can rename tables and columns and add columns in place, but changing
a column's type or nullability, or adding or dropping a constraint, needs the
table rebuilt.  Alembic's batch mode rebuilds from a *reflected* table and so
drops what reflection does not see (measured with Alembic 1.20: a
column-inline ``UNIQUE``; also unnamed ``CHECK``s, ``COLLATE``, ``ON
CONFLICT``, ``AUTOINCREMENT`` counters).  This module follows SQLite's own
12-step procedure instead (https://www.sqlite.org/lang_altertable.html#otheralter):

1. Foreign keys.  ``PRAGMA foreign_keys=OFF`` is a no-op inside a transaction
   and the migration runs inside one.  ``PRAGMA defer_foreign_keys=ON`` does
   not make the rebuild safe either: with enforcement on, ``DROP TABLE`` runs
   an implicit ``DELETE`` that fires ``ON DELETE CASCADE``/``SET NULL`` in the
   tables referencing it (their rows are deleted or nulled), and for ``NO
   ACTION`` the deferred-violation counter it raises is not lowered by the
   later rename, so ``COMMIT`` fails (both measured on SQLite 3.40).  So
   when enforcement is on and another table (or the table itself) references
   the one being rebuilt, the rebuild refuses; ``sqlite_foreign_keys_off`` is
   a connection hook that switches enforcement off *before* the migration's
   ``BEGIN`` (step 1 as documented) and back on after it.
2. Create the new table from the *stored* ``CREATE TABLE`` text, edited
   (``sqlite_ddl``), so every inline clause survives.
3. ``INSERT INTO new SELECT ...`` with the conversion expressions, in rowid
   ranges so a callback can report rows copied; rowids are kept.
4. Drop the old table, rename the new one to the old name with
   ``PRAGMA legacy_alter_table=ON``: without it SQLite re-checks every view
   and trigger during the rename and fails on those naming the table just
   dropped (``error in view v: no such table``).  Views then work unchanged.
5. Recreate the table's indexes and triggers from ``sqlite_master``, restore
   the ``AUTOINCREMENT`` counter, and run ``PRAGMA foreign_key_check`` on the
   table and on every table referencing it; a violation the rebuild
   introduced raises, which rolls the migration's transaction back.

Everything runs on the caller's connection inside its transaction.
``plan_rebuild`` returns the statements without running them (for ``--sql``
style previews); ``execute_plan`` runs a plan.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from alembic.autogenerate import renderers
from alembic.operations import MigrateOperation, Operations

from sqlalchemy import exc as sa_exc

from ..errors import Refused, SchemashiftError
from .atomic import sqlite_foreign_keys_off  # noqa: F401 - step 1 of the procedure; lives with the other SQLite connection hooks
from .precheck import LossCheck, loss_allowed, refuse_if_lossy, refuse_nulls
from .offline_sqlite import offline_statements, shadow_of
from .row_identity import rows_lost
from .run_options import run_option
from .sqlite_ddl import (
    ConstraintRef,
    TableDef,
    parse_column,
    parse_create_table,
    parse_table_constraint,
    storage_signature,
)
from ..schema.sql import quote

CHUNK_ROWS = 200_000
TEMP_PREFIX = "_schemashift_new_"


class RebuildError(SchemashiftError):
    """A table cannot be rebuilt as asked."""


class ForeignKeysEnforced(Refused):
    """Foreign keys are enforced inside the transaction and the table is referenced."""


class ForeignKeyViolations(RebuildError):
    """The rebuilt table breaks foreign keys that held before."""


KEEP: Any = type("Keep", (), {"__repr__": lambda self: "KEEP"})()


@dataclass
class ColumnChange:
    """How one column changes.  ``using`` computes the new value (SQL over the old row)."""

    type_sql: str | None = None
    nullable: bool | None = None
    default: Any = KEEP  # SQL expression, None to drop it, KEEP
    using: str | None = None
    checks: list[LossCheck] = field(default_factory=list)


@dataclass
class RebuildSpec:
    """What a rebuild changes; everything not named here is kept."""

    table: str
    alter_columns: dict[str, ColumnChange] = field(default_factory=dict)
    drop_columns: list[str] = field(default_factory=list)
    add_columns: list[str] = field(default_factory=list)  # column DDL: '"c" INTEGER DEFAULT 0'
    add_constraints: list[str] = field(default_factory=list)  # 'CONSTRAINT uq_t_c UNIQUE (c)'
    drop_constraints: list[ConstraintRef] = field(default_factory=list)
    name_constraints: list[tuple[ConstraintRef, str | None]] = field(default_factory=list)
    allow_loss: bool = False


@dataclass(frozen=True)
class RebuildProgress:
    table: str
    copied: int
    total: int
    seconds: float


@dataclass
class RebuildPlan:
    """Everything a rebuild will do, read from the database but not yet run."""

    table: str
    temp_name: str
    old_sql: str
    new_sql: str
    insert_columns: list[str]
    select_exprs: list[str]
    copy_rowid: bool
    dependents: list[str]  # CREATE INDEX / CREATE TRIGGER statements
    referencing: list[str]  # tables whose foreign keys point at this one
    has_foreign_keys: bool
    checks: list[LossCheck]
    becoming_not_null: list[str]
    allow_loss: bool
    definition: TableDef
    transfer: bool = False  # same columns, values unchanged: one INSERT ... SELECT *
    drops_columns: bool = False
    rowid_name: str | None = None  # how the old table's rowid is reached (a column may be named rowid)
    new_rowid_name: str = "rowid"  # and the new table's
    keeps_rowid: bool = False  # every row keeps its rowid in the new table (copy pages by rowid)
    row_key: list[tuple[str, str]] = field(default_factory=list)  # (label, SQL over the old table) naming a row

    def copy_sql(self, where: str | None = None, *, page: str | None = None) -> str:
        if self.transfer and where is None and not page:
            # SQLite's transfer optimization copies such rows (and checks) without decoding them
            return f"INSERT INTO {quote(self.temp_name)} SELECT * FROM {quote(self.table)}"
        cols = ", ".join(quote(c) for c in self.insert_columns)
        exprs = ", ".join(self.select_exprs)
        if self.copy_rowid:
            cols, exprs = f"{self.new_rowid_name}, {cols}", f"{self.rowid_name}, {exprs}"
        sql = f"INSERT INTO {quote(self.temp_name)} ({cols}) SELECT {exprs} FROM {quote(self.table)}"
        if where:
            sql = f"{sql} WHERE {where}"
        if page:  # keyset paging over the rowids present: page is '>=' or '>' the rowid bound ?; ? rows
            sql += f"{' AND' if where else ' WHERE'} {self.rowid_name} {page} ? ORDER BY {self.rowid_name} LIMIT ?"
        return sql

    def statements(self) -> list[str]:
        """The plan as SQL, in the order ``execute_plan`` runs it (one copy statement)."""
        return [
            self.new_sql,
            self.copy_sql(),
            f"DROP TABLE {quote(self.table)}",
            "PRAGMA legacy_alter_table=ON",
            f"ALTER TABLE {quote(self.temp_name)} RENAME TO {quote(self.table)}",
            "PRAGMA legacy_alter_table=OFF",
            *self.dependents,
            *[f"PRAGMA foreign_key_check({quote(t)})" for t in self._checked_tables()],
        ]

    def _checked_tables(self) -> list[str]:
        tables = [self.table] if self.has_foreign_keys else []
        return tables + [t for t in self.referencing if t != self.table]


# ------------------------------------------------------------------ planning


def _scalar(connection: Any, sql: str, *params: Any) -> Any:
    return connection.exec_driver_sql(sql, params if params else ()).scalar()


def table_sql(connection: Any, table: str) -> str:
    sql = _scalar(
        connection, "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ? COLLATE NOCASE", table
    )
    if sql is None:
        raise RebuildError(f"no table {table!r} in the database", hint="check the table name")
    return sql


def ordinary_tables(connection: Any) -> list[tuple[str, str]]:
    """(name, CREATE TABLE) of every table a rebuild may touch, by name.

    Left out: SQLite's own tables, virtual tables (FTS5, R*Tree: no column
    definitions to edit) and their shadow tables (``docs_fts_data``, ...),
    which belong to the virtual table's module and must never be rebuilt.
    """
    rows = connection.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
        "AND sql IS NOT NULL ORDER BY name"
    ).fetchall()
    virtual = [name.lower() for name, sql in rows if sql.lstrip()[:21].upper().replace("  ", " ").startswith("CREATE VIRTUAL")]
    try:  # SQLite 3.37+ says which tables are shadow tables
        shadow = {
            r[0].lower()
            for r in connection.exec_driver_sql("SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'shadow'")
        }
    except sa_exc.DBAPIError:
        shadow = {name.lower() for name, _ in rows if any(name.lower().startswith(v + "_") for v in virtual)}
    return [(name, sql) for name, sql in rows if name.lower() not in shadow and name.lower() not in virtual]


def referencing_tables(connection: Any, table: str) -> list[str]:
    """Tables (this one included, if self-referencing) with a foreign key to ``table``."""
    rows = connection.exec_driver_sql(
        "SELECT DISTINCT m.name FROM sqlite_master AS m, pragma_foreign_key_list(m.name) AS f "
        "WHERE m.type = 'table' AND f.\"table\" = ? COLLATE NOCASE ORDER BY m.name",
        (table,),
    )
    return [r[0] for r in rows]


def _dependents(connection: Any, table: str, dropped: set[str]) -> list[str]:
    rows = connection.exec_driver_sql(
        # SQLite matches table names case-insensitively: a trigger made ``ON ITEMS`` belongs to ``items``
        "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = ? COLLATE NOCASE AND type IN ('index', 'trigger') "
        "AND sql IS NOT NULL ORDER BY type = 'trigger', rowid",
        (table,),
    ).fetchall()
    for kind, name, _ in rows:
        if kind != "index" or not dropped:
            continue
        cols = {r[2].lower() for r in connection.exec_driver_sql(f"PRAGMA index_info({quote(name)})") if r[2]}
        if cols & dropped:
            raise RebuildError(
                f"index {name} uses column(s) {', '.join(sorted(cols & dropped))} that the rebuild of {table} drops",
                hint="drop the index first (op.drop_index) in the same migration",
            )
    return [r[2] for r in rows]


ROWID_NAMES = ("rowid", "oid", "_rowid_")


def _rowid_name(definition: TableDef) -> str | None:
    """A name that reaches the table's rowid: one of SQLite's three that no column shadows."""
    if "WITHOUT ROWID" in definition.options.upper():
        return None
    taken = {c.name.lower() for c in definition.columns}
    free = next((n for n in ROWID_NAMES if n not in taken), None)
    alias = _alias_column(definition)
    return free or (quote(alias) if alias else None)


def _alias_column(definition: TableDef) -> str | None:
    """The ``INTEGER PRIMARY KEY`` column that is the rowid, if any."""
    if not _is_rowid_alias(definition):
        return None
    pk = next(c for col, c in definition.constraints() if c.kind == "primary")
    return pk.columns[0]


def _row_key(definition: TableDef, rowid_name: str | None) -> list[tuple[str, str]]:
    """How to name a row of the old table in a message: its rowid alias, rowid or primary key."""
    alias = _alias_column(definition)
    if alias is not None:
        return [(alias, quote(alias))]
    if rowid_name is not None:
        return [("rowid", rowid_name)]
    pk = next((c for _, c in definition.constraints() if c.kind == "primary"), None)
    if pk is not None:
        return [(c, quote(c)) for c in pk.columns]
    return [(c.name, quote(c.name)) for c in definition.columns]


def _is_rowid_alias(definition: TableDef) -> bool:
    pks = [(col, c) for col, c in definition.constraints() if c.kind == "primary"]
    if len(pks) != 1:
        return False
    owner, cons = pks[0]
    if owner is not None:
        return owner.type_sql.upper() == "INTEGER" and "DESC" not in cons.text.upper()
    if len(cons.columns) != 1:
        return False
    return definition.column(cons.columns[0]).type_sql.upper() == "INTEGER"


def apply_spec(definition: TableDef, spec: RebuildSpec) -> TableDef:
    """The edited table definition (pure; raises ``DDLParseError`` on a bad request)."""
    new = definition.copy()
    for ref in spec.drop_constraints:
        new.drop_constraint(ref)
    for ref, name in spec.name_constraints:
        new.name_constraint(ref, name)
    for col in spec.drop_columns:
        new.drop_column(col)
    for col, change in spec.alter_columns.items():
        if change.type_sql is not None:
            new.set_type(col, change.type_sql)
        if change.nullable is not None:
            new.set_nullable(col, change.nullable)
        if change.default is not KEEP:
            new.set_default(col, change.default)
    if spec.add_columns:
        at = max((i for i, item in enumerate(new.items) if item in new.columns), default=-1) + 1
        for ddl in spec.add_columns:
            new.items.insert(at, parse_column(ddl))
            at += 1
    for sql in spec.add_constraints:
        new.add_constraint(sql)
    return new


def plan_rebuild(connection: Any, spec: RebuildSpec) -> RebuildPlan:
    """Read the table from ``sqlite_master`` and plan its rebuild; runs nothing."""
    if connection.dialect.name != "sqlite":
        raise RebuildError(f"rebuild_table is for SQLite; this database is {connection.dialect.name}")
    old_sql = table_sql(connection, spec.table)
    definition = parse_create_table(old_sql)
    new = apply_spec(definition, spec)
    temp = TEMP_PREFIX + spec.table
    if _scalar(connection, "SELECT count(*) FROM sqlite_master WHERE name = ? COLLATE NOCASE", temp):
        raise RebuildError(
            f"table {temp} exists (left by an interrupted rebuild?)", hint=f"drop it: DROP TABLE {quote(temp)}"
        )
    added = {c.name.lower() for c in new.columns} - {c.name.lower() for c in definition.columns}
    insert_columns, exprs = [], []
    for col in new.columns:
        if col.find("generated") is not None or col.name.lower() in added:
            continue
        change = spec.alter_columns.get(col.name) or next(
            (v for k, v in spec.alter_columns.items() if k.lower() == col.name.lower()), None
        )
        insert_columns.append(col.name)
        exprs.append(change.using if change and change.using else quote(col.name))
    checks = [check for change in spec.alter_columns.values() for check in change.checks]
    becoming_not_null = [
        name
        for name, change in spec.alter_columns.items()
        if change.nullable is False and definition.column(name).nullable
    ]
    dropped = {c.lower() for c in spec.drop_columns}
    has_fks = any(c.kind == "foreign" for _, c in new.constraints()) or any(
        c.kind == "foreign" for _, c in definition.constraints()
    )
    rowid_name = _rowid_name(definition)
    old_alias, new_alias = _alias_column(definition), _alias_column(new)
    # the rowid travels as the alias column's value when the new table has one, else explicitly
    new_rowid_name = _rowid_name(new)
    copy_rowid = new_alias is None and rowid_name is not None and new_rowid_name is not None
    alias_kept = (
        old_alias is not None
        and new_alias is not None
        and old_alias.lower() == new_alias.lower()
        and quote(new_alias) in exprs
        and exprs[[c.lower() for c in insert_columns].index(new_alias.lower())] == quote(new_alias)
    )
    same_columns = [c.name for c in definition.columns] == insert_columns == [c.name for c in new.columns]
    plain = all(expr == quote(col) for col, expr in zip(insert_columns, exprs))
    return RebuildPlan(
        table=definition.name if definition.name.lower() == spec.table.lower() else spec.table,
        temp_name=temp,
        old_sql=old_sql,
        new_sql=new.render(temp),
        insert_columns=insert_columns,
        select_exprs=exprs,
        copy_rowid=copy_rowid,
        dependents=_dependents(connection, spec.table, dropped),
        referencing=referencing_tables(connection, spec.table),
        has_foreign_keys=has_fks,
        checks=checks,
        becoming_not_null=becoming_not_null,
        allow_loss=spec.allow_loss,
        definition=new,
        # one statement only where SQLite will likely transfer records as they are;
        # otherwise rowid ranges, so progress can be reported
        transfer=same_columns and plain and not copy_rowid and storage_signature(definition) == storage_signature(new),
        drops_columns=bool(spec.drop_columns),
        rowid_name=rowid_name,
        new_rowid_name=new_rowid_name or "rowid",
        keeps_rowid=rowid_name is not None and (copy_rowid or alias_kept),
        row_key=_row_key(definition, rowid_name),
    )


# ------------------------------------------------------------------ running


def _fk_violations(connection: Any, tables: Iterable[str]) -> set[tuple]:
    found: set[tuple] = set()
    for table in tables:
        found.update(tuple(r) for r in connection.exec_driver_sql(f"PRAGMA foreign_key_check({quote(table)})"))
    return found


def _copy(
    connection: Any, plan: RebuildPlan, progress: Callable[[RebuildProgress], None] | None, chunk: int, total: int
) -> int:
    """Copy the rows: in pages of the rowids present (progress after each), or in one statement.

    Pages are keyset pages (``rowid > last ORDER BY rowid LIMIT n``), so
    sparse or negative rowids cost nothing extra; the last rowid of a page is
    read back from the new table's b-tree end.  One statement when no value
    changes (SQLite's transfer optimization then copies records without
    decoding them, about twice as fast; progress is reported once, at the
    end), when rows do not keep their rowid (WITHOUT ROWID tables), or when
    asked (``chunk <= 0``).
    """
    start = time.perf_counter()
    if plan.transfer or not plan.keeps_rowid or chunk <= 0 or total <= chunk:
        connection.exec_driver_sql(plan.copy_sql())
        copied = _count(connection, plan.temp_name)
        if progress:
            progress(RebuildProgress(plan.table, copied, total, time.perf_counter() - start))
        return copied
    page = plan.copy_sql(page=">=")  # the first page starts at the smallest rowid there can be
    last = -(2**63)
    copied = 0
    while True:
        added = connection.exec_driver_sql(page, (last, chunk)).rowcount
        page = plan.copy_sql(page=">")
        copied += added
        if progress:
            progress(RebuildProgress(plan.table, copied, total, time.perf_counter() - start))
        if added < chunk:
            return copied
        last = _scalar(connection, f"SELECT max({plan.new_rowid_name}) FROM {quote(plan.temp_name)}")


def _count(connection: Any, table: str) -> int:
    return int(_scalar(connection, f"SELECT count(*) FROM {quote(table)}") or 0)


def _drop_old(connection: Any, plan: RebuildPlan, *, deletes_values: bool) -> None:
    """Drop the old table (step 6).

    With ``PRAGMA secure_delete`` on (Debian's SQLite default) the drop
    zeroes every freed page, which costs as much as the copy.  When the
    rebuild deletes no value (every one is in the new table), zeroing the old
    copy hides nothing, so it is skipped for this one statement; a rebuild
    that drops a column or loses values keeps the setting.
    """
    secure = 0 if deletes_values else _scalar(connection, "PRAGMA secure_delete")
    if secure:
        connection.exec_driver_sql("PRAGMA secure_delete=OFF")
    try:
        connection.exec_driver_sql(f"DROP TABLE {quote(plan.table)}")
    finally:
        if secure:
            connection.exec_driver_sql(f"PRAGMA secure_delete={int(secure)}")


def execute_plan(
    connection: Any,
    plan: RebuildPlan,
    *,
    progress: Callable[[RebuildProgress], None] | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> int:
    """Run a planned rebuild on ``connection`` (inside its transaction); return rows copied."""
    lossy = refuse_if_lossy(connection, plan.checks, allow_loss=plan.allow_loss)
    for column in plan.becoming_not_null:
        refuse_nulls(connection, plan.table, column)
    enforced = bool(_scalar(connection, "PRAGMA foreign_keys"))
    if enforced and plan.referencing:
        raise ForeignKeysEnforced(
            f"cannot rebuild {plan.table}: foreign keys are enforced inside the migration's transaction and "
            f"{', '.join(plan.referencing)} reference{'s' if len(plan.referencing) == 1 else ''} it "
            "(dropping it would cascade or fail)",
            hint="run migrations with PRAGMA foreign_keys=OFF set before BEGIN "
            "(schemashift.safety.rebuild.sqlite_foreign_keys_off does this)",
        )
    checked = plan._checked_tables()
    before = _fk_violations(connection, checked)
    count_before = _scalar(connection, f"SELECT count(*) FROM {quote(plan.table)}")
    sequence = None
    if _scalar(connection, "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_sequence'"):
        sequence = _scalar(connection, "SELECT seq FROM sqlite_sequence WHERE name = ?", plan.table)

    connection.exec_driver_sql(plan.new_sql)
    try:
        _copy(connection, plan, progress, chunk_rows, count_before)
    except sa_exc.IntegrityError as error:  # a constraint of the new table fails (ABORT, FAIL, ROLLBACK)
        raise rows_lost(connection, plan, count_before, str(error.orig)) from None
    # row identity: the new table started empty and has no triggers, so every row in it came from
    # one row of the old (with its rowid, when kept); equal counts mean no row was replaced or ignored
    copied = _count(connection, plan.temp_name)
    if copied != count_before:
        raise rows_lost(connection, plan, count_before, None)
    _drop_old(connection, plan, deletes_values=plan.drops_columns or bool(lossy))
    legacy = _scalar(connection, "PRAGMA legacy_alter_table")
    connection.exec_driver_sql("PRAGMA legacy_alter_table=ON")
    try:
        connection.exec_driver_sql(f"ALTER TABLE {quote(plan.temp_name)} RENAME TO {quote(plan.table)}")
    finally:
        connection.exec_driver_sql(f"PRAGMA legacy_alter_table={int(legacy or 0)}")
    for sql in plan.dependents:
        connection.exec_driver_sql(sql)
    if sequence is not None:
        connection.exec_driver_sql(
            "UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = ?", (sequence, plan.table)
        )
    introduced = _fk_violations(connection, checked) - before
    if introduced:
        shown = ", ".join(f"{t} rowid {r} -> {p}" for t, r, p, *_ in sorted(introduced, key=str)[:3])
        raise ForeignKeyViolations(
            f"rebuild of {plan.table} would break {len(introduced)} foreign key reference(s): {shown}",
            hint="fix the referencing rows, or change the migration",
        )
    return copied


def rebuild_table(
    connection: Any,
    spec: RebuildSpec,
    *,
    progress: Callable[[RebuildProgress], None] | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> RebuildPlan:
    """Plan and run a rebuild; return the plan that ran."""
    plan = plan_rebuild(connection, spec)
    execute_plan(connection, plan, progress=progress, chunk_rows=chunk_rows)
    return plan


# ------------------------------------------------------------------ run policy


# ------------------------------------------------------------------ the Alembic operation


# Alembic only offers global registration for custom operations: a migration
# file that calls ``op.rebuild_table`` imports this module for it.


@Operations.register_operation("rebuild_table")
class RebuildTableOp(MigrateOperation):
    """Rebuild a SQLite table keeping everything the migration does not change.

    ``alter_columns`` maps a column to a dict of ``type_``,
    ``existing_type``, ``nullable``, ``existing_nullable``,
    ``server_default``, ``existing_server_default`` (SQL text, None to
    drop) and ``using`` (SQL for the new value; planned from the types
    when absent).  ``drop_constraints`` and the first item of each
    ``name_constraints`` pair identify a constraint by ``name``, or by
    ``type`` plus ``columns`` / ``check`` when it has none.
    """

    def __init__(
        self,
        table_name: str,
        *,
        alter_columns: dict[str, dict[str, Any]] | None = None,
        add_columns: list[str] | tuple[str, ...] = (),
        drop_columns: list[str] | tuple[str, ...] = (),
        add_constraints: list[str] | tuple[str, ...] = (),
        drop_constraints: list[Any] | tuple[Any, ...] = (),
        name_constraints: list[Any] | tuple[Any, ...] = (),
        allow_loss: bool = False,
        schema: str | None = None,
        restore_columns: dict[str, str] | None = None,
        restore_constraints: list[str] | None = None,
    ) -> None:
        self.table_name = table_name
        self.alter_columns = dict(alter_columns or {})
        self.add_columns = list(add_columns)
        self.drop_columns = list(drop_columns)
        self.add_constraints = list(add_constraints)
        self.drop_constraints = [ConstraintRef.from_value(r).as_dict() for r in drop_constraints]
        self.name_constraints = [_naming_pair(p) for p in name_constraints]
        self.allow_loss = allow_loss
        self.schema = schema
        # how to undo drops; known when autogenerate builds the op, never rendered
        self.restore_columns = dict(restore_columns or {})
        self.restore_constraints = list(restore_constraints or [])

    @classmethod
    def rebuild_table(
        cls,
        operations: Any,
        table_name: str,
        *,
        alter_columns: dict[str, dict[str, Any]] | None = None,
        add_columns: list[str] | tuple[str, ...] = (),
        drop_columns: list[str] | tuple[str, ...] = (),
        add_constraints: list[str] | tuple[str, ...] = (),
        drop_constraints: list[Any] | tuple[Any, ...] = (),
        name_constraints: list[Any] | tuple[Any, ...] = (),
        allow_loss: bool = False,
        schema: str | None = None,
    ) -> Any:
        """Rebuild SQLite table ``table_name`` with the given changes, losing nothing else."""
        return operations.invoke(
            cls(
                table_name,
                alter_columns=alter_columns,
                add_columns=add_columns,
                drop_columns=drop_columns,
                add_constraints=add_constraints,
                drop_constraints=drop_constraints,
                name_constraints=name_constraints,
                allow_loss=allow_loss,
                schema=schema,
            )
        )

    def reverse(self) -> "RebuildTableOp":
        alter = {col: _swap(change) for col, change in self.alter_columns.items()}
        missing = [c for c in self.drop_columns if c not in self.restore_columns]
        if missing:
            raise RebuildError(f"cannot reverse rebuild_table({self.table_name!r}): no definition kept for {missing}")
        return RebuildTableOp(
            self.table_name,
            alter_columns=alter,
            add_columns=[self.restore_columns[c] for c in self.drop_columns],
            drop_columns=[_column_name(ddl) for ddl in self.add_columns],
            add_constraints=list(self.restore_constraints),
            drop_constraints=[_ref_of_sql(sql).as_dict() for sql in self.add_constraints],
            name_constraints=[
                ({**({"type": ref["type"]} if "type" in ref else {}), "name": new}, ref.get("name"))
                for ref, new in self.name_constraints
            ],
            schema=self.schema,
            restore_columns={_column_name(ddl): ddl for ddl in self.add_columns},
            restore_constraints=list(self.add_constraints),
        )

    def to_spec(self, dialect: Any, *, allow_loss: bool | None = None) -> RebuildSpec:
        allow = self.allow_loss if allow_loss is None else allow_loss
        return RebuildSpec(
            table=self.table_name,
            alter_columns={
                col: _column_change(dialect, self.table_name, col, change, allow)
                for col, change in self.alter_columns.items()
            },
            drop_columns=list(self.drop_columns),
            add_columns=list(self.add_columns),
            add_constraints=list(self.add_constraints),
            drop_constraints=[ConstraintRef.from_value(r) for r in self.drop_constraints],
            name_constraints=[(ConstraintRef.from_value(r), n) for r, n in self.name_constraints],
            allow_loss=allow,
        )


@Operations.implementation_for(RebuildTableOp)
def _rebuild(operations: Any, operation: "RebuildTableOp") -> None:
    context = operations.migration_context
    if operation.schema not in (None, "main"):
        raise RebuildError(f"rebuild_table works on the main database only, not schema {operation.schema!r}")
    if context.as_sql:
        shadow, stale = shadow_of(context)
        if stale is not None:
            raise RebuildError(
                f"rebuild_table({operation.table_name!r}) cannot render with --sql: the scratch database that "
                f"follows the script stopped following it, {stale}",
                hint="run this migration online, or render a range that starts after that statement",
            )
        if shadow is None:
            raise RebuildError(
                f"rebuild_table({operation.table_name!r}) reads the table from the database; with --sql it needs "
                "schemashift's own upgrade --sql (which follows the schema on a scratch database)",
                hint="run schemashift upgrade --sql, or run this migration online",
            )
        plan = plan_rebuild(shadow, operation.to_spec(shadow.dialect, allow_loss=loss_allowed(context, operation.allow_loss)))
        autoincrement = "AUTOINCREMENT" in plan.old_sql.upper()
        for statement in offline_statements(plan, autoincrement=autoincrement):
            operations.execute(statement)
        return
    connection = operations.get_bind()
    progress = run_option(context, "rebuild_progress")
    allow = loss_allowed(context, operation.allow_loss)
    rebuild_table(connection, operation.to_spec(connection.dialect, allow_loss=allow), progress=progress)

@renderers.dispatch_for(RebuildTableOp)
def _render(autogen_context: Any, operation: "RebuildTableOp") -> str:
    from .casts import render_type

    autogen_context.imports.add("import schemashift.safety.rebuild  # noqa: F401  (op.rebuild_table)")
    args = [repr(operation.table_name)]

    if operation.alter_columns:
        cols = []
        for col, change in operation.alter_columns.items():
            items = []
            for key, v in change.items():
                shown = render_type(v, autogen_context) if key in ("type_", "existing_type") else repr(v)
                items.append(f"{key!r}: {shown}")
            cols.append(f"{col!r}: {{{', '.join(items)}}}")
        args.append("alter_columns={" + ", ".join(cols) + "}")
    for key in ("add_columns", "drop_columns", "add_constraints", "drop_constraints", "name_constraints"):
        items = getattr(operation, key)
        if items:
            args.append(f"{key}={[tuple(i) if key == 'name_constraints' else i for i in items]!r}")
    if operation.schema:
        args.append(f"schema={operation.schema!r}")
    if operation.alter_columns:
        args.append(f"allow_loss={operation.allow_loss!r}")
    return f"op.rebuild_table({', '.join(args)})"




def _naming_pair(pair: Any) -> tuple[dict, str | None]:
    ref, new = pair
    return ConstraintRef.from_value(ref).as_dict(), new


def _swap(change: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    pairs = [("type_", "existing_type"), ("nullable", "existing_nullable"), ("server_default", "existing_server_default")]
    for new, old in pairs:
        if new in change:
            out[new] = change.get(old)
            if old in change or new in change:
                out[old] = change[new]
        elif old in change:
            out[old] = change[old]
    return out


def _column_name(ddl: str) -> str:
    return parse_column(ddl).name


def _ref_of_sql(sql: str) -> ConstraintRef:
    cons = parse_table_constraint(sql)
    if cons.name:
        return ConstraintRef(kind=cons.kind, name=cons.name)
    return ConstraintRef(kind=cons.kind, columns=cons.columns, check=cons.check if cons.kind == "check" else None)


def _column_change(dialect: Any, table: str, column: str, change: dict[str, Any], allow_loss: bool) -> ColumnChange:
    """Turn a rendered ``alter_columns`` entry into SQL: the new type's DDL, the cast and its checks."""
    from .casts import plan_cast
    from ..schema.types import compile_type

    result = ColumnChange()
    type_ = change.get("type_")
    if type_ is not None:
        result.type_sql = type_ if isinstance(type_, str) else compile_type(type_, dialect)
        existing = change.get("existing_type")
        if existing is not None and not isinstance(existing, str) and not isinstance(type_, str):
            plan = plan_cast(dialect, column, existing, type_, using=change.get("using"))
            result.using = (plan.lossy_using if allow_loss else plan.using) or change.get("using")
            result.checks = plan.loss_checks(table, column)
        else:
            result.using = change.get("using")
    elif change.get("using"):
        result.using = change["using"]
    if change.get("nullable") is not None:
        result.nullable = bool(change["nullable"])
    if "server_default" in change:
        result.default = change["server_default"]
    return result


