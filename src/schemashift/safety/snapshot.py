"""A normalised picture of a database schema, and a readable diff of two.

Why: proving a downgrade means showing the schema after upgrade+downgrade is
the schema from before.  Comparing SQL text would report quirks (SQLite keeps
the text a table was created with, and batch mode rewrites it), so each object
is reflected through SQLAlchemy's ``Inspector`` and reduced to plain values:
types as the dialect renders them (upper-case, spacing removed), defaults and
CHECK text with outer parentheses and spacing removed, constraints as sets
matched by name (or by definition when unnamed).  Column order is ignored.

Alembic's version table(s) and schemashift's own tables are left out.  On
PostgreSQL every schema is pictured, not only the default one: a migration
into a named schema whose downgrade forgets a table is caught as well.

``Snapshotter`` keeps what it reflected and, on SQLite and PostgreSQL, asks
the catalog first for a cheap text fingerprint of each table; only tables
whose fingerprint changed are reflected again.  A walk over 100 revisions
thus reflects each table about as often as a migration touches it.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Mapping

from ..schema.bookkeeping import is_bookkeeping
from ..schema.sql import normalize_sql, tokenize
from ..schema.sqlite_clauses import table_clauses
from ..schema.types import describe_type



# ------------------------------------------------------------ normalising


def norm_type(coltype: Any, dialect: Any) -> str:
    """The type as the dialect renders it: ``VARCHAR(50)``, ``NUMERIC(10,2)``."""
    try:
        text = str(coltype.compile(dialect=dialect))
    except Exception:  # NullType and friends: what reflection saw
        text = str(getattr(coltype, "__visit_name__", None) or type(coltype).__name__)
    text = " ".join(text.upper().split())
    return re.sub(r"\s*([(),])\s*", r"\1", text)


# ----------------------------------------------------------- the snapshot


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    type: str
    nullable: bool
    default: str | None = None
    comment: str | None = None
    computed: str | None = None
    identity: str | None = None
    affinity: str = field(default="", compare=False)

    def describe(self) -> str:
        text = f"{self.type}{'' if self.nullable else ' NOT NULL'}"
        if self.default is not None:
            text += f" DEFAULT {self.default}"
        if self.computed is not None:
            text += f" GENERATED AS ({self.computed})"
        if self.identity is not None:
            text += f" IDENTITY {self.identity}"
        return text

    def same_definition(self, other: "ColumnInfo") -> bool:
        """Equal apart from the name (a rename)."""
        mine, theirs = asdict(self), asdict(other)
        mine.pop("name"), theirs.pop("name")
        return mine == theirs


def _cols(columns: Iterable[str]) -> str:
    return ", ".join(columns)


@dataclass(frozen=True)
class PrimaryKeyInfo:
    name: str | None
    columns: tuple[str, ...]

    def describe(self) -> str:
        return f"({_cols(self.columns)})"


@dataclass(frozen=True)
class IndexInfo:
    name: str | None
    columns: tuple[str, ...]
    unique: bool = False
    where: str | None = None

    def describe(self) -> str:
        text = f"{'UNIQUE ' if self.unique else ''}({_cols(self.columns)})"
        return text + (f" WHERE {self.where}" if self.where else "")


@dataclass(frozen=True)
class ForeignKeyInfo:
    name: str | None
    columns: tuple[str, ...]
    referred_table: str
    referred_columns: tuple[str, ...]
    referred_schema: str | None = None
    ondelete: str | None = None
    onupdate: str | None = None

    def describe(self) -> str:
        target = f"{self.referred_schema + '.' if self.referred_schema else ''}{self.referred_table}"
        text = f"({_cols(self.columns)}) -> {target}({_cols(self.referred_columns)})"
        if self.ondelete:
            text += f" ON DELETE {self.ondelete}"
        if self.onupdate:
            text += f" ON UPDATE {self.onupdate}"
        return text


@dataclass(frozen=True)
class UniqueInfo:
    name: str | None
    columns: tuple[str, ...]

    def describe(self) -> str:
        return f"({_cols(self.columns)})"


@dataclass(frozen=True)
class CheckInfo:
    name: str | None
    sqltext: str

    def describe(self) -> str:
        return f"({self.sqltext})"


@dataclass(frozen=True)
class TableInfo:
    name: str
    columns: tuple[ColumnInfo, ...]
    primary_key: PrimaryKeyInfo | None = None
    indexes: tuple[IndexInfo, ...] = ()
    foreign_keys: tuple[ForeignKeyInfo, ...] = ()
    unique_constraints: tuple[UniqueInfo, ...] = ()
    check_constraints: tuple[CheckInfo, ...] = ()
    comment: str | None = None
    schema: str | None = None  # None: the default schema; else ``name`` is ``schema.table``
    #: SQLite: clauses of the CREATE TABLE text that reflection does not carry (AUTOINCREMENT,
    #: a column's COLLATE, ON DELETE/UPDATE, DEFERRABLE; ``schema.sqlite_clauses``)
    clauses: tuple[str, ...] = ()

    @property
    def bare_name(self) -> str:
        return self.name[len(self.schema) + 1:] if self.schema else self.name

    def from_clause(self, quote: Any) -> str:
        """The table as SQL names it (``"audit"."logs"``), quoted by ``quote``."""
        return f"{quote(self.schema)}.{quote(self.bare_name)}" if self.schema else quote(self.name)

    def column(self, name: str) -> ColumnInfo | None:
        for col in self.columns:
            if col.name == name:
                return col
        return None

    @functools.cached_property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def select_sql(self, quote: Any) -> str:
        """``SELECT`` of every column (read once per table per snapshot step: kept)."""
        cached = self.__dict__.get("_select_sql")
        if cached is None or cached[0] != quote:
            text = f"SELECT {', '.join(quote(c) for c in self.column_names)} FROM {self.from_clause(quote)}"
            cached = (quote, text)
            self.__dict__["_select_sql"] = cached  # frozen: not a field, never compared
        return cached[1]


@dataclass(frozen=True)
class Snapshot:
    """Tables (and views, triggers, PostgreSQL enums, sequences and functions) of a database.

    The default schema's objects go by their names; on PostgreSQL the other
    schemas' objects (a migration may create tables in any) go by
    ``schema.name``, and ``schemas`` lists those schemas themselves.  A trigger
    goes by ``table.trigger``, a function by its signature; each maps to its
    definition, so a downgrade that leaves one behind (or changes it) shows.
    """

    dialect: str
    tables: Mapping[str, TableInfo]
    views: Mapping[str, str] = field(default_factory=dict)
    enums: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    sequences: tuple[str, ...] = ()
    schemas: tuple[str, ...] = ()
    triggers: Mapping[str, str] = field(default_factory=dict)
    functions: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dialect": self.dialect,
            "tables": {name: asdict(t) for name, t in sorted(self.tables.items())},
            "views": dict(sorted(self.views.items())),
            "enums": {k: list(v) for k, v in sorted(self.enums.items())},
            "sequences": list(self.sequences),
            "schemas": list(self.schemas),
            "triggers": dict(sorted(self.triggers.items())),
            "functions": dict(sorted(self.functions.items())),
        }


# ------------------------------------------------------------- reflection


def _sorted(items: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(sorted(items, key=lambda i: (i.name or "", repr(i))))


def _try(fn: Any, *args: Any, default: Any = None, **kw: Any) -> Any:
    try:
        return fn(*args, **kw)
    except NotImplementedError:
        return default


def reflect_table(inspector: Any, name: str, dialect: Any, schema: str | None = None) -> TableInfo:
    """One table, reduced to plain values."""
    columns = []
    for col in inspector.get_columns(name, schema=schema):
        rendered = norm_type(col["type"], dialect)
        computed = col.get("computed")
        identity = col.get("identity")
        columns.append(
            ColumnInfo(
                name=col["name"],
                type=rendered,
                nullable=bool(col.get("nullable", True)),
                default=normalize_sql(col.get("default")),
                comment=col.get("comment") or None,
                computed=normalize_sql(computed.get("sqltext")) if computed else None,
                identity=("ALWAYS" if identity.get("always") else "BY DEFAULT") if identity else None,
                affinity=describe_type(col["type"], dialect).storage,
            )
        )
    pk = inspector.get_pk_constraint(name, schema=schema) or {}
    primary_key = (
        PrimaryKeyInfo(pk.get("name"), tuple(pk["constrained_columns"])) if pk.get("constrained_columns") else None
    )
    stored = _sqlite_stored(inspector.bind, name, schema) if dialect.name == "sqlite" else {}
    indexes = []
    if dialect.name == "sqlite":
        indexes = sqlite_indexes(inspector.bind, name, schema, stored)
    else:
        for ix in inspector.get_indexes(name, schema=schema):
            if ix.get("duplicates_constraint"):
                continue  # the index behind a UNIQUE constraint, reported as the constraint
            cols = tuple(c if c is not None else normalize_sql(e) for c, e in _index_columns(ix))
            where = (ix.get("dialect_options") or {}).get(f"{dialect.name}_where")
            indexes.append(IndexInfo(ix.get("name"), cols, bool(ix.get("unique")), normalize_sql(where)))
    fks = []
    for fk in inspector.get_foreign_keys(name, schema=schema):
        options = fk.get("options") or {}
        fks.append(
            ForeignKeyInfo(
                name=fk.get("name"),
                columns=tuple(fk["constrained_columns"]),
                referred_table=fk["referred_table"],
                referred_columns=tuple(fk["referred_columns"]),
                referred_schema=fk.get("referred_schema") if fk.get("referred_schema") != schema else None,
                ondelete=(options.get("ondelete") or "").upper() or None,
                onupdate=(options.get("onupdate") or "").upper() or None,
            )
        )
    uniques = [
        UniqueInfo(u.get("name"), tuple(u["column_names"]))
        for u in _try(inspector.get_unique_constraints, name, schema=schema, default=[])
    ]
    checks = [
        CheckInfo(c.get("name"), normalize_sql(c["sqltext"]) or "")
        for c in _try(inspector.get_check_constraints, name, schema=schema, default=[])
    ]
    comment = (_try(inspector.get_table_comment, name, schema=schema, default={}) or {}).get("text")
    clauses: tuple[str, ...] = ()
    if dialect.name == "sqlite":  # CHECKs are compared as constraints already
        clauses = tuple(sorted(c for c in table_clauses(stored.get(("table", name), "")).elements() if not c.startswith("CHECK")))
    return TableInfo(
        name=qualified(schema, name),
        schema=schema,
        columns=tuple(columns),
        primary_key=primary_key,
        indexes=_sorted(indexes),
        foreign_keys=_sorted(fks),
        unique_constraints=_sorted(uniques),
        check_constraints=_sorted(checks),
        comment=comment or None,
        clauses=clauses,
    )


def _sqlite_stored(connection: Any, table: str, schema: str | None) -> dict[tuple[str, str], str]:
    """``(type, name) -> sql`` of a SQLite table and its indexes, as ``sqlite_master`` keeps them (one read)."""
    prefix = f"{connection.dialect.identifier_preparer.quote(schema)}." if schema else ""
    rows = connection.exec_driver_sql(
        f"SELECT type, name, sql FROM {prefix}sqlite_master WHERE tbl_name = ? COLLATE NOCASE "
        "AND type IN ('table', 'index') AND sql IS NOT NULL",
        (table,),
    )
    return {(kind, name): sql for kind, name, sql in rows}


def sqlite_indexes(
    connection: Any, table: str, schema: str | None, stored: Mapping[tuple[str, str], str]
) -> list[IndexInfo]:
    """A SQLite table's indexes from SQLite itself, not SQLAlchemy's reflection.

    Reflection skips an index on an expression (``lower(email)``) and does not say
    ``DESC`` or ``COLLATE``, so a downgrade that lost either looked restored (a
    batch-mode rebuild does both).  ``PRAGMA index_xinfo`` gives each key's column,
    order and collation; an expression's text comes from the index's own SQL, in
    ``stored`` (``_sqlite_stored``).
    """
    quote = connection.dialect.identifier_preparer.quote
    prefix = f"{quote(schema)}." if schema else ""
    out = []
    for _seq, name, unique, origin, partial in connection.exec_driver_sql(
        f"PRAGMA {prefix}index_list({quote(table)})"
    ).fetchall():
        if origin != "c":
            continue  # behind a UNIQUE constraint or the primary key: reported as those
        terms, where = sqlite_index_terms(stored.get(("index", name), ""))
        columns = []
        keys = [r for r in connection.exec_driver_sql(f"PRAGMA {prefix}index_xinfo({quote(name)})") if r[5]]
        for seqno, cid, column, desc, collation, _key in sorted(keys):
            text = column if cid >= 0 else (terms[seqno] if seqno < len(terms) else "?")
            if cid >= 0 and desc:
                text += " DESC"
            if cid >= 0 and collation and collation.upper() != "BINARY":
                text += f" COLLATE {collation}"
            columns.append(text)
        out.append(IndexInfo(name, tuple(columns), bool(unique), where if partial else None))
    return out


def sqlite_index_terms(sql: str) -> tuple[list[str], str | None]:
    """The key terms of a ``CREATE INDEX`` (normalised text, one per key) and its WHERE clause."""
    tokens = tokenize(sql)
    on = next((i for i, t in enumerate(tokens) if t.upper == "ON"), None)
    start = next((i for i in range(on or 0, len(tokens)) if tokens[i].text == "("), None)
    if on is None or start is None:
        return [], None
    terms, depth, begin = [], 0, tokens[start].end
    for i in range(start, len(tokens)):
        tok = tokens[i]
        depth += tok.text == "("
        depth -= tok.text == ")"
        if (tok.text == "," and depth == 1) or depth == 0:
            terms.append(normalize_sql(sql[begin:tok.start]))
            begin = tok.end
        if depth == 0:
            rest = tokens[i + 1:]
            where = rest[0].start if rest and rest[0].upper == "WHERE" else None
            return terms, normalize_sql(sql[where + 5:]) if where is not None else None
    return terms, None


def qualified(schema: str | None, name: str) -> str:
    """A snapshot's key for an object: its name, prefixed by its schema unless that is the default."""
    return f"{schema}.{name}" if schema else name


