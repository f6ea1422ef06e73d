"""``fill_downgrade``: write the empty ``downgrade()`` of a manual revision.

Why: Alembic's ``reverse()`` works from the operation alone, so a hand-written
``op.drop_table("t")`` reverses into a ``create_table`` with no columns and a
rename into nothing.  Here the upgrade runs on a scratch database at its
parent revision under ``recording.RecordingOperations``, which reflects each
affected table before and after every operation; each operation is reversed
from what the database held before it ran:

- dropped table -> ``create_table`` with every column, key, constraint and
  index it had; dropped column -> ``add_column`` with its type, nullability
  and default, plus the indexes and constraints that went with it;
- altered column -> ``alter_column`` back to the old name, type,
  nullability, default and comment; dropped index or constraint -> created
  again as it was; renames -> renamed back; created things -> dropped.

Raw SQL, ``bulk_insert`` into a table that existed before, and SQL sent
through the connection cannot be reversed: the downgrade then explains why in
comments and raises ``NotImplementedError``; the schema operations it could
reverse are left below it, commented out.  Code is rendered with Alembic's
``render_python_code``; the result is checked with ``verify`` by default.
"""

from __future__ import annotations

import ast
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alembic.operations import ops

from ..config import Project
from ..errors import Refused, RevisionError
from ..runner import REVISION_ERRORS, revision_error, revision_map
from .recording import Recorded, Recording, record_upgrade
from .scratch import PlannedStep, load_revision_module, run_steps, scratch_database, scratch_project

HEADER = "# Written by `schemashift revision --fill-downgrade`: upgrade()'s operations, reversed."


@dataclass
class Reversal:
    """How one recorded operation is undone."""

    description: str
    ops: list[Any] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    irreversible: str | None = None


@dataclass
class FillResult:
    revision: str
    path: Path
    reversals: list[Reversal]
    code: str
    written: bool
    verify: Any = None  # VerifyReport of this revision, when checked

    @property
    def irreversible(self) -> list[str]:
        return [r.irreversible for r in self.reversals if r.irreversible]

    def lines(self) -> list[str]:
        """What was written, for the command line."""
        out = [f"{'Wrote' if self.written else 'Would write'} downgrade() of {self.revision} in {self.path}:"]
        for reversal in self.reversals:
            mark = "cannot undo" if reversal.irreversible else "undone"
            out.append(f"  {mark}: {reversal.description}" + (f" ({reversal.irreversible})" if reversal.irreversible else ""))
        if self.irreversible:
            out.append("  downgrade() raises NotImplementedError until the above is written by hand")
        if self.verify is not None:
            outcome = self.verify.revisions[0] if self.verify.revisions else None
            if outcome is not None and outcome.status == "ok":
                out.append(f"  verify {self.revision}: ok (schema and rows round-trip)")
            elif outcome is not None and outcome.downgrade_proven:
                out.append(f"  verify {self.revision}: the downgrade restores the schema and every value the upgrade "
                           "keeps; the upgrade itself destroys data (review it, then acknowledge):")
                out += [f"    {line}" for line in outcome.problems()]
            elif outcome is not None:
                out.append(f"  verify {self.revision}: {outcome.status}")
                out += [f"    {line}" for line in outcome.problems()]
        return out

    @property
    def verified(self) -> bool | None:
        if self.verify is None:
            return None
        return bool(self.verify.revisions) and self.verify.revisions[0].downgrade_proven


# ------------------------------------------------------------ reversing


class _Barrier:
    """Ends a batch block: what follows must run after it (SQLite copies the table)."""


@dataclass
class _Raw:
    """A statement to render as ``op.execute(...)`` (no Alembic operation fits)."""

    sql: str


def _server_default(column: Any) -> Any:
    import sqlalchemy as sa

    default = column.server_default
    if default is None:
        return None
    arg = getattr(default, "arg", None)
    if arg is None:
        return None
    # a DefaultClause, so Alembic renders it as sa.text(...) in alter_column too
    return sa.DefaultClause(arg if not isinstance(arg, str) else sa.text(arg))


