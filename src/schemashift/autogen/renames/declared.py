"""Renames the user declares, as data.

Two sources, one shape:

* the models: a table declares the name(s) it had with
  ``info={"renamed_from": "students"}`` (``__table_args__ = {"info": {...}}``
  or ``Table(..., info=...)``), a column with
  ``mapped_column(..., info={"renamed_from": "name"})`` / ``Column(..., info=...)``.
  A list of old names is accepted (renamed more than once since the database
  was last migrated): the first one that exists in the database wins.
* the command line: ``--rename students=scholars`` (a table) and
  ``--rename scholars.name=full_name`` (a column; the table is the *new*
  table name).  A schema may lead: ``--rename app.students=scholars``,
  ``--rename app.scholars.name=full_name``.

The opposite declaration, "this is new, not a rename": ``info={"new": True}``
on a table or column, or ``--not-renamed posts.slug`` / ``--not-renamed c2``
(naming the added column or table; the dropped one is then simply dropped).

Nothing here touches a database: ``collect_declared`` reads MetaData objects,
``parse_rename_spec`` reads strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from ...errors import SchemashiftError

INFO_KEY = "renamed_from"
NEW_KEY = "new"

SOURCE_MODEL = "declared"
SOURCE_CLI = "--rename"

_IDENT = r"[^.=\s]+"
_TABLE_SPEC = re.compile(rf"^(?:(?P<schema>{_IDENT})\.)?(?P<old>{_IDENT})=(?P<new>{_IDENT})$")
_COLUMN_SPEC = re.compile(
    rf"^(?:(?P<schema>{_IDENT})\.)?(?P<table>{_IDENT})\.(?P<old>{_IDENT})=(?P<new>{_IDENT})$"
)


class RenameSpecError(SchemashiftError):
    """A ``--rename`` spec or a ``renamed_from`` value cannot be understood."""

    exit_code = 2

    def __init__(self, message: str, *, spec: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.spec = spec


@dataclass(frozen=True)
class DeclaredTableRename:
    """Table ``new`` (in the models) was called one of ``olds`` in the database."""

    schema: str | None
    new: str
    olds: tuple[str, ...]
    source: str = SOURCE_MODEL

    @property
    def label(self) -> str:
        return f"{_q(self.schema, self.olds[0])}={self.new}"


@dataclass(frozen=True)
class DeclaredColumnRename:
    """Column ``table.new`` (``table`` = the new table name) was one of ``olds``."""

    schema: str | None
    table: str
    new: str
    olds: tuple[str, ...]
    source: str = SOURCE_MODEL

    @property
    def label(self) -> str:
        return f"{_q(self.schema, self.table)}.{self.olds[0]}={self.new}"


@dataclass(frozen=True)
class DeclaredRenames:
    """Every declared rename, keyed by where it ends (the new name)."""

    tables: Mapping[tuple[str | None, str], DeclaredTableRename] = field(default_factory=dict)
    columns: Mapping[tuple[str | None, str, str], DeclaredColumnRename] = field(default_factory=dict)
    #: added tables/columns declared new (``c2``, ``posts.slug``, ``app.posts.slug``)
    new: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.tables or self.columns)

    def is_new(self, table: tuple[str | None, str], column: str | None = None) -> bool:
        """Whether the added table ``(schema, name)`` or its ``column`` is declared new."""
        schema, name = table
        bare = name if column is None else f"{name}.{column}"
        return bare in self.new or (schema is not None and f"{schema}.{bare}" in self.new)


def _q(schema: str | None, name: str) -> str:
    return f"{schema}.{name}" if schema else name


def _old_names(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        names: tuple[Any, ...] = (value,)
    elif isinstance(value, (list, tuple)):
        names = tuple(value)
    else:
        raise RenameSpecError(
            f"{where}: renamed_from must be a name or a list of names, not {type(value).__name__}",
            hint='e.g. info={"renamed_from": "students"} or info={"renamed_from": ["pupils", "students"]}',
        )
    if not names or not all(isinstance(n, str) and n.strip() for n in names):
        raise RenameSpecError(f"{where}: renamed_from must name at least one old name, got {value!r}")
    return tuple(n.strip() for n in names)


def _metadatas(target: Any) -> list[Any]:
    if target is None:
        return []
    if isinstance(target, (list, tuple)):
        return list(target)
    return [target]


def collect_declared(target_metadata: Any) -> DeclaredRenames:
    """Read ``renamed_from`` from every table and column of ``target_metadata``.

    ``target_metadata`` is what env.py passes to ``context.configure``: one
    MetaData, a sequence of them, or None.
    """
    tables: dict[tuple[str | None, str], DeclaredTableRename] = {}
    columns: dict[tuple[str | None, str, str], DeclaredColumnRename] = {}
    new: set[str] = set()
    for md in _metadatas(target_metadata):
        for table in md.tables.values():
            if table.info.get(NEW_KEY) is True:
                new.add(_q(table.schema, table.name))
            for col in table.columns:
                if col.info.get(NEW_KEY) is True:
                    new.add(f"{_q(table.schema, table.name)}.{col.name}")
            if INFO_KEY in table.info:
                olds = _old_names(table.info[INFO_KEY], f"table {_q(table.schema, table.name)}")
                olds = tuple(o for o in olds if o != table.name)
                if olds:
                    tables[(table.schema, table.name)] = DeclaredTableRename(table.schema, table.name, olds)
            for col in table.columns:
                if INFO_KEY in col.info:
                    olds = _old_names(col.info[INFO_KEY], f"column {_q(table.schema, table.name)}.{col.name}")
                    olds = tuple(o for o in olds if o != col.name)
                    if olds:
                        columns[(table.schema, table.name, col.name)] = DeclaredColumnRename(
                            table.schema, table.name, col.name, olds
                        )
    return DeclaredRenames(tables, columns, frozenset(new))


def parse_rename_spec(spec: str) -> DeclaredTableRename | DeclaredColumnRename:
    """Parse one ``--rename`` value.

    ``students=scholars`` -> table; ``scholars.name=full_name`` -> column of the
    (new) table ``scholars``; a schema may lead either: ``app.students=scholars``
    is ambiguous with a column spec, so a schema-qualified *table* rename is
    written with the schema on both sides: ``app.students=app.scholars``.
    """
    text = spec.strip()
    if "=" not in text or text.count("=") != 1:
        raise RenameSpecError(
            f"--rename {spec!r}: expected OLD=NEW",
            spec=spec,
            hint="e.g. --rename students=scholars or --rename scholars.name=full_name",
        )
    left, right = (s.strip() for s in text.split("="))
    if "." in right:  # app.students=app.scholars
        lparts, rparts = left.split("."), right.split(".")
        if len(lparts) == 2 and len(rparts) == 2 and lparts[0] == rparts[0] and all(lparts + rparts):
            return DeclaredTableRename(lparts[0], rparts[1], (lparts[1],), SOURCE_CLI)
        raise RenameSpecError(
            f"--rename {spec!r}: the new name may only carry the same schema as the old one",
            spec=spec,
            hint="a column rename gives the bare new column name: --rename scholars.name=full_name",
        )
    m = _TABLE_SPEC.match(f"{left}={right}")
    if m and m.group("schema") is None:
        return DeclaredTableRename(None, m.group("new"), (m.group("old"),), SOURCE_CLI)
    m = _COLUMN_SPEC.match(f"{left}={right}")
    if m:
        return DeclaredColumnRename(m.group("schema"), m.group("table"), m.group("new"), (m.group("old"),), SOURCE_CLI)
    raise RenameSpecError(
        f"--rename {spec!r}: expected TABLE=NEW_TABLE or NEW_TABLE.COLUMN=NEW_COLUMN",
        spec=spec,
        hint="e.g. --rename students=scholars or --rename scholars.name=full_name",
    )


def with_cli_renames(declared: DeclaredRenames, specs: Iterable[str | DeclaredTableRename | DeclaredColumnRename]) -> DeclaredRenames:
    """Add ``--rename`` specs to ``declared``; a spec wins over the model for the same new name."""
    tables = dict(declared.tables)
    columns = dict(declared.columns)
    seen: dict[str, str] = {}
    for spec in specs:
        item = parse_rename_spec(spec) if isinstance(spec, str) else spec
        if isinstance(item, DeclaredTableRename):
            key: Any = (item.schema, item.new)
            if key in seen and seen[key] != item.olds[0]:
                raise RenameSpecError(
                    f"--rename gives two old names for table {_q(item.schema, item.new)}: "
                    f"{seen[key]} and {item.olds[0]}",
                    spec=str(spec),
                )
            seen[key] = item.olds[0]
            tables[key] = item
        else:
            key = (item.schema, item.table, item.new)
            if key in seen and seen[key] != item.olds[0]:
                raise RenameSpecError(
                    f"--rename gives two old names for column {_q(item.schema, item.table)}.{item.new}: "
                    f"{seen[key]} and {item.olds[0]}",
                    spec=str(spec),
                )
            seen[key] = item.olds[0]
            columns[key] = item
    return DeclaredRenames(tables, columns, declared.new)


def with_not_renamed(declared: DeclaredRenames, names: Iterable[str]) -> DeclaredRenames:
    """Add ``--not-renamed`` names (``c2``, ``posts.slug``): added objects that are new."""
    extra = set()
    for name in names:
        text = name.strip()
        if not text or "=" in text or any(not part for part in text.split(".")) or text.count(".") > 2:
            raise RenameSpecError(
                f"--not-renamed {name!r}: expected the added TABLE or TABLE.COLUMN",
                spec=name,
                hint="e.g. --not-renamed posts.slug or --not-renamed posts",
            )
        extra.add(text)
    return DeclaredRenames(declared.tables, declared.columns, declared.new | frozenset(extra))


def declare(target_metadata: Any, cli_renames: Sequence[str] = (), not_renamed: Sequence[str] = ()) -> DeclaredRenames:
    """Models' ``renamed_from`` / ``new`` plus ``--rename`` / ``--not-renamed``: step one of the pipeline."""
    return with_not_renamed(with_cli_renames(collect_declared(target_metadata), cli_renames), not_renamed)