def _index_columns(ix: dict[str, Any]) -> list[tuple[str | None, str | None]]:
    names = ix.get("column_names") or []
    expressions = ix.get("expressions") or [None] * len(names)
    return list(zip(names, expressions))


# SQLite's own tables (sqlite_sequence, made by the first AUTOINCREMENT table and never
# dropped; sqlite_stat1 by ANALYZE) are not the schema, as reflection also leaves them out
_SQLITE_RAW = (
    "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE sql IS NOT NULL AND tbl_name NOT LIKE 'sqlite~_%' ESCAPE '~'"
)
_SQLITE_LITERAL = re.compile(r"('(?:[^']|'')*')")


@functools.lru_cache(maxsize=8192)
def _sqlite_text(sql: str) -> str:
    """DDL text without identifier quotes and spacing noise; string literals untouched."""
    parts = _SQLITE_LITERAL.split(sql)
    for i in range(0, len(parts), 2):  # even parts are outside literals
        text = re.sub(r'["`\[\]]', "", parts[i])
        text = re.sub(r"\s+", " ", text)
        parts[i] = re.sub(r"\s*([(),])\s*", r"\1", text)
    return "".join(parts).strip()

_PG_RAW = """
SELECT c.relname, c.relkind,
  coalesce((SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' ' ||
           a.attnotnull::text || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '') || ' ' ||
           a.attidentity::text || a.attgenerated::text || ' ' || coalesce(col_description(c.oid, a.attnum), ''),
           E'\\n' ORDER BY a.attname)
     FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '')
  || E'\\n' || coalesce((SELECT string_agg(con.conname || ' ' || pg_get_constraintdef(con.oid), E'\\n'
           ORDER BY con.conname) FROM pg_constraint con WHERE con.conrelid = c.oid), '')
  || E'\\n' || coalesce((SELECT string_agg(pg_get_indexdef(i.indexrelid), E'\\n'
           ORDER BY pg_get_indexdef(i.indexrelid)) FROM pg_index i WHERE i.indrelid = c.oid), '')
  || E'\\n' || coalesce(obj_description(c.oid, 'pg_class'), '')
  || E'\\n' || CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) ELSE '' END
  , n.nspname, n.nspname = current_schema()
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp)'
  AND c.relkind IN ('r', 'p', 'v', 'm')
"""