def _fresh_type(coltype: Any) -> Any:
    try:
        from sqlalchemy.dialects.postgresql import ENUM
    except ImportError:  # pragma: no cover
        return coltype
    if isinstance(coltype, ENUM):  # the type outlives its columns: do not create it again
        return ENUM(*coltype.enums, name=coltype.name, create_type=False)
    return coltype


def _column(col: Any, dialect: str, *, in_table: bool = False) -> Any:
    """A new Column with the reflected column's definition."""
    import sqlalchemy as sa

    server_default = _server_default(col)
    args: list[Any] = []
    kw: dict[str, Any] = {}
    if server_default is not None and "nextval(" in str(server_default.arg) and col.primary_key:
        server_default = None  # a SERIAL key: CREATE TABLE makes its sequence again
        kw["autoincrement"] = True
    if col.identity is not None:
        ident = col.identity
        args.append(sa.Identity(always=ident.always, start=ident.start, increment=ident.increment))
    if col.computed is not None:
        args.append(sa.Computed(col.computed.sqltext, persisted=col.computed.persisted))
    if in_table and col.primary_key:
        kw["primary_key"] = False  # named in the table's PrimaryKeyConstraint instead
    return sa.Column(
        col.name, _fresh_type(col.type), *args,
        nullable=col.nullable, server_default=server_default, comment=col.comment or None, **kw,
    )


def _rebuild_table(table: Any, dialect: str) -> Any:
    """A new Table with everything reflected ``table`` had (indexes apart)."""
    import sqlalchemy as sa

    items: list[Any] = [_column(c, dialect, in_table=True) for c in table.columns]
    pk = table.primary_key
    if pk is not None and pk.columns:
        items.append(sa.PrimaryKeyConstraint(*[c.name for c in pk.columns], name=pk.name))
    for constraint in table.constraints:
        copy = _constraint_copy(constraint)
        if copy is not None and not isinstance(copy, sa.PrimaryKeyConstraint):
            items.append(copy)
    return sa.Table(table.name, sa.MetaData(), *items, schema=table.schema, comment=table.comment)


def _constraint_copy(constraint: Any) -> Any:
    import sqlalchemy as sa

    if isinstance(constraint, sa.ForeignKeyConstraint):
        return sa.ForeignKeyConstraint(
            [c.name if hasattr(c, "name") else c for c in constraint.column_keys],
            [el.target_fullname for el in constraint.elements],
            name=constraint.name, ondelete=constraint.ondelete, onupdate=constraint.onupdate,
            deferrable=constraint.deferrable, initially=constraint.initially,
        )
    if isinstance(constraint, sa.UniqueConstraint) and not isinstance(constraint, sa.PrimaryKeyConstraint):
        return sa.UniqueConstraint(*[c.name for c in constraint.columns], name=constraint.name)
    if isinstance(constraint, sa.CheckConstraint):
        return sa.CheckConstraint(sa.text(str(getattr(constraint.sqltext, "text", constraint.sqltext))), name=constraint.name)
    if isinstance(constraint, sa.PrimaryKeyConstraint):
        return sa.PrimaryKeyConstraint(*[c.name for c in constraint.columns], name=constraint.name)
    return None


def _constraints(table: Any) -> dict[Any, Any]:
    """Named constraints of a reflected table (by name), unnamed ones by shape."""
    import sqlalchemy as sa

    out = {}
    if table is None:
        return out
    for constraint in table.constraints:
        if isinstance(constraint, sa.PrimaryKeyConstraint) and not constraint.columns:
            continue
        key = constraint.name or (type(constraint).__name__, tuple(sorted(c.name for c in constraint.columns)))
        out[key] = constraint
    return out


def _indexes(table: Any) -> dict[Any, Any]:
    if table is None:
        return {}
    return {ix.name: ix for ix in table.indexes}


