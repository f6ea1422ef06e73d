"""Step 6, the general way: the models as they would look under the *old* names.

Alembic diffs these copies against the database; what remains are the changes
that are not renames, in old names (``rename_rewrite`` moves them to the new).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

import sqlalchemy as sa

from .facts import Key, name_text
from .plan import RenamePlan

#: suffix of a stub table standing in for a referenced table whose name a copy already uses
STUB_SUFFIX = "__ss_ref"


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
        while (rkey[0], name) in by_copy or (f"{rkey[0]}.{name}" if rkey[0] else name) in md.tables:
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
            copy.append_constraint(sa.PrimaryKeyConstraint(*[cc(c) for c in pk.columns], name=name_text(pk.name)))
        for cons in table.constraints:
            if isinstance(cons, sa.UniqueConstraint) and not isinstance(cons, sa.PrimaryKeyConstraint):
                cols = [cc(c) for c in cons.columns]
                if cols and all(c is not None for c in cols):
                    copy.append_constraint(
                        sa.UniqueConstraint(
                            *cols,
                            name=name_text(cons.name),
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
                    name=name_text(fkc.name),
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
            sa.Index(name_text(idx.name), *cols, unique=idx.unique, **idx.dialect_kwargs)
    return OldWorld(md, copies, by_copy, {id(t) for t in stubs.values()}, aliases, skipped)
