"""Step 7 of rename detection: the upgrade with renames instead of drop + add.

Brings together the plan, the remaining differences (from ``rename_oldworld``
via Alembic, or ``rename_compare``) and the derived names, in the order a
migration can run them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

import sqlalchemy as sa
from alembic.operations import ops
from sqlalchemy.engine import Dialect

from .compare import direct_ops, inplace_ops, basic_compare_column
from .derived import (
    DbNames,
    DerivedRename,
    pair_away,
    derived_from_names,
    derived_ops,
)
from .facts import Key, TableFacts, fk_facts
from .maps import drop_fk_create, fk_spec_from_create, NameMaps, retarget
from .oldworld import OldWorld
from .ops import (
    CONSTRAINT_RENAME_DIALECTS,
    RenameColumn,
    RenameTable,
    order_renames,
)
from .plan import ColumnRename, RenamePlan, TableRename


@dataclass
class RewriteResult:
    upgrade_ops: ops.UpgradeOps
    derived: list[DerivedRename]
    notes: list[str]


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
    maps = NameMaps(plan, world)
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
            sub_ops = pair_away(
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
                m = retarget(o, key, copy_key[1], maps, table)
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
        replaced[key] = direct_ops(
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
            moved = inplace_ops(op, key, plan, maps, model[key], derived, notes, compare_column, new_world_batch=render_as_batch and dialect.name not in CONSTRAINT_RENAME_DIALECTS, rebuilt=rebuilt)
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
            sub = pair_away(list(op.ops), maps, None, None, derived, notes)
            keep, move = [], []
            for o in sub:
                create = drop_fk_create(o) if isinstance(o, ops.DropConstraintOp) else None
                if create is not None:
                    spec = fk_spec_from_create(create)
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
        for old, new in order_renames([(r.old, r.new) for r in items], taken, case_blind=dialect.name == "sqlite"):
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
    def fragments(key: Key) -> list[tuple[str, str]]:
        old = plan.table_old(key)
        pairs = [(old[1], key[1])] if old is not None and old[1] != key[1] else []
        return pairs + sorted(plan.columns_of(key).items())

    dops, dnotes, done = derived_ops(unique_derived, dialect, fragments)
    notes.extend(dnotes)
    new_ops = ops.UpgradeOps(
        ops=[*early, *pre_ops, *rename_ops, *dops, *final_rest], upgrade_token=upgrade_ops.upgrade_token
    )
    return RewriteResult(new_ops, done, notes)