def _add_constraint_op(table: str, constraint: Any, schema: str | None) -> Any:
    """The operation that creates ``constraint`` (reflected) on ``table`` again."""
    import sqlalchemy as sa

    columns = [c.name for c in constraint.columns]
    if isinstance(constraint, sa.ForeignKeyConstraint):
        first = constraint.elements[0]
        target_table = first.target_fullname.rsplit(".", 1)[0]
        referent_schema, _, referent = target_table.rpartition(".")
        return ops.CreateForeignKeyOp(
            constraint.name, table, referent, list(constraint.column_keys),
            [el.target_fullname.rsplit(".", 1)[1] for el in constraint.elements],
            onupdate=constraint.onupdate, ondelete=constraint.ondelete,
            deferrable=constraint.deferrable, initially=constraint.initially,
            source_schema=schema, referent_schema=referent_schema or None,
        )
    if isinstance(constraint, sa.PrimaryKeyConstraint):
        return ops.CreatePrimaryKeyOp(constraint.name, table, columns, schema=schema)
    if isinstance(constraint, sa.UniqueConstraint):
        return ops.CreateUniqueConstraintOp(constraint.name, table, columns, schema=schema)
    if isinstance(constraint, sa.CheckConstraint):
        text = str(getattr(constraint.sqltext, "text", constraint.sqltext))
        return ops.CreateCheckConstraintOp(constraint.name, table, sa.text(text), schema=schema)
    return None


def _index_op(index: Any) -> Any:
    return ops.CreateIndexOp.from_index(index)


_PLACEHOLDERS = {  # per storage family (``schema.types``)
    "string": ("''", "''"),
    "integer": ("0", "0"),
    "numeric": ("0", "0"),
    "boolean": ("false", "0"),
    "date": ("'1970-01-01'", "'1970-01-01'"),
    "datetime": ("'1970-01-01 00:00:00'", "'1970-01-01 00:00:00'"),
    "time": ("'00:00:00'", "'00:00:00'"),
    "uuid": ("'00000000-0000-0000-0000-000000000000'", "'00000000-0000-0000-0000-000000000000'"),
    "json": ("'{}'", "'{}'"),
}


def _placeholder(coltype: Any, dialect: str) -> str | None:
    kind = _kind(coltype)
    pair = _PLACEHOLDERS.get(kind)
    if pair is None:
        return None
    return pair[1] if dialect == "sqlite" else pair[0]


def _restore_column(rec: Recorded, name: str, dialect: str) -> Reversal:
    """Reverse a dropped column: add it back, with what went with it."""
    import sqlalchemy as sa

    op = rec.op
    reflected = rec.before.c[name]
    table, schema = rec.table, getattr(op, "schema", None)
    column = _column(reflected, dialect)
    out = Reversal(f"drop column {table}.{name}")
    out.notes.append(f"{table}.{name}: upgrade() dropped its values; they are not restored")
    if not reflected.nullable and column.server_default is None:
        literal = _placeholder(reflected.type, dialect)
        if literal is not None:
            column.server_default = sa.DefaultClause(sa.text(literal))
            out.notes.append(f"{table}.{name} is NOT NULL: existing rows get {literal}, then the default is dropped")
            out.ops += [ops.AddColumnOp(table, column, schema=schema), _Barrier()]
            out.ops.append(
                ops.AlterColumnOp(
                    table, name, modify_server_default=None, existing_type=reflected.type,
                    existing_nullable=False, schema=schema,
                )
            )
        else:
            out.ops.append(ops.AddColumnOp(table, column, schema=schema))
            out.notes.append(f"{table}.{name} is NOT NULL with no default: this fails if {table} has rows")
    else:
        out.ops.append(ops.AddColumnOp(table, column, schema=schema))
    out.ops.append(_Barrier())
    out.ops += _restore_lost(rec, lambda cols: name in cols)
    return out


def _restore_lost(rec: Recorded, involves: Any) -> list[Any]:
    """Indexes and constraints the table had before ``rec`` and not after, re-created."""
    result: list[Any] = []
    schema = getattr(rec.op, "schema", None)
    before_ix, after_ix = _indexes(rec.before), _indexes(rec.after)
    for name, index in before_ix.items():
        if name not in after_ix and involves({c.name for c in index.columns}):
            result.append(_index_op(index))
    before_c, after_c = _constraints(rec.before), _constraints(rec.after)
    import sqlalchemy as sa

    for key, constraint in before_c.items():
        if key in after_c or isinstance(constraint, sa.PrimaryKeyConstraint):
            continue
        if involves({c.name for c in constraint.columns}):
            op = _add_constraint_op(rec.table, constraint, schema)
            if op is not None:
                result.append(op)
    return result