# triggers a migration made (not the ones PostgreSQL makes for foreign keys)
_PG_TRIGGERS = """
SELECT n.nspname, c.relname || '.' || t.tgname, pg_get_triggerdef(t.oid), n.nspname = current_schema()
FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT t.tgisinternal AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'
"""

# functions and procedures a migration made (an extension's own are left to the extension)
_PG_FUNCTIONS = """
SELECT n.nspname, p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')', pg_get_functiondef(p.oid),
       n.nspname = current_schema()
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE p.prokind IN ('f', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                  AND d.deptype = 'e')
"""

_SQLITE_TRIGGERS = "SELECT tbl_name || '.' || name, sql FROM sqlite_master WHERE type = 'trigger' AND sql IS NOT NULL"

_MYSQL_TRIGGERS = """
SELECT CONCAT(EVENT_OBJECT_TABLE, '.', TRIGGER_NAME),
       CONCAT(ACTION_TIMING, ' ', EVENT_MANIPULATION, ' ', ACTION_ORIENTATION, ' ', ACTION_STATEMENT)
FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()
"""


def routines(connection: Any, exclude: Iterable[str] = ()) -> tuple[dict[str, str], dict[str, str]]:
    """Triggers and (PostgreSQL) functions: what reflection does not see, read from the catalog.

    Bookkeeping tables' triggers are left out, as their tables are.
    """
    name = connection.dialect.name
    triggers: dict[str, str] = {}
    functions: dict[str, str] = {}
    if name == "sqlite":
        for key, sql in connection.exec_driver_sql(_SQLITE_TRIGGERS):
            triggers[key] = _sqlite_text(sql)
    elif name == "postgresql":
        for schema, key, text, default in connection.exec_driver_sql(_PG_TRIGGERS):
            triggers[qualified(None if default else schema, key)] = normalize_sql(text) or ""
        for schema, key, text, default in connection.exec_driver_sql(_PG_FUNCTIONS):
            functions[qualified(None if default else schema, key)] = normalize_sql(text) or ""
    elif name in ("mysql", "mariadb"):
        for key, text in connection.exec_driver_sql(_MYSQL_TRIGGERS):
            triggers[key] = normalize_sql(text) or ""
    kept = {k: v for k, v in triggers.items() if not is_bookkeeping(k.rpartition(".")[0].rpartition(".")[2], exclude)}
    return kept, functions


