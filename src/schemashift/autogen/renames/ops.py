"""The ops a rename migration is made of: table, column, and index/constraint/sequence renames.

Alembic's own ops, with the reverse (and diff tuple) Alembic lacks, so
``upgrade_ops.reverse()`` is the downgrade; ``order_renames`` sequences
parallel renames (chains, and swaps via a temporary name).  Importing this
module registers the renderer for ``RenameTableOp`` that Alembic lacks.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from alembic.autogenerate import renderers
from alembic.operations import ops
from sqlalchemy.engine import Dialect

#: temporary names for swaps (``order_renames``), within PostgreSQL's identifier limit
TEMP_SUFFIX = "__ss_tmp"
PG_MAX_IDENTIFIER = 63

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