def _reverse_alter(rec: Recorded, dialect: str) -> Reversal:
    op: ops.AlterColumnOp = rec.op
    table, schema = rec.table, op.schema
    old = rec.before.c[op.column_name] if rec.before is not None and op.column_name in rec.before.c else None
    if old is None:
        return Reversal(f"alter column {table}.{op.column_name}", irreversible="the column was not found before the change")
    new_name = op.modify_name or op.column_name
    now = rec.after.c[new_name] if rec.after is not None and new_name in rec.after.c else None
    kw: dict[str, Any] = {}
    if op.modify_name:
        kw["modify_name"] = op.column_name
    if op.modify_type is not None:
        kw["modify_type"] = _fresh_type(old.type)
        if dialect == "postgresql" and now is not None and _family(now.type) != _family(old.type):
            kw["postgresql_using"] = f'"{new_name}"::{old.type.compile(dialect=_pg_dialect())}'
    if op.modify_nullable is not None:
        kw["modify_nullable"] = old.nullable
    if op.modify_server_default is not False:
        kw["modify_server_default"] = _server_default(old)
    if op.modify_comment is not False:
        kw["modify_comment"] = old.comment
    reverse = ops.AlterColumnOp(
        table, new_name, schema=schema,
        existing_type=now.type if now is not None else old.type,
        existing_nullable=now.nullable if now is not None else old.nullable,
        existing_server_default=_server_default(now) if now is not None else None,
        **kw,
    )
    out = Reversal(f"alter column {table}.{op.column_name}", [reverse, _Barrier()])
    out.ops += _restore_lost(rec, lambda cols: op.column_name in cols or new_name in cols)
    return out


def _kind(coltype: Any) -> str:
    """The storage family: what a placeholder value must be."""
    from ..schema.types import describe_type

    return describe_type(coltype).storage


def _family(coltype: Any) -> str:
    """The type's family: PostgreSQL needs a USING cast between two different ones."""
    from ..schema.types import describe_type

    return describe_type(coltype).family


def _pg_dialect() -> Any:
    from sqlalchemy.dialects import postgresql

    return postgresql.dialect()


def reverse_one(rec: Recorded, dialect: str, created: set[str]) -> Reversal:
    """The operations that undo one recorded operation (see module docstring)."""
    reversal = _reverse_op(rec, dialect, created)
    for name in rec.enums_created:  # after the table that used it is gone
        reversal.ops.append(_Raw('DROP TYPE "{}"'.format(name.replace('"', '""'))))
    return reversal