# every schema but the system ones and the default (whose objects go by their plain names)
_PG_SCHEMAS = """
SELECT nspname FROM pg_namespace WHERE nspname NOT IN ('pg_catalog', 'information_schema')
  AND nspname !~ '^pg_' AND nspname <> current_schema() ORDER BY nspname
"""


def raw_fingerprints(connection: Any) -> dict[str, tuple[str, Any]] | None:
    """``{key: (kind, text)}`` straight from the catalog, or ``None`` when the
    dialect has no cheap way; the text changes whenever the object does.
    PostgreSQL: every schema's tables, keyed as ``qualified`` keys them."""
    name = connection.dialect.name
    if name == "sqlite":
        grouped: dict[str, list[tuple[str, str, str]]] = {}
        kinds: dict[str, str] = {}
        for kind, obj, table, sql in connection.exec_driver_sql(_SQLITE_RAW):
            # SQLite keeps the text as written; batch mode writes it again with
            # quoted names and other spacing.  Identifiers are case-insensitive
            # in SQLite, so quotes and spacing never change what the text means.
            grouped.setdefault(table, []).append((kind, obj, _sqlite_text(sql)))
            if obj == table:
                kinds[table] = kind
        return {t: (kinds.get(t, "table"), tuple(sorted(rows))) for t, rows in grouped.items() if t in kinds}
    if name == "postgresql":
        return {
            qualified(None if default else schema, rel): ("view" if kind in ("v", "m") else "table", text)
            for rel, kind, text, schema, default in connection.exec_driver_sql(_PG_RAW)
        }
    return None


