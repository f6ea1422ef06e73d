"""The schema as an entity-relationship diagram, as data: tables, columns, keys, relations.

A ``SchemaDiagram`` is made from a SQLAlchemy ``MetaData`` (the models, or a
database reflected at some revision), so both sides of a diff are the same
kind of thing.  ``diff`` marks what a later schema adds, removes, renames and
changes; renames come from the revisions themselves (``renames.py``), never
from guessing by structure, so a picture never shows a rename that did not
happen.

Why not paracelsus or eralchemy: paracelsus writes Mermaid/DOT text from model
classes only (no reflected schema, no diff, no SVG without a JavaScript
renderer), and eralchemy needs pygraphviz, a C extension built against
Graphviz's headers; schemashift needs the schema at any revision, a diff, and
an SVG that works offline with nothing installed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Mapping

ADDED = "added"
REMOVED = "removed"
RENAMED = "renamed"
CHANGED = "changed"


@dataclass(frozen=True)
class ErdColumn:
    name: str
    type: str
    primary_key: bool = False
    nullable: bool = True
    unique: bool = False
    references: str | None = None  # "table.column" of a foreign key
    status: str = ""
    old_name: str | None = None
    old_type: str | None = None


@dataclass(frozen=True)
class ErdTable:
    name: str
    columns: tuple[ErdColumn, ...]
    unique: tuple[tuple[str, ...], ...] = ()
    status: str = ""
    old_name: str | None = None

    def column(self, name: str) -> ErdColumn | None:
        for col in self.columns:
            if col.name == name:
                return col
        return None


@dataclass(frozen=True)
class ErdRelation:
    """A foreign key: ``table(columns)`` refers to ``ref_table(ref_columns)``."""

    table: str
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]
    nullable: bool = True
    unique: bool = False
    status: str = ""


@dataclass
class SchemaDiagram:
    tables: list[ErdTable]
    relations: list[ErdRelation]
    title: str = ""

    def table(self, name: str) -> ErdTable | None:
        for table in self.tables:
            if table.name == name:
                return table
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "tables": [
                {
                    "name": t.name,
                    "status": t.status,
                    "old_name": t.old_name,
                    "unique": [list(u) for u in t.unique],
                    "columns": [
                        {
                            "name": c.name,
                            "type": c.type,
                            "primary_key": c.primary_key,
                            "nullable": c.nullable,
                            "unique": c.unique,
                            "references": c.references,
                            "status": c.status,
                            "old_name": c.old_name,
                            "old_type": c.old_type,
                        }
                        for c in t.columns
                    ],
                }
                for t in self.tables
            ],
            "relations": [
                {
                    "table": r.table,
                    "columns": list(r.columns),
                    "ref_table": r.ref_table,
                    "ref_columns": list(r.ref_columns),
                    "status": r.status,
                }
                for r in self.relations
            ],
        }


def _type_name(column: Any, dialect: Any) -> str:
    try:
        return column.type.compile(dialect=dialect)
    except Exception:  # a type the dialect cannot render (e.g. a model-only type)
        return type(column.type).__name__.upper()


def from_metadata(metadata: Any, *, exclude: Iterable[str] = (), dialect: Any = None, title: str = "") -> SchemaDiagram:
    """A diagram of every table in ``metadata`` (``exclude``: names to leave out)."""
    from sqlalchemy import UniqueConstraint
    from sqlalchemy.dialects import sqlite

    dialect = dialect or sqlite.dialect()
    skip = set(exclude)
    tables: list[ErdTable] = []
    relations: list[ErdRelation] = []
    for table in sorted(metadata.tables.values(), key=lambda t: (t.schema or "", t.name)):
        name = f"{table.schema}.{table.name}" if table.schema else table.name
        if table.name in skip or name in skip:
            continue
        single_unique = {
            next(iter(c.columns)).name
            for c in table.constraints
            if isinstance(c, UniqueConstraint) and len(c.columns) == 1
        }
        single_unique |= {next(iter(ix.columns)).name for ix in table.indexes if ix.unique and len(ix.columns) == 1}
        multi_unique = tuple(
            sorted(
                tuple(c.name for c in con.columns)
                for con in table.constraints
                if isinstance(con, UniqueConstraint) and len(con.columns) > 1
            )
        )
        columns = []
        for col in table.columns:
            refs = sorted(f"{fk.column.table.name}.{fk.column.name}" for fk in col.foreign_keys if _resolvable(fk))
            columns.append(
                ErdColumn(
                    name=col.name,
                    type=_type_name(col, dialect),
                    primary_key=bool(col.primary_key),
                    nullable=bool(col.nullable) and not col.primary_key,
                    unique=col.name in single_unique or bool(col.unique),
                    references=refs[0] if refs else None,
                )
            )
        tables.append(ErdTable(name, tuple(columns), multi_unique))
        for fk in sorted(table.foreign_key_constraints, key=lambda c: tuple(c.column_keys)):
            try:
                ref = fk.referred_table
            except Exception:
                continue
            local = tuple(fk.column_keys)
            cols = [table.columns[c] for c in local if c in table.columns]
            relations.append(
                ErdRelation(
                    table=name,
                    columns=local,
                    ref_table=f"{ref.schema}.{ref.name}" if ref.schema else ref.name,
                    ref_columns=tuple(e.column.name for e in fk.elements if _resolvable(e)),
                    nullable=all(c.nullable for c in cols),
                    unique=len(local) == 1 and local[0] in single_unique,
                )
            )
    return SchemaDiagram(tables, relations, title)


def _resolvable(fk: Any) -> bool:
    try:
        fk.column
    except Exception:
        return False
    return True


@dataclass
class Renames:
    """Renames that revisions performed: ``tables`` old -> new, ``columns`` (new table, old) -> new."""

    tables: dict[str, str] = field(default_factory=dict)
    columns: dict[tuple[str, str], str] = field(default_factory=dict)


def diff(old: SchemaDiagram, new: SchemaDiagram, renames: Renames | None = None, title: str = "") -> SchemaDiagram:
    """``new``, with what it adds, renames and changes marked, and what it removes kept and marked removed."""
    renames = renames or Renames()
    new_of = dict(renames.tables)
    old_of = {v: k for k, v in new_of.items()}
    def renamed_ref(ref: str | None) -> str | None:
        if ref is None:
            return None
        table, _, column = ref.rpartition(".")
        table = new_of.get(table, table)
        return f"{table}.{renames.columns.get((table, column), column)}"

    tables: list[ErdTable] = []
    for table in new.tables:
        before_name = old_of.get(table.name, table.name)
        before = old.table(before_name)
        if before is None:
            tables.append(replace(table, status=ADDED, columns=tuple(replace(c, status=ADDED) for c in table.columns)))
            continue
        col_old_of = {v: k for (t, k), v in renames.columns.items() if t == table.name}
        columns = []
        for col in table.columns:
            was = before.column(col_old_of.get(col.name, col.name))
            if was is None:
                columns.append(replace(col, status=ADDED))
            elif was.name != col.name:
                columns.append(replace(col, status=RENAMED, old_name=was.name))
            elif (was.type, was.nullable, was.primary_key, renamed_ref(was.references)) != (
                col.type,
                col.nullable,
                col.primary_key,
                col.references,
            ):
                columns.append(replace(col, status=CHANGED, old_type=was.type if was.type != col.type else None))
            else:
                columns.append(col)
        kept = {col_old_of.get(c.name, c.name) for c in table.columns}
        columns.extend(replace(c, status=REMOVED) for c in before.columns if c.name not in kept)
        status = RENAMED if before_name != table.name else ""
        if not status and any(c.status for c in columns):
            status = CHANGED
        tables.append(replace(table, columns=tuple(columns), status=status, old_name=before_name if status == RENAMED else None))
    present = {old_of.get(t.name, t.name) for t in new.tables}
    tables.extend(
        replace(t, status=REMOVED, columns=tuple(replace(c, status=REMOVED) for c in t.columns))
        for t in old.tables
        if t.name not in present
    )

    def key(r: ErdRelation, table_map: Mapping[str, str]) -> tuple[Any, ...]:
        return (table_map.get(r.table, r.table), table_map.get(r.ref_table, r.ref_table), r.columns, r.ref_columns)

    old_keys = {key(r, new_of) for r in old.relations}
    new_keys = {key(r, {}) for r in new.relations}
    relations = [r if key(r, {}) in old_keys else replace(r, status=ADDED) for r in new.relations]
    relations += [replace(r, status=REMOVED) for r in old.relations if key(r, new_of) not in new_keys]
    return SchemaDiagram(tables, relations, title or new.title)
