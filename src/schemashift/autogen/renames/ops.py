"""The ops a rename migration is made of: table, column, and index/constraint/sequence renames.

Alembic's own ops, with the reverse (and diff tuple) Alembic lacks, so
``upgrade_ops.reverse()`` is the downgrade; ``order_renames`` sequences
parallel renames (chains, and swaps via a temporary name).  Importing this
module registers the renderer for ``RenameTableOp`` that Alembic lacks.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from alembic.autogenerate import renderers
from alembic.operations import MigrateOperation, Operations, ops
from sqlalchemy.engine import Dialect

from ...schema.kinds import PG_CONTYPE

#: temporary names for swaps (``order_renames``), within PostgreSQL's identifier limit
TEMP_SUFFIX = "__ss_tmp"
PG_MAX_IDENTIFIER = 63

#: the line a migration needs so that ``op.rename_object`` exists when it runs
OPS_IMPORT = "import schemashift.autogen.renames  # noqa: F401  (op.rename_object)"

#: dialects that can rename constraints and sequences in place
CONSTRAINT_RENAME_DIALECTS = frozenset({"postgresql"})
#: dialects that can rename an index in place, and how
INDEX_RENAME_DIALECTS = frozenset({"postgresql", "mysql", "mariadb"})


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

    ``kind`` is a constraint kind (``kinds.KINDS``), index or sequence.
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


def order_renames(
    pairs: Sequence[tuple[str, str]], taken: Iterable[str] = (), *, case_blind: bool = False
) -> list[tuple[str, str]]:
    """Sequence parallel renames: a->b after b->c (chains); cycles (swaps) via a temporary name.

    ``case_blind``: names that differ only in case are one name to the database
    (SQLite's tables: ``ALTER TABLE "Users" RENAME TO users`` fails with "there is
    already another table ... users"), so such a rename goes through a temporary name.
    """
    pending = dict(pairs)
    names = set(taken) | set(pending) | set(pending.values())
    out: list[tuple[str, str]] = []
    if case_blind:
        for o, n in sorted(pending.items()):
            if o != n and o.lower() == n.lower():
                tmp = _temporary(o, names)
                out.append((o, tmp))
                del pending[o]
                pending[tmp] = n
    fold = str.lower if case_blind else (lambda name: name)
    while pending:
        waiting = {fold(o) for o in pending}
        ready = sorted(o for o, n in pending.items() if fold(n) not in waiting)
        if ready:
            for o in ready:
                out.append((o, pending.pop(o)))
            continue
        o = min(pending)
        n = pending.pop(o)
        tmp = _temporary(o, names)
        out.append((o, tmp))
        pending[tmp] = n
    return out


def _temporary(name: str, names: set[str]) -> str:
    """A name for ``name`` on its way, none of ``names`` (which it joins)."""
    tmp = name[: PG_MAX_IDENTIFIER - len(TEMP_SUFFIX) - 2] + TEMP_SUFFIX
    taken = {n.lower() for n in names}
    i = 1
    while tmp.lower() in taken:
        tmp = f"{name[: PG_MAX_IDENTIFIER - len(TEMP_SUFFIX) - 4]}{TEMP_SUFFIX}{i}"
        i += 1
    names.add(tmp)
    return tmp


# --------------------------------------------------------------------------
# Names that stay true: derived renames looked up when the migration runs


def substitute(name: str, fragments: Sequence[tuple[str, str]]) -> str:
    """``name`` with each renamed table/column name in it replaced, as a whole word
    (``uq_authors_email`` -> ``uq_writers_email`` for ``authors`` -> ``writers``)."""
    import re

    out = name
    for old, new in sorted(fragments, key=lambda f: -len(f[0])):
        if old:
            out = re.sub(rf"(?<![A-Za-z0-9]){re.escape(old)}(?![A-Za-z0-9])", new, out)
    return out


@Operations.register_operation("rename_object")
class RenameObjectOp(MigrateOperation):
    """Rename an index, constraint or sequence whose name derives from a renamed table or column.

    The name is looked up when the migration runs, not trusted from when it
    was written: a database built from empty after the project adopted a
    naming convention calls the primary key ``pk_authors`` where the database
    migrated over time calls it ``authors_pkey``.  ``old`` present: renamed to
    ``new``.  Otherwise the object is found by what it is (``kind`` on
    ``table`` over ``columns``) and renamed by replacing the renamed names in
    its own name (``fragments``: (old, new) table and column names).  Offline
    (``--sql``) and on other databases: ``old`` -> ``new`` as written.
    """

    def __init__(
        self,
        kind: str,
        table_name: str,
        old_name: str,
        new_name: str,
        *,
        columns: Sequence[str] = (),
        fragments: Sequence[tuple[str, str]] = (),
        schema: str | None = None,
    ) -> None:
        self.kind = kind
        self.table_name = table_name
        self.old_name = old_name
        self.new_name = new_name
        self.columns = tuple(columns)
        self.fragments = tuple((str(a), str(b)) for a, b in fragments)
        self.schema = schema

    @classmethod
    def rename_object(
        cls,
        operations: Any,
        kind: str,
        table_name: str,
        old_name: str,
        new_name: str,
        *,
        columns: Sequence[str] = (),
        fragments: Sequence[tuple[str, str]] = (),
        schema: str | None = None,
    ) -> Any:
        """Rename a derived index/constraint/sequence, finding its current name at run time."""
        return operations.invoke(
            cls(kind, table_name, old_name, new_name, columns=columns, fragments=fragments, schema=schema)
        )

    def reverse(self) -> "RenameObjectOp":
        return RenameObjectOp(
            self.kind,
            self.table_name,
            self.new_name,
            self.old_name,
            columns=self.columns,
            fragments=[(b, a) for a, b in self.fragments],
            schema=self.schema,
        )

    def to_diff_tuple(self) -> tuple[Any, ...]:
        return (f"rename_{self.kind}", self.schema, self.table_name, self.old_name, self.new_name)


def live_objects(connection: Any, kind: str, table: str, schema: str | None) -> list[tuple[str, tuple[str, ...]]]:
    """(name, columns) of the ``kind`` objects of ``table`` in a PostgreSQL database now."""
    import sqlalchemy as sa

    params = {"t": table, "s": schema}
    where = "t.relname = :t AND n.nspname = coalesce(CAST(:s AS text), current_schema())"
    if kind == "index":
        sql = (
            "SELECT i.relname, array_agg(a.attname ORDER BY k.ord) FROM pg_index x "
            "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
            "JOIN pg_namespace n ON n.oid = t.relnamespace "
            "CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, ord) "
            "LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum "
            f"WHERE {where} AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid) "
            "GROUP BY i.relname"
        )
    elif kind == "sequence":
        sql = (
            "SELECT s.relname, array_agg(a.attname) FROM pg_depend d "
            "JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S' JOIN pg_class t ON t.oid = d.refobjid "
            "JOIN pg_namespace n ON n.oid = t.relnamespace "
            "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid "
            f"WHERE {where} AND d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass "
            "AND d.deptype IN ('a', 'i') GROUP BY s.relname"
        )
    else:
        params["k"] = PG_CONTYPE[kind]
        sql = (
            "SELECT c.conname, array_agg(a.attname ORDER BY k.ord) FROM pg_constraint c "
            "JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
            "LEFT JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord) ON true "
            "LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum "
            f"WHERE {where} AND c.contype = :k GROUP BY c.conname"
        )
    rows = connection.execute(sa.text(sql), params).all()
    return [(str(name), tuple(str(c) for c in (cols or ()) if c is not None)) for name, cols in rows]


def current_name(op: RenameObjectOp, live: Sequence[tuple[str, tuple[str, ...]]]) -> tuple[str, str] | None:
    """(name now, name wanted) for ``op`` given the live objects; None: nothing to rename."""
    names = {name for name, _cols in live}
    if op.old_name in names:
        return op.old_name, op.new_name
    if op.new_name in names:
        return None
    found = [name for name, cols in live if not op.columns or cols == op.columns]
    if len(found) > 1 or not op.columns:
        found = [n for n in found if substitute(n, op.fragments) != n]
    if len(found) != 1:
        return None
    target = substitute(found[0], op.fragments)
    return (found[0], target) if target != found[0] and target not in names else None


@Operations.implementation_for(RenameObjectOp)
def _run_rename_object(operations: Any, op: RenameObjectOp) -> None:
    context = operations.migration_context
    dialect = context.dialect
    if dialect.name != "postgresql" or context.as_sql:
        operations.execute(rename_object_sql(op.kind, op.schema, op.table_name, op.old_name, op.new_name, dialect))
        return
    pair = current_name(op, live_objects(operations.get_bind(), op.kind, op.table_name, op.schema))
    if pair is not None:
        operations.execute(rename_object_sql(op.kind, op.schema, op.table_name, pair[0], pair[1], dialect))


@renderers.dispatch_for(RenameObjectOp)
def _render_rename_object(autogen_context: Any, op: RenameObjectOp) -> str:
    autogen_context.imports.add(OPS_IMPORT)
    args = [repr(op.kind), repr(op.table_name), repr(op.old_name), repr(op.new_name)]
    if op.columns:
        args.append(f"columns={list(op.columns)!r}")
    if op.fragments:
        args.append(f"fragments={[tuple(f) for f in op.fragments]!r}")
    if op.schema:
        args.append(f"schema={op.schema!r}")
    return f"op.rename_object({', '.join(args)})"