class Snapshotter:
    """Takes snapshots of one database, reflecting only tables that changed."""

    def __init__(self, exclude: Iterable[str] = ()) -> None:
        self.exclude = tuple(exclude)
        self._cache: dict[tuple[str, Any], TableInfo] = {}  # (name, fingerprint) -> table
        self.last_raw: dict[str, Any] = {}  # catalog fingerprints seen by the latest take()
        self.tables_reflected = 0  # for tests and the benchmark

    def take(self, connection: Any) -> Snapshot:
        import sqlalchemy as sa

        dialect = connection.dialect
        inspector = sa.inspect(connection)
        raw = raw_fingerprints(connection)
        schemas: tuple[str, ...] = ()
        if dialect.name == "postgresql":
            schemas = tuple(r[0] for r in connection.exec_driver_sql(_PG_SCHEMAS))
        if raw is None:
            table_names = inspector.get_table_names()
            view_names = inspector.get_view_names()
        else:
            table_names = [n for n, (kind, _) in raw.items() if kind == "table"]
            view_names = [n for n, (kind, _) in raw.items() if kind == "view"]
        tables: dict[str, TableInfo] = {}
        self.last_raw = {}
        if len(self._cache) > 10_000:
            self._cache.clear()
        for name in sorted(table_names):
            if is_bookkeeping(_split(name, schemas)[1], self.exclude):
                continue
            key = raw[name] if raw is not None else None
            self.last_raw[name] = key
            # keyed by the text too: a downgrade that restores a table's DDL
            # finds the table as it was reflected before the upgrade
            cached = self._cache.get((name, key)) if key is not None else None
            if cached is not None:
                tables[name] = cached
                continue
            schema, bare = _split(name, schemas)
            info = reflect_table(inspector, bare, dialect, schema=schema)
            self.tables_reflected += 1
            tables[name] = info
            if key is not None:
                self._cache[(name, key)] = info
        views = {}
        for name in sorted(view_names):
            if not is_bookkeeping(_split(name, schemas)[1], self.exclude):
                schema, bare = _split(name, schemas)
                views[name] = normalize_sql(_try(inspector.get_view_definition, bare, schema=schema, default="")) or ""
        enums: dict[str, tuple[str, ...]] = {}
        sequences: tuple[str, ...] = ()
        if dialect.name == "postgresql":
            enums = {e["name"]: tuple(e["labels"]) for e in inspector.get_enums() if e.get("visible", True)}
            found = list(_try(inspector.get_sequence_names, default=[]) or [])
            for schema in schemas:
                enums.update({qualified(schema, e["name"]): tuple(e["labels"]) for e in inspector.get_enums(schema=schema)})
                found += [qualified(schema, n) for n in _try(inspector.get_sequence_names, schema=schema, default=[]) or []]
            sequences = tuple(sorted(found))
        triggers, functions = routines(connection, self.exclude)
        return Snapshot(dialect.name, tables, views, enums, sequences, schemas, triggers, functions)