def _reverse_op(rec: Recorded, dialect: str, created: set[str]) -> Reversal:
    op = rec.op
    schema = getattr(op, "schema", None)
    if isinstance(op, ops.CreateTableOp):
        return Reversal(f"create table {op.table_name}", [ops.DropTableOp(op.table_name, schema=schema)])
    if isinstance(op, ops.DropTableOp):
        if rec.before is None:
            return Reversal(f"drop table {op.table_name}", irreversible=f"table {op.table_name} was not found before the drop")
        table = _rebuild_table(rec.before, dialect)
        out = Reversal(f"drop table {op.table_name}", [ops.CreateTableOp.from_table(table)])
        out.ops += [_index_op(ix) for ix in sorted(rec.before.indexes, key=lambda i: i.name or "")]
        out.notes.append(f"table {op.table_name}: upgrade() dropped its rows; they are not restored")
        return out
    if isinstance(op, ops.RenameTableOp):
        return Reversal(
            f"rename table {op.table_name} to {op.new_table_name}",
            [ops.RenameTableOp(op.new_table_name, op.table_name, schema=schema)],
        )
    if isinstance(op, ops.AddColumnOp):
        return Reversal(f"add column {op.table_name}.{op.column.name}", [ops.DropColumnOp(rec.table, op.column.name, schema=schema)])
    if isinstance(op, ops.DropColumnOp):
        if rec.before is None or op.column_name not in rec.before.c:
            return Reversal(f"drop column {rec.table}.{op.column_name}", irreversible="the column was not found before the drop")
        return _restore_column(rec, op.column_name, dialect)
    if isinstance(op, ops.AlterColumnOp):
        return _reverse_alter(rec, dialect)
    if isinstance(op, ops.CreateIndexOp):
        return Reversal(f"create index {op.index_name}", [ops.DropIndexOp(op.index_name, table_name=rec.table, schema=schema)])
    if isinstance(op, ops.DropIndexOp):
        index = _indexes(rec.before).get(op.index_name)
        if index is None:
            return Reversal(f"drop index {op.index_name}", irreversible=f"index {op.index_name} was not found before the drop")
        return Reversal(f"drop index {op.index_name}", [_index_op(index)])
    if isinstance(op, ops.AddConstraintOp):
        name = op.constraint_name
        if not name:  # the database named it: find the new one
            fresh = [c for k, c in _constraints(rec.after).items() if k not in _constraints(rec.before)]
            name = fresh[0].name if len(fresh) == 1 else None
        if not name:
            return Reversal("add unnamed constraint", irreversible=f"an unnamed constraint on {rec.table} cannot be dropped by name")
        type_ = {"foreign_key": "foreignkey", "primary_key": "primary", "unique": "unique", "check": "check"}.get(
            getattr(op, "constraint_type", ""), None
        )
        return Reversal(f"add constraint {name}", [ops.DropConstraintOp(name, rec.table, type_=type_, schema=schema)])
    if isinstance(op, ops.DropConstraintOp):
        constraint = _constraints(rec.before).get(op.constraint_name)
        if constraint is None:
            return Reversal(f"drop constraint {op.constraint_name}", irreversible=f"constraint {op.constraint_name} was not found before the drop")
        add = _add_constraint_op(rec.table, constraint, schema)
        return Reversal(f"drop constraint {op.constraint_name}", [add] if add is not None else [],
                        irreversible=None if add is not None else f"constraint {op.constraint_name} cannot be re-created")
    if isinstance(op, (ops.CreateTableCommentOp, ops.DropTableCommentOp)):
        old = rec.before.comment if rec.before is not None else None
        back = (
            ops.CreateTableCommentOp(rec.table, old, schema=schema)
            if old else ops.DropTableCommentOp(rec.table, schema=schema)
        )
        return Reversal(f"comment on table {rec.table}", [back])
    if isinstance(op, ops.BulkInsertOp):
        name = op.table.name
        if name in created:
            return Reversal(f"bulk insert into {name}", notes=[f"rows inserted into {name} go with the table"])
        return Reversal(f"bulk insert into {name}", irreversible=f"op.bulk_insert into {name}: a data change")
    if isinstance(op, ops.ExecuteSQLOp):
        sql = " ".join(str(op.sqltext).split())
        if sql.upper().startswith(("SELECT ", "SHOW ", "EXPLAIN ")):
            return Reversal(f"execute {sql[:60]}", notes=[f"op.execute({sql[:60]!r}) only reads"])
        return Reversal(f"execute {sql[:60]}", irreversible=f"op.execute({sql[:80]!r}): raw SQL; its effect is unknown")
    try:
        back = op.reverse()
    except (NotImplementedError, ValueError, AttributeError):
        return Reversal(type(op).__name__, irreversible=f"{type(op).__name__} has no reverse")
    return Reversal(type(op).__name__, [back])


def reverse_recording(recording: Recording) -> list[Reversal]:
    """Reversals of every recorded operation, in upgrade order."""
    created: set[str] = set()
    out = []
    for rec in recording.operations:
        out.append(reverse_one(rec, recording.dialect, created))
        if isinstance(rec.op, ops.CreateTableOp):
            created.add(rec.op.table_name)
    for statement in recording.direct_sql:
        out.append(Reversal(f"SQL {statement[:60]}", irreversible=f"SQL run through the connection ({statement[:80]!r})"))
    return out


# ------------------------------------------------------------- rendering


_TABLE_LEVEL = (
    ops.AddColumnOp, ops.DropColumnOp, ops.AlterColumnOp, ops.CreateIndexOp, ops.DropIndexOp,
    ops.AddConstraintOp, ops.DropConstraintOp, ops.CreateTableCommentOp, ops.DropTableCommentOp,
)


