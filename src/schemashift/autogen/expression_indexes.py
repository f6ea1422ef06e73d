"""Expression indexes on SQLite: what Alembic's compare cannot see, read from ``sqlite_master``.

SQLite's reflection skips an index on an expression (``lower(email)``), so Alembic
removes every such index of the models from its comparison, with only a warning,
even for a table the same revision creates, where there is nothing to compare
(Alembic issue #750): the index is never written, and the database silently lacks
what the models and ``create_all()`` have.  An index on plain columns with ``DESC``
is reflected without its order, so once it exists Alembic reports it as changed
on every run (a drop and a create of the same index), while a rebuild that lost the
order (Alembic's batch mode reflects, then recreates) goes unseen.

This step reads the database's own ``CREATE INDEX`` text instead:
- ``create_index`` for each expression index of the models that the database does
  not have by name (honouring env.py's ``include_name``/``include_object``);
- a drop and create of the same index whose database text already says what the
  models say is dropped from the diff; one whose text differs (``DESC`` lost) stays.

A table renamed in this revision is left alone (its indexes keep their old names,
which the models no longer say).  Other databases reflect expressions and order, so
Alembic compares them itself.
"""

from __future__ import annotations

import contextlib
import warnings
from typing import Any, Callable, Iterable, Iterator

import sqlalchemy as sa
from alembic.operations import ops
from sqlalchemy.schema import CreateIndex

from ..schema.reflection import expression_index_skips_hidden
from ..schema.sql import normalize_sql

Key = tuple[str | None, str]


@contextlib.contextmanager
def blind_spot_warnings_hidden() -> Iterator[None]:
    """Hide Alembic's and SQLAlchemy's "expression-based index ... can't be compared"
    warnings while schemashift's pipeline, which does compare them, runs."""
    with warnings.catch_warnings(), expression_index_skips_hidden():
        warnings.filterwarnings("ignore", message=r"autogenerate skipping metadata-specified expression-based index")
        yield


def is_expression_index(index: sa.Index) -> bool:
    """Whether some part of ``index`` is not a plain column (a function, ``DESC``, text)."""
    return any(not isinstance(expr, sa.Column) for expr in index.expressions)


def database_indexes(connection: Any, table: str, schema: str | None) -> dict[str, str | None] | None:
    """Every index of ``table``, expression ones included, with its ``CREATE INDEX`` text
    (None for SQLite's own automatic indexes); None when there is no such table."""
    quote = connection.dialect.identifier_preparer.quote
    master = f"{quote(schema)}.sqlite_master" if schema else "sqlite_master"
    found = connection.exec_driver_sql(
        f"SELECT type, name, sql FROM {master} WHERE tbl_name = ? COLLATE NOCASE AND type IN ('table', 'index')",
        (table,),
    ).fetchall()
    if not any(kind == "table" for kind, _name, _sql in found):
        return None
    return {name: sql for kind, name, sql in found if kind == "index"}


def comparable(create_index: str) -> str:
    """The form two ``CREATE INDEX`` texts are compared in: spacing, quotes, case and
    ``IF NOT EXISTS`` aside (SQLite keeps the text as it was written)."""
    text = normalize_sql(create_index, key=True)
    return text.replace("index if not exists", "index", 1)


def index_text(index: sa.Index, dialect: Any) -> str:
    """The comparable form of the ``CREATE INDEX`` the models' ``index`` compiles to."""
    return comparable(str(CreateIndex(index).compile(dialect=dialect)))


def _tables(metadata: Any) -> Iterable[sa.Table]:
    for md in metadata if isinstance(metadata, (list, tuple)) else [metadata]:
        if md is not None:
            yield from md.tables.values()


def _written(up: ops.UpgradeOps) -> tuple[set[Key], set[tuple[Key, str]], dict[Key, ops.ModifyTableOps]]:
    """Tables this upgrade creates, indexes it already creates, and its per-table containers."""
    created: set[Key] = set()
    indexes: set[tuple[Key, str]] = set()
    containers: dict[Key, ops.ModifyTableOps] = {}
    for op in up.ops:
        if isinstance(op, ops.CreateTableOp):
            created.add((op.schema, op.table_name))
        elif isinstance(op, ops.CreateIndexOp):
            indexes.add(((op.schema, op.table_name), str(op.index_name)))
        elif isinstance(op, ops.ModifyTableOps):
            key = (op.schema, op.table_name)
            containers.setdefault(key, op)
            for inner in op.ops:
                if isinstance(inner, ops.CreateIndexOp):
                    indexes.add((key, str(inner.index_name)))
    return created, indexes, containers


def _same_index_twice(container: ops.ModifyTableOps) -> dict[str, tuple[Any, Any]]:
    """Index name -> (drop, create) where ``container`` drops and creates the same index."""
    drops = {str(op.index_name): op for op in container.ops if isinstance(op, ops.DropIndexOp)}
    return {
        str(op.index_name): (drops[str(op.index_name)], op)
        for op in container.ops
        if isinstance(op, ops.CreateIndexOp) and str(op.index_name) in drops
    }


def add_expression_indexes(
    up: ops.UpgradeOps,
    *,
    metadata: Any,
    dialect: Any,
    existing: Callable[[str, str | None], dict[str, str | None] | None],
    include: Callable[[sa.Table, sa.Index | None], bool] = lambda _t, _i: True,
    renamed: Iterable[Key] = (),
) -> ops.UpgradeOps:
    """Pipeline step (SQLite): the models' expression indexes the database lacks are created,
    and an index the database already has as the models say it is not dropped and created again.

    ``existing(table, schema)`` gives the database's indexes of a table with their
    ``CREATE INDEX`` text, or None when the table is not there (or the run is
    offline); ``include`` is env.py's filters; ``renamed`` the new keys of tables this
    revision renames.
    """
    created, written, containers = _written(up)
    skip = set(renamed)
    for table in _tables(metadata):
        key = (table.schema, table.name)
        if key in skip or not table.indexes or not include(table, None):
            continue
        have: dict[str, str | None] | None = {} if key in created else existing(table.name, table.schema)
        if have is None:  # not in the database and not created here: nothing to index
            continue
        container = containers.get(key)
        by_name = {str(ix.name): ix for ix in table.indexes if ix.name is not None}
        if container is not None:
            for name, (drop, create) in _same_index_twice(container).items():
                index = by_name.get(name)
                if index is not None and have.get(name) and comparable(have[name]) == index_text(index, dialect):
                    container.ops = [op for op in container.ops if op is not drop and op is not create]
        missing = [
            ops.CreateIndexOp.from_index(ix)
            for name, ix in sorted(by_name.items())
            if is_expression_index(ix) and name not in have and (key, name) not in written and include(table, ix)
        ]
        if not missing:
            continue
        if container is None:
            container = ops.ModifyTableOps(table.name, [], schema=table.schema)
            containers[key] = container
            position = len(up.ops)
            if key in created:  # right after its create_table
                position = next(
                    i + 1 for i, op in enumerate(up.ops)
                    if isinstance(op, ops.CreateTableOp) and (op.schema, op.table_name) == key
                )
            up.ops.insert(position, container)
        container.ops.extend(missing)
    up.ops[:] = [op for op in up.ops if not (isinstance(op, ops.ModifyTableOps) and not op.ops)]
    return up