def _split(key: str, schemas: Iterable[str]) -> tuple[str | None, str]:
    """(schema, name) of a snapshot key: a ``schema.`` prefix only when it names a schema here."""
    schema, dot, bare = key.partition(".")
    return (schema, bare) if dot and schema in schemas else (None, key)


def take_snapshot(connection: Any, *, exclude: Iterable[str] = ()) -> Snapshot:
    """Reflect the connection's default schema (excluding bookkeeping tables)."""
    return Snapshotter(exclude).take(connection)


# ------------------------------------------------------------------- diff


@dataclass(frozen=True)
class Change:
    """One difference between two snapshots.

    ``action`` is ``added`` (only in the second), ``removed`` (only in the
    first), ``changed`` or ``renamed``; ``before``/``after`` describe the
    object in each snapshot.
    """

    action: str
    kind: str
    name: str
    table: str | None = None
    before: str | None = None
    after: str | None = None
    details: tuple[str, ...] = ()

    def subject(self) -> str:
        if self.kind == "column" and self.table:
            return f"column {self.table}.{self.name}"
        if self.table:
            return f"{self.kind} {self.name or '(unnamed)'} on {self.table}"
        return f"{self.kind} {self.name}"

    def one_line(self, words: Mapping[str, str] | None = None) -> str:
        label = (words or {}).get(self.action, self.action)
        if self.action == "added":
            return f"{label}: {self.subject()} {self.after or ''}".rstrip()
        if self.action == "removed":
            return f"{label}: {self.subject()} {self.before or ''}".rstrip()
        if self.action == "renamed":
            return f"{label}: {self.subject()} is now named {self.after}"
        return f"{label}: {self.subject()}: {'; '.join(self.details)}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["details"] = list(self.details)
        return data