def _grouped(items: list[Any]) -> list[Any]:
    """Table-level operations in ``ModifyTableOps`` per table (a batch block each)."""
    out: list[Any] = []
    current: Any = None
    for item in items:
        if isinstance(item, _Barrier):
            current = None
            continue
        if isinstance(item, _TABLE_LEVEL):
            table = getattr(item, "table_name", None) or getattr(item, "source_table", None)
            schema = getattr(item, "schema", None) or getattr(item, "source_schema", None)
            if current is None or current.table_name != table:
                current = ops.ModifyTableOps(table, [], schema=schema)
                out.append(current)
            current.ops.append(item)
        else:
            current = None
            out.append(item)
    return out


def _using(item: Any) -> str | None:
    inner = item.ops if isinstance(item, ops.ModifyTableOps) and len(item.ops) == 1 else [item]
    op = inner[0]
    return op.kw.get("postgresql_using") if isinstance(op, ops.AlterColumnOp) else None


def render_body(reversals: list[Reversal], *, batch: bool, migration_context: Any = None) -> list[str]:
    """The lines of the new ``downgrade()`` body (indented four spaces)."""
    from alembic.autogenerate import render_python_code

    undo: list[Any] = []
    for reversal in reversed(reversals):
        # one batch block per reversed operation: a block sees its table as it
        # was when the block began, so a later step must not share it
        undo += [o for o in reversal.ops if o is not None] + [_Barrier()]
    code: list[str] = []
    run: list[Any] = []

    def flush() -> None:
        if run:
            rendered = render_python_code(
                ops.DowngradeOps(ops=list(run)), render_as_batch=batch, migration_context=migration_context
            )
            lines = [line for line in rendered.splitlines() if not line.strip().startswith("# ###")]
            while lines and not lines[-1].strip():
                lines.pop()
            code.extend(lines)
            run.clear()

    for item in _grouped(undo):
        if isinstance(item, ops.RenameTableOp):  # Alembic has no renderer for it
            flush()
            schema = f", schema={item.schema!r}" if item.schema else ""
            code.append(f"    op.rename_table({item.table_name!r}, {item.new_table_name!r}{schema})")
            continue
        if isinstance(item, _Raw):
            flush()
            code.append(f"    op.execute({item.sql!r})")
            continue
        using = _using(item)
        if using is None:
            run.append(item)
            continue
        flush()  # Alembic's renderer leaves postgresql_using out: render alone, add it
        run.append(item)
        flush()
        if code and code[-1].rstrip().endswith(")"):
            last = code[-1].rstrip()
            code[-1] = f"{last[:-1]},"
            code.append(f"{' ' * 15}postgresql_using={using!r})")
    flush()
    notes = [n for r in reversals for n in r.notes]
    lost = [r.irreversible for r in reversals if r.irreversible]
    lines = [f"    {HEADER}"]
    if lost:
        lines.append("    # upgrade() does things that cannot be undone automatically:")
        lines += [f"    #   - {reason}" for reason in lost]
        lines.append("    # Undo them by hand, then uncomment the reversed schema changes below and")
        lines.append("    # remove the raise.")
        message = "this downgrade must be written by hand: " + "; ".join(lost)
        lines.append(f"    raise NotImplementedError({message!r})")
        lines += [f"    # {line[4:] if line.startswith('    ') else line}" for line in code]
        return lines
    lines += [f"    # {note}" for note in notes]
    if not code:
        lines.append("    pass  # upgrade() runs no operations, so there is nothing to undo")
    return lines + code


# --------------------------------------------------------- the revision file


def _downgrade_node(tree: ast.Module) -> ast.FunctionDef:
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "downgrade":
            return node
    raise Refused("the revision file has no downgrade() function", hint="add 'def downgrade(): pass' first")


def _is_empty(node: ast.FunctionDef) -> bool:
    for stmt in node.body:
        if isinstance(stmt, ast.Pass):
            continue
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, (str, type(Ellipsis))):
            continue
        return False
    return True


def downgrade_is_empty(path: str | Path) -> bool:
    """Whether ``downgrade()`` holds nothing but ``pass``, ``...`` and a docstring."""
    return _is_empty(_downgrade_node(ast.parse(Path(path).read_text())))


