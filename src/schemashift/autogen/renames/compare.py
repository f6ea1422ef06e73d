"""Step 6, the shortcuts: what else differs for a renamed table, without a second Alembic diff.

``inplace_tables``: tables that only rename columns, rewritten from
autogenerate's own ops (the common case); ``direct_tables``: renamed tables
compared from autogenerate's reflection (SQLite/PostgreSQL, nothing exotic).
Anything else goes through ``rename_oldworld``.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import sqlalchemy as sa
from alembic.operations import ops
from sqlalchemy.engine import Dialect

from .derived import DerivedRename, pair_away
from .facts import Key, TableFacts, fk_facts, type_sql
from .maps import NameMaps, retarget
from .plan import RenamePlan
from .survey import Survey


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


def inplace_ops(
    op: ops.ModifyTableOps,
    key: Key,
    plan: RenamePlan,
    maps: NameMaps,
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
    kept = pair_away(
        kept, maps, key, table, derived, notes, new_world=True, keep_unique_renames=new_world_batch, rebuilt=rebuilt
    )
    out = []
    for o in kept:
        if isinstance(o, (ops.DropIndexOp, ops.DropConstraintOp)):
            m = retarget(o, key, key[1], maps, table)
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


def direct_ops(
    key: Key,
    old: TableFacts,
    table: sa.Table,
    maps: NameMaps,
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
                derived.append(DerivedRename("foreign", schema, new, str(f.name), str(match.name)))
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