@dataclass
class SchemaDiff:
    """What changed from ``before`` to ``after``; empty means equal."""

    changes: list[Change] = field(default_factory=list)
    renamed_tables: dict[str, str] = field(default_factory=dict)
    renamed_columns: dict[tuple[str, str], str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.changes)

    def __len__(self) -> int:
        return len(self.changes)

    def lines(self, words: Mapping[str, str] | None = None) -> list[str]:
        return [c.one_line(words) for c in self.changes]

    def table_after(self, name: str, after: Snapshot) -> str | None:
        """What table ``name`` (of ``before``) is called in ``after``, if it is there."""
        new = self.renamed_tables.get(name, name)
        return new if new in after.tables else None

    def column_after(self, table: str, column: str) -> str:
        return self.renamed_columns.get((table, column), column)


def _pair_renames(removed: dict[str, Any], added: dict[str, Any], same: Any) -> dict[str, str]:
    """Pair removed with added objects that are identical but for the name (one to one)."""
    pairs: dict[str, str] = {}
    for old, old_obj in removed.items():
        matches = [new for new, new_obj in added.items() if same(old_obj, new_obj)]
        if len(matches) == 1:
            back = [o for o, o_obj in removed.items() if same(o_obj, added[matches[0]])]
            if len(back) == 1:
                pairs[old] = matches[0]
    return pairs


def _similar_tables(a: TableInfo, b: TableInfo) -> bool:
    """Most columns alike (name, type): the same table under another name,
    possibly with a column renamed or changed as well."""
    mine = {(c.name, c.type) for c in a.columns}
    theirs = {(c.name, c.type) for c in b.columns}
    return len(mine & theirs) * 2 > max(len(mine), len(theirs))


def _column_changes(before: ColumnInfo, after: ColumnInfo) -> tuple[str, ...]:
    details = []
    for attr, label in (
        ("type", "type"),
        ("nullable", "nullable"),
        ("default", "server default"),
        ("comment", "comment"),
        ("computed", "computed"),
        ("identity", "identity"),
    ):
        old, new = getattr(before, attr), getattr(after, attr)
        if old != new:
            if attr == "nullable":
                details.append(f"{'NULL' if new else 'NOT NULL'} (was {'NULL' if old else 'NOT NULL'})")
            else:
                details.append(f"{label} {new} (was {old})")
    return tuple(details)


def _keyed(items: Iterable[Any]) -> dict[Any, Any]:
    """Named objects by name; unnamed ones by their definition."""
    return {(item.name if item.name else ("", item.describe())): item for item in items}


def _diff_objects(kind: str, table: str, before: Iterable[Any], after: Iterable[Any]) -> list[Change]:
    old, new = _keyed(before), _keyed(after)
    changes = []
    for key in sorted(old.keys() - new.keys(), key=repr):
        changes.append(Change("removed", kind, old[key].name or "", table, before=old[key].describe()))
    for key in sorted(new.keys() - old.keys(), key=repr):
        changes.append(Change("added", kind, new[key].name or "", table, after=new[key].describe()))
    for key in sorted(old.keys() & new.keys(), key=repr):
        if old[key] != new[key]:
            changes.append(
                Change(
                    "changed", kind, old[key].name or "", table,
                    before=old[key].describe(), after=new[key].describe(),
                    details=(f"{new[key].describe()} (was {old[key].describe()})",),
                )
            )
    return changes