def rewrite_downgrade(source: str, body: list[str]) -> str:
    """``source`` with the body of ``downgrade()`` replaced (its docstring kept)."""
    tree = ast.parse(source)
    node = _downgrade_node(tree)
    lines = source.splitlines(keepends=True)
    first = node.body[0]
    keep_through = first.lineno - 1  # lines before the body's first statement
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        keep_through = first.end_lineno or first.lineno
    end = node.end_lineno or node.lineno
    new_body = [line + "\n" for line in body]
    text = "".join(lines[:keep_through] + new_body + lines[end:])
    return _ensure_imports(text, "\n".join(body))


def _ensure_imports(text: str, body: str) -> str:
    needed = []
    if re.search(r"(?<![\w.])sa\.", body) and not re.search(r"(?m)^import sqlalchemy as sa\b", text):
        needed.append("import sqlalchemy as sa")
    for dialect in ("postgresql", "sqlite", "mysql"):
        if re.search(rf"(?<![\w.]){dialect}\.", body) and not re.search(
            rf"(?m)^from sqlalchemy\.dialects import .*\b{dialect}\b", text
        ):
            needed.append(f"from sqlalchemy.dialects import {dialect}")
    if not needed:
        return text
    anchor = re.search(r"(?m)^(import sqlalchemy as sa|from alembic import op)[^\n]*\n", text)
    at = anchor.end() if anchor else 0
    return text[:at] + "".join(line + "\n" for line in needed) + text[at:]


# ------------------------------------------------------------------ driver


def fill_downgrade(
    project: Project,
    rev: str,
    *,
    scratch_url: str | None = None,
    write: bool = True,
    check: bool = True,
) -> FillResult:
    """Write ``rev``'s empty ``downgrade()`` from its recorded ``upgrade()``.

    Refuses a revision whose ``downgrade()`` is not empty.  With ``check``,
    the written file is proven with ``verify`` on ``rev`` alone.
    """
    rmap = revision_map(project)
    try:
        target = rmap.get_revision(rev)
    except REVISION_ERRORS as exc:
        raise revision_error(exc) from exc
    if target is None:
        raise RevisionError(f"{rev!r} is not a single revision", hint="give a revision id")
    path = Path(target.path)
    source = path.read_text()
    if not _is_empty(_downgrade_node(ast.parse(source))):
        raise Refused(
            f"downgrade() of {target.revision} is not empty ({path})",
            hint="--fill-downgrade only writes empty downgrades; empty it (pass) to have it written again",
        )
    needed = _as_tuple(target.down_revision) + _as_tuple(target.dependencies)
    below = rmap.iterate_revisions(needed, "base", assert_relative_length=False) if needed else []
    setup = [r.revision for r in reversed(list(below))]
    module = load_revision_module(path, f"schemashift_fill_{target.revision}_{uuid.uuid4().hex[:6]}")
    captured: dict[str, Any] = {}

    def record(migration_context: Any) -> None:
        captured["recording"] = record_upgrade(module, migration_context)
        captured["context"] = migration_context
        captured["batch"] = bool(migration_context.opts.get("render_as_batch"))

    plan = [PlannedStep(r, True, "setup") for r in setup] + [PlannedStep(target.revision, True, "record", run=record)]
    with scratch_database(project.url, scratch_url) as scratch:
        run_steps(scratch_project(project, scratch), scratch, plan)
    recording: Recording = captured["recording"]
    reversals = reverse_recording(recording)
    batch = captured["batch"] or recording.dialect == "sqlite" or any(r.batch for r in recording.operations)
    body = render_body(reversals, batch=batch)
    result = FillResult(target.revision, path, reversals, "\n".join(body), written=False)
    if write:
        path.write_text(rewrite_downgrade(source, body))
        result.written = True
        _forget_bytecode(path)
        if check:
            from .verify import verify

            result.verify = verify(project, scratch_url=scratch_url, rev_range=f"{target.revision}:{target.revision}")
    return result


def _as_tuple(value: Any) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def _forget_bytecode(path: Path) -> None:
    pycache = path.parent / "__pycache__"
    if pycache.is_dir():
        for compiled in pycache.glob(f"{path.stem}.*.pyc"):
            compiled.unlink(missing_ok=True)
