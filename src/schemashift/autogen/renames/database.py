"""What rename detection reads from the database, through Alembic's MigrationContext.

The one place the renames package touches a database: the pipeline's snapshot
holds one ``DatabaseView`` and every rename step reads through it.
"""

from __future__ import annotations

from typing import Any, Sequence

import sqlalchemy as sa
from alembic.autogenerate import produce_migrations
from alembic.migration import MigrationContext
from alembic.operations import ops

from .compare import alter_column_op
from .derived import DbNames
from .facts import ForeignKeyFacts, IndexFacts, Key, TableFacts, table_facts
from .oldworld import OldWorld


class DatabaseView:
    """What the pipeline needs from the database, through Alembic's MigrationContext."""

    def __init__(self, context: MigrationContext) -> None:
        self.context = context
        self.connection = context.connection
        self.dialect = context.dialect
        self.render_as_batch = bool(context.opts.get("render_as_batch", False))
        self.opts = context.opts
        #: compare renamed tables from autogenerate's own reflection where possible
        #: (False: always ask Alembic to diff them again)
        self.direct = True

    def compare_column(self, key: Key, db_col: sa.Column, model_col: sa.Column) -> ops.AlterColumnOp | None:
        """What differs between a renamed column in the database and in the models, besides
        the name, judged as autogenerate judges it: the ``compare_type`` option (False, a
        callable, or Alembic's dialect comparison), nullability, comments."""
        user = self.opts.get("compare_type", True)
        type_changed = False
        no_type = isinstance(db_col.type, sa.types.NullType) or isinstance(model_col.type, sa.types.NullType)
        if user is not False and not no_type:
            verdict = None
            if callable(user):
                verdict = user(self.context, db_col, model_col, db_col.type, model_col.type)
            type_changed = bool(verdict) if verdict is not None else bool(self.context.impl.compare_type(db_col, model_col))
        return alter_column_op(
            key, db_col, model_col, type_changed=type_changed, compare_comment=bool(self.dialect.supports_comments)
        )

    def reflect(self, key: Key) -> TableFacts | None:
        """Facts of a database table autogenerate did not report dropped (chains, swaps)."""
        schema, name = key
        try:
            table = sa.Table(name, sa.MetaData(), schema=schema, autoload_with=self.connection, resolve_fks=False)
        except sa.exc.NoSuchTableError:
            return None
        return table_facts(table, self.dialect, schema=schema)

    def diff(self, world: OldWorld) -> list[Any]:
        """Alembic's own autogenerate of ``world`` (the models under the old names)
        against the database, limited to those tables."""
        opts = dict(self.context.opts)
        opts["target_metadata"] = world.metadata
        opts["include_name"] = world.include_name(self.context.opts.get("include_name"))
        opts["include_object"] = world.include_object(self.context.opts.get("include_object"))
        opts["process_revision_directives"] = None
        mc = MigrationContext.configure(connection=self.connection, opts=opts)
        script = produce_migrations(mc, world.metadata)
        return list(script.upgrade_ops.ops)

    def names(self, key: Key) -> DbNames:
        """Constraint and sequence names of a database table (old name)."""
        schema, name = key
        insp = sa.inspect(self.connection)
        pk = insp.get_pk_constraint(name, schema=schema) or {}
        uniques = tuple(
            IndexFacts(u.get("name"), tuple(u.get("column_names") or ()), True)
            for u in insp.get_unique_constraints(name, schema=schema)
        )
        fks = tuple(
            ForeignKeyFacts(
                f.get("name"),
                tuple(f.get("constrained_columns") or ()),
                f.get("referred_schema"),
                f.get("referred_table"),
                tuple(f.get("referred_columns") or ()),
            )
            for f in insp.get_foreign_keys(name, schema=schema)
        )
        try:
            checks = tuple(c["name"] for c in insp.get_check_constraints(name, schema=schema) if c.get("name"))
        except NotImplementedError:
            checks = ()
        return DbNames(
            pk.get("name"),
            tuple(pk.get("constrained_columns") or ()),
            uniques,
            fks,
            checks,
            self._sequences(schema, name),
        )

    def names_many(self, keys: Sequence[Key]) -> dict[Key, DbNames]:
        """``names`` for several tables, a few catalog queries in all (SQLAlchemy's multi-reflection)."""
        out: dict[Key, DbNames] = {}
        insp = sa.inspect(self.connection)
        by_schema: dict[Any, list[str]] = {}
        for schema, name in keys:
            by_schema.setdefault(schema, []).append(name)
        for schema, names in by_schema.items():
            pks = insp.get_multi_pk_constraint(schema=schema, filter_names=names)
            uqs = insp.get_multi_unique_constraints(schema=schema, filter_names=names)
            fks = insp.get_multi_foreign_keys(schema=schema, filter_names=names)
            try:
                cks = insp.get_multi_check_constraints(schema=schema, filter_names=names)
            except NotImplementedError:
                cks = {}
            seqs = self._sequences_many(schema, names)
            for name in names:
                k = (schema, name)
                pk = pks.get(k) or {}
                out[k] = DbNames(
                    pk.get("name"),
                    tuple(pk.get("constrained_columns") or ()),
                    tuple(
                        IndexFacts(u.get("name"), tuple(u.get("column_names") or ()), True) for u in uqs.get(k, ())
                    ),
                    tuple(
                        ForeignKeyFacts(
                            f.get("name"),
                            tuple(f.get("constrained_columns") or ()),
                            f.get("referred_schema"),
                            f.get("referred_table"),
                            tuple(f.get("referred_columns") or ()),
                        )
                        for f in fks.get(k, ())
                    ),
                    tuple(c["name"] for c in cks.get(k, ()) if c.get("name")),
                    seqs.get(name, ()),
                )
        return out

    def _sequences_many(self, schema: str | None, names: Sequence[str]) -> dict[str, tuple[tuple[str, str], ...]]:
        if self.dialect.name != "postgresql" or not names:
            return {}
        prep = self.dialect.identifier_preparer
        qualified = [(f"{prep.quote_schema(schema)}." if schema else "") + prep.quote(n) for n in names]
        rows = self.connection.execute(
            sa.text(
                "SELECT t.i, a.attname, s.relname "
                "FROM unnest(CAST(:tables AS text[])) WITH ORDINALITY AS t(name, i) "
                "JOIN pg_depend d ON d.refobjid = CAST(t.name AS regclass) "
                "JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S' "
                "JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid "
                "WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass "
                "AND d.deptype IN ('a', 'i') ORDER BY t.i, a.attnum"
            ),
            {"tables": qualified},
        ).all()
        out: dict[str, list[tuple[str, str]]] = {}
        for i, col, seq in rows:
            out.setdefault(names[int(i) - 1], []).append((str(col), str(seq)))
        return {k: tuple(v) for k, v in out.items()}

    def _sequences(self, schema: str | None, name: str) -> tuple[tuple[str, str], ...]:
        if self.dialect.name != "postgresql":
            return ()
        prep = self.dialect.identifier_preparer
        qualified = (f"{prep.quote_schema(schema)}." if schema else "") + prep.quote(name)
        rows = self.connection.execute(
            sa.text(
                "SELECT a.attname, s.relname FROM pg_depend d "
                "JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S' "
                "JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid "
                "WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass "
                "AND d.refobjid = CAST(:t AS regclass) AND d.deptype IN ('a', 'i') "
                "ORDER BY a.attnum"
            ),
            {"t": qualified},
        ).all()
        return tuple((str(r[0]), str(r[1])) for r in rows)