def diff_tables(before: TableInfo, after: TableInfo, diff: SchemaDiff, label: str | None = None) -> None:
    """Append to ``diff`` what differs inside one table (same or renamed)."""
    if before is after or (label is None and before == after):
        return
    table = label or after.name
    old_cols = {c.name: c for c in before.columns}
    new_cols = {c.name: c for c in after.columns}
    removed = {n: old_cols[n] for n in old_cols.keys() - new_cols.keys()}
    added = {n: new_cols[n] for n in new_cols.keys() - old_cols.keys()}
    renames = _pair_renames(removed, added, ColumnInfo.same_definition)
    for old, new in sorted(renames.items()):
        diff.renamed_columns[(before.name, old)] = new
        diff.changes.append(Change("renamed", "column", old, table, before=old, after=new))
    for name in sorted(removed.keys() - renames.keys()):
        diff.changes.append(Change("removed", "column", name, table, before=removed[name].describe()))
    for name in sorted(added.keys() - set(renames.values())):
        diff.changes.append(Change("added", "column", name, table, after=added[name].describe()))
    for name in sorted(old_cols.keys() & new_cols.keys()):
        details = _column_changes(old_cols[name], new_cols[name])
        if details:
            diff.changes.append(
                Change(
                    "changed", "column", name, table,
                    before=old_cols[name].describe(), after=new_cols[name].describe(), details=details,
                )
            )
    if before.primary_key != after.primary_key:
        old_pk = before.primary_key.describe() if before.primary_key else "none"
        new_pk = after.primary_key.describe() if after.primary_key else "none"
        named = after.primary_key or before.primary_key
        diff.changes.append(
            Change(
                "changed", "primary key", (named.name if named else None) or "", table,
                before=old_pk, after=new_pk, details=(f"{new_pk} (was {old_pk})",),
            )
        )
    diff.changes += _diff_objects("index", table, before.indexes, after.indexes)
    diff.changes += _diff_objects("foreign key", table, before.foreign_keys, after.foreign_keys)
    diff.changes += _diff_objects("unique constraint", table, before.unique_constraints, after.unique_constraints)
    diff.changes += _diff_objects("check constraint", table, before.check_constraints, after.check_constraints)
    for clause in sorted((Counter(before.clauses) - Counter(after.clauses)).elements()):
        diff.changes.append(Change("removed", "clause", clause, table))
    for clause in sorted((Counter(after.clauses) - Counter(before.clauses)).elements()):
        diff.changes.append(Change("added", "clause", clause, table))
    if before.comment != after.comment:
        diff.changes.append(
            Change("changed", "table comment", table, None, before.comment, after.comment,
                   details=(f"{after.comment!r} (was {before.comment!r})",))
        )


def diff_snapshots(before: Snapshot, after: Snapshot) -> SchemaDiff:
    """Everything that differs from ``before`` to ``after``.

    Tables and columns that differ only by name are reported as renamed, so a
    rename that was not undone reads as one line, not a loss and an addition.
    """
    diff = SchemaDiff()
    removed = {n: before.tables[n] for n in before.tables.keys() - after.tables.keys()}
    added = {n: after.tables[n] for n in after.tables.keys() - before.tables.keys()}
    renames = _pair_renames(removed, added, _similar_tables)
    for old, new in sorted(renames.items()):
        diff.renamed_tables[old] = new
        diff.changes.append(Change("renamed", "table", old, before=old, after=new))
    for name in sorted(removed.keys() - renames.keys()):
        table = removed[name]
        diff.changes.append(
            Change("removed", "table", name, before=f"({', '.join(f'{c.name} {c.describe()}' for c in table.columns)})")
        )
    for name in sorted(added.keys() - set(renames.values())):
        table = added[name]
        diff.changes.append(
            Change("added", "table", name, after=f"({', '.join(f'{c.name} {c.describe()}' for c in table.columns)})")
        )
    for name in sorted(before.tables.keys() & after.tables.keys()):
        diff_tables(before.tables[name], after.tables[name], diff)
    for old, new in sorted(renames.items()):
        diff_tables(before.tables[old], after.tables[new], diff, label=new)
    for kind, old_map, new_map in (("view", before.views, after.views), ("enum", before.enums, after.enums),
                                   ("trigger", before.triggers, after.triggers),
                                   ("function", before.functions, after.functions)):
        for name in sorted(old_map.keys() - new_map.keys()):
            diff.changes.append(Change("removed", kind, name, before=str(old_map[name])))
        for name in sorted(new_map.keys() - old_map.keys()):
            diff.changes.append(Change("added", kind, name, after=str(new_map[name])))
        for name in sorted(old_map.keys() & new_map.keys()):
            if old_map[name] != new_map[name]:
                diff.changes.append(
                    Change("changed", kind, name, before=str(old_map[name]), after=str(new_map[name]),
                           details=(f"{new_map[name]} (was {old_map[name]})",))
                )
    for name in sorted(set(before.schemas) - set(after.schemas)):
        diff.changes.append(Change("removed", "schema", name))
    for name in sorted(set(after.schemas) - set(before.schemas)):
        diff.changes.append(Change("added", "schema", name))
    for name in sorted(set(before.sequences) - set(after.sequences)):
        diff.changes.append(Change("removed", "sequence", name))
    for name in sorted(set(after.sequences) - set(before.sequences)):
        diff.changes.append(Change("added", "sequence", name))
    return diff
