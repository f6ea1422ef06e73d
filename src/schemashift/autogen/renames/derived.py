"""Indexes, constraints and sequences whose names derive from a renamed table or column.

Found from drop/create pairs that differ only in name (``pair_away``) or from
the database's default naming (``derived_from_names``); ``derived_ops`` turns
them into ops the dialect can run without rebuilding a table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import sqlalchemy as sa
from alembic.operations import ops
from sqlalchemy.engine import Dialect

from ...schema.kinds import word
from .facts import ForeignKeyFacts, IndexFacts, Key, TableFacts, fk_facts
from .maps import (
    create_index_spec,
    drop_fk_create,
    drop_index_spec,
    find_model_constraint,
    find_model_index,
    fk_spec_from_create,
    map_fk_spec,
    NameMaps,
)
from .ops import (
    CONSTRAINT_RENAME_DIALECTS,
    INDEX_RENAME_DIALECTS,
    PG_MAX_IDENTIFIER,
    RenameObjectOp,
    RenameObjectSQL,
    order_renames,
)
from .plan import qualified_name


@dataclass(frozen=True)
class DerivedRename:
    """An index/constraint/sequence whose name derives from a renamed table or column."""

    kind: str  # a constraint kind (kinds.KINDS), index or sequence
    schema: str | None
    table: str  # the (new) table it belongs to
    old: str
    new: str
    columns: tuple[str, ...] = ()  # new-world column names (indexes)
    unique: bool = False
    model_index: Any = field(default=None, compare=False, hash=False, repr=False)

    def describe(self) -> str:
        return f"{word(self.kind)} {self.old} -> {self.new} (table {qualified_name(self.schema, self.table)})"


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


def _pg_default(table: str, cols: Sequence[str], suffix: str) -> str | None:
    name = "_".join([table, *cols, suffix]) if cols else f"{table}_{suffix}"
    return name if len(name) <= PG_MAX_IDENTIFIER else None


def _substitute(name: str, new_table: str, old_table: str, new2old: Mapping[str, str]) -> str:
    out = name.replace(new_table, old_table) if new_table != old_table else name
    for n, o in sorted(new2old.items(), key=lambda kv: -len(kv[0])):
        out = out.replace(n, o)
    return out


def derived_from_names(
    key: Key, old_name: str, db: DbNames, table: sa.Table, maps: NameMaps
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
        want("primary", db.pk_name, pk.name, db.primary_key, "pkey")
    for u in db.uniques:
        cols = [maps.col(key, c) for c in u.columns if c]
        cons = find_model_constraint(table, sa.UniqueConstraint, None, cols)
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
                want("foreign", f.name, fkc.name, list(f.columns), "fkey")
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


def derived_ops(
    derived: Sequence[DerivedRename],
    dialect: Dialect,
    fragments: Callable[[Key], list[tuple[str, str]]] = lambda _key: [],
) -> tuple[list[Any], list[str], list[DerivedRename]]:
    """Turn derived renames into ops this dialect can run without rebuilding a table.

    A rename that needs no temporary name (no swap) becomes ``op.rename_object``,
    which finds the object's name when the migration runs; ``fragments(key)``
    gives the (old, new) table and column names of the table now called ``key``.
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
            ns = (d.schema,) if d.kind in ("sequence", "unique", "primary") else (d.schema, d.table)
            renames.setdefault((d.kind if d.kind == "sequence" else "constraint", ns), []).append(d)
            done.append(d)
        else:
            notes.append(
                f"{name} cannot rename {word(d.kind)} {d.old} of table {d.table} without "
                f"rebuilding the table: it keeps its old name (the models call it {d.new})"
            )
    for (_group, _ns), items in renames.items():
        by_old = {d.old: d for d in items}
        steps = order_renames([(d.old, d.new) for d in items])
        if len(steps) == len(items):  # no swap: each name looked up when the migration runs
            for old, new in steps:
                d = by_old[old]
                out.append(
                    RenameObjectOp(
                        d.kind, d.table, old, new, columns=d.columns, fragments=fragments((d.schema, d.table)),
                        schema=d.schema,
                    )
                )
            continue
        for old, new in steps:
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


def pair_away(
    mops: list[Any],
    maps: NameMaps,
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
            dspec = drop_index_spec(d)
            if dspec is None or None in dspec[0]:
                continue
            dspec = (drop_cols(dspec[0]), dspec[1])
            for c in [o for o in result if isinstance(o, ops.CreateIndexOp)]:
                if create_index_spec(c) == dspec:
                    result.remove(d)
                    result.remove(c)
                    if str(d.index_name) != str(c.index_name):
                        idx = find_model_index(table, c.index_name) if table is not None else None
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
        create = drop_fk_create(d)
        if create is None:
            continue
        dspec = map_fk_spec(fk_spec_from_create(create), maps)
        for c in [o for o in result if isinstance(o, ops.CreateForeignKeyOp)]:
            cspec = fk_spec_from_create(c) if new_world else map_fk_spec(fk_spec_from_create(c), maps)
            if (dspec[2:6], dspec[6]) == (cspec[2:6], cspec[6]):
                result.remove(d)
                result.remove(c)
                if d.constraint_name and c.constraint_name and str(d.constraint_name) != str(c.constraint_name):
                    derived.append(
                        DerivedRename("foreign", cspec[0], cspec[1], str(d.constraint_name), str(c.constraint_name))
                    )
                break
    return result
