"""Old-world names to new-world names: a plan's name maps, and ops moved onto the new names.

Shared by the pairing of derived names, the shortcut comparisons and the rewrite.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import sqlalchemy as sa
from alembic.operations import ops

from .facts import Key, expr_name, fk_options
from .oldworld import OldWorld
from .ops import RenameColumn
from .plan import RenamePlan


class NameMaps:
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


def fk_spec_from_create(op: ops.CreateForeignKeyOp) -> tuple:
    kw = op.kw
    return (
        kw.get("source_schema"),
        op.source_table,
        tuple(op.local_cols),
        kw.get("referent_schema"),
        op.referent_table,
        tuple(op.remote_cols),
        fk_options(kw.get("ondelete"), kw.get("onupdate"), kw.get("deferrable"), kw.get("initially"), kw.get("match")),
    )


def drop_fk_create(op: ops.DropConstraintOp) -> ops.CreateForeignKeyOp | None:
    if op.constraint_type != "foreignkey":
        return None
    try:
        rev = op.reverse()
    except Exception:
        return None
    return rev if isinstance(rev, ops.CreateForeignKeyOp) else None


def map_fk_spec(spec: tuple, maps: NameMaps) -> tuple:
    ss, st, lc, rs, rt, rc, opts = spec
    src = maps.table(ss, st)
    ref = maps.table(rs, rt)
    return (src[0], src[1], tuple(maps.cols(src, lc)), ref[0], ref[1], tuple(maps.cols(ref, rc)), opts)


def _index_spec_of(index: sa.Index) -> tuple[tuple[str | None, ...], bool]:
    return tuple(expr_name(e) for e in (list(index.expressions) or list(index.columns))), bool(index.unique)


def create_index_spec(op: ops.CreateIndexOp) -> tuple[tuple[str | None, ...], bool]:
    return tuple(expr_name(c) for c in op.columns), bool(op.unique)


def drop_index_spec(op: ops.DropIndexOp) -> tuple[tuple[str | None, ...], bool] | None:
    try:
        return _index_spec_of(op.to_index())
    except Exception:
        return None


def find_model_index(table: sa.Table, name: Any) -> sa.Index | None:
    for idx in table.indexes:
        if idx.name is not None and str(idx.name) == str(name):
            return idx
    return None


def find_model_constraint(table: sa.Table, cls: type, name: Any, cols: Sequence[str] | None = None) -> Any:
    for c in table.constraints:
        if isinstance(c, cls) and not (cls is sa.UniqueConstraint and isinstance(c, sa.PrimaryKeyConstraint)):
            if name is not None and c.name is not None and str(c.name) == str(name):
                return c
    if cols is not None:
        for c in table.constraints:
            if isinstance(c, cls) and [col.name for col in c.columns] == list(cols):
                return c
    return None


def retarget(op: Any, key: Key, old_name: str, maps: NameMaps, table: sa.Table) -> Any | None:
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
        idx = find_model_index(table, op.index_name)
        if idx is not None:
            return ops.CreateIndexOp.from_index(idx)
        cols = [maps.col(key, n) if n else c for n, c in zip((expr_name(c) for c in op.columns), op.columns)]
        return ops.CreateIndexOp(op.index_name, new, cols, schema=schema, unique=op.unique, **op.kw)
    if isinstance(op, ops.DropIndexOp):
        try:
            index = op.to_index()
        except Exception:
            return ops.DropIndexOp(op.index_name, table_name=new, schema=schema)
        cols = [maps.col(key, n) if n else sa.text(str(e)) for n, e in zip((expr_name(e) for e in index.expressions), index.expressions)]
        rebuilt = ops.CreateIndexOp(op.index_name, new, cols, schema=schema, unique=index.unique)
        return ops.DropIndexOp.from_index(rebuilt.to_index())
    if isinstance(op, ops.CreateUniqueConstraintOp):
        cons = find_model_constraint(table, sa.UniqueConstraint, op.constraint_name)
        if cons is not None:
            return ops.CreateUniqueConstraintOp.from_constraint(cons)
        return ops.CreateUniqueConstraintOp(op.constraint_name, new, maps.cols(key, op.columns), schema=schema, **op.kw)
    if isinstance(op, ops.CreateForeignKeyOp):
        cons = find_model_constraint(table, sa.ForeignKeyConstraint, op.constraint_name)
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


def _mapped_create_fk(op: ops.CreateForeignKeyOp, maps: NameMaps) -> ops.CreateForeignKeyOp:
    kw = dict(op.kw)
    src = maps.table(kw.get("source_schema"), op.source_table)
    ref = maps.table(kw.get("referent_schema"), op.referent_table)
    kw["source_schema"] = src[0]
    kw["referent_schema"] = ref[0]
    return ops.CreateForeignKeyOp(
        op.constraint_name, src[1], ref[1], maps.cols(src, op.local_cols), maps.cols(ref, op.remote_cols), **kw
    )
