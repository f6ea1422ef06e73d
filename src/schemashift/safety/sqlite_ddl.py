"""Read and rewrite the ``CREATE TABLE`` statement SQLite stores in ``sqlite_master``.

Why parse SQL at all: a SQLite table rebuild that starts from *reflection*
(as Alembic's batch mode does) loses whatever SQLAlchemy does not reflect: a
column-inline ``UNIQUE``, unnamed ``CHECK``s, ``COLLATE``, ``ON CONFLICT``,
``AUTOINCREMENT``, generated columns.  SQLite's own ALTER TABLE procedure
(https://www.sqlite.org/lang_altertable.html#otheralter) instead starts from
the stored ``CREATE TABLE`` text and edits it.  This module does that edit:
``parse_create_table`` splits the statement into columns and constraints
(keeping each piece's original text), the ``TableDef`` methods change exactly
what a migration asks for, and ``TableDef.render`` writes the statement back.
Anything it cannot read raises ``DDLParseError`` rather than guessing, so a
rebuild never silently drops a clause.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..errors import SchemashiftError
from ..schema.kinds import SQL_WORDS as KIND_NAMES  # the kinds that can carry a name, as DDL says them
from ..schema.sql import Token, normalize_sql, quote, tokenize, unquote
from ..schema.types import sqlite_affinity


class DDLParseError(SchemashiftError):
    """The stored CREATE TABLE statement uses syntax this module does not read."""


# ------------------------------------------------------------------ model

COLUMN_CONSTRAINT_STARTS = {
    "CONSTRAINT", "PRIMARY", "NOT", "NULL", "UNIQUE", "CHECK", "DEFAULT",
    "COLLATE", "REFERENCES", "GENERATED", "AS",
}
TABLE_CONSTRAINT_STARTS = {"CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"}

@dataclass
class Constraint:
    """A constraint of a column (``inline``) or of the table.

    ``kind`` is primary, unique, check, foreign, notnull, null, default,
    collate or generated; ``text`` is the original clause without its
    ``CONSTRAINT name`` prefix (for an inline foreign key: ``REFERENCES ...``).
    """

    kind: str
    text: str
    name: str | None = None
    columns: tuple[str, ...] = ()
    referred_table: str | None = None
    referred_columns: tuple[str, ...] = ()
    check: str | None = None  # a CHECK's expression, without the parentheses

    def render(self) -> str:
        return f"CONSTRAINT {quote(self.name)} {self.text}" if self.name else self.text

    @property
    def signature(self) -> tuple[str, tuple[str, ...], str]:
        """What identifies an unnamed constraint: kind, columns, normalized check."""
        return (self.kind, tuple(c.lower() for c in self.columns), normalize_sql(self.check or "", key=True))


@dataclass
class ColumnDef:
    name: str
    name_sql: str
    type_sql: str
    constraints: list[Constraint] = field(default_factory=list)

    def render(self) -> str:
        parts = [self.name_sql]
        if self.type_sql:
            parts.append(self.type_sql)
        parts.extend(c.render() for c in self.constraints)
        return " ".join(parts)

    def find(self, kind: str) -> Constraint | None:
        return next((c for c in self.constraints if c.kind == kind), None)

    @property
    def nullable(self) -> bool:
        return self.find("notnull") is None


@dataclass
class TableDef:
    """A parsed CREATE TABLE: columns and table constraints in their order."""

    name: str
    items: list[ColumnDef | Constraint]
    options: str = ""  # WITHOUT ROWID, STRICT

    # ------------------------------------------------------------ reading

    @property
    def columns(self) -> list[ColumnDef]:
        return [i for i in self.items if isinstance(i, ColumnDef)]

    @property
    def table_constraints(self) -> list[Constraint]:
        return [i for i in self.items if isinstance(i, Constraint)]

    def column(self, name: str) -> ColumnDef:
        for col in self.columns:
            if col.name.lower() == name.lower():
                return col
        raise DDLParseError(f"table {self.name} has no column {name!r}")

    def constraints(self) -> list[tuple[ColumnDef | None, Constraint]]:
        """Every real constraint (primary, unique, check, foreign), with its column if inline."""
        found: list[tuple[ColumnDef | None, Constraint]] = []
        for item in self.items:
            if isinstance(item, ColumnDef):
                found.extend((item, c) for c in item.constraints if c.kind in KIND_NAMES)
            elif item.kind in KIND_NAMES:
                found.append((None, item))
        return found

    def render(self, name: str | None = None) -> str:
        body = ",\n\t".join(item.render() for item in self.items)
        options = f" {self.options}" if self.options else ""
        return f"CREATE TABLE {quote(name or self.name)} (\n\t{body}\n){options}"

    # ------------------------------------------------------------ editing

    def set_type(self, column: str, type_sql: str) -> None:
        self.column(column).type_sql = type_sql

    def set_nullable(self, column: str, nullable: bool) -> None:
        col = self.column(column)
        col.constraints = [c for c in col.constraints if c.kind not in ("notnull", "null")]
        if not nullable:
            col.constraints.insert(0, Constraint("notnull", "NOT NULL"))

    def set_default(self, column: str, default_sql: str | None) -> None:
        col = self.column(column)
        col.constraints = [c for c in col.constraints if c.kind != "default"]
        if default_sql is not None:
            col.constraints.append(Constraint("default", f"DEFAULT ({default_sql})"))

    def drop_column(self, column: str) -> None:
        col = self.column(column)
        for owner, cons in self.constraints():
            if owner is None and column.lower() in (c.lower() for c in cons.columns):
                raise DDLParseError(
                    f"column {column} of {self.name} is used by {cons.render()}; drop that constraint too"
                )
        self.items.remove(col)

    def add_constraint(self, sql: str) -> Constraint:
        """Append a table constraint given as SQL (``CONSTRAINT n UNIQUE (a)``)."""
        cons = parse_table_constraint(sql)
        self.items.append(cons)
        return cons

    def find_constraints(self, ref: "ConstraintRef") -> list[tuple[ColumnDef | None, Constraint]]:
        return [(owner, c) for owner, c in self.constraints() if ref.matches(c)]

    def drop_constraint(self, ref: "ConstraintRef") -> Constraint:
        owner, cons = self._one(ref)
        if owner is not None:
            owner.constraints.remove(cons)
        else:
            self.items.remove(cons)
        return cons

    def name_constraint(self, ref: "ConstraintRef", new_name: str | None) -> Constraint:
        """Give the constraint ``ref`` matches the name ``new_name`` (None: unname it).

        Inline UNIQUE, CHECK and REFERENCES clauses move to the table level,
        where SQLAlchemy's reflection reads names; an inline PRIMARY KEY gets
        its name in place, which keeps ``INTEGER PRIMARY KEY`` a rowid alias
        and ``AUTOINCREMENT`` legal.
        """
        owner, cons = self._one(ref)
        if owner is None or cons.kind == "primary":
            cons.name = new_name
            return cons
        owner.constraints.remove(cons)
        moved = _inline_to_table(owner, cons)
        moved.name = new_name
        self.items.append(moved)
        return moved

    def _one(self, ref: "ConstraintRef") -> tuple[ColumnDef | None, Constraint]:
        found = self.find_constraints(ref)
        if not found:
            raise DDLParseError(f"table {self.name} has no constraint {ref.describe()}")
        if len(found) > 1:
            raise DDLParseError(f"table {self.name} has {len(found)} constraints {ref.describe()}; name one")
        return found[0]

    def copy(self) -> "TableDef":
        items: list[ColumnDef | Constraint] = []
        for item in self.items:
            if isinstance(item, ColumnDef):
                items.append(replace(item, constraints=[replace(c) for c in item.constraints]))
            else:
                items.append(replace(item))
        return replace(self, items=items)


@dataclass(frozen=True)
class ConstraintRef:
    """Which constraint a migration means: by name, or by kind + columns / check text.

    Written into migration files as a plain dict (see ``from_value``).
    """

    kind: str | None = None  # primary, unique, check, foreign (None: any)
    name: str | None = None
    columns: tuple[str, ...] = ()
    check: str | None = None
    referred_table: str | None = None

    @classmethod
    def from_value(cls, value: "ConstraintRef | str | dict") -> "ConstraintRef":
        if isinstance(value, ConstraintRef):
            return value
        if isinstance(value, str):
            return cls(name=value)
        data = dict(value)
        kind = data.pop("type", data.pop("kind", None))
        kind = {"primarykey": "primary", "foreignkey": "foreign"}.get(kind, kind)
        columns = tuple(data.pop("columns", ()) or ())
        return cls(kind=kind, columns=columns, **data)

    def as_dict(self) -> dict:
        out: dict = {}
        if self.kind:
            out["type"] = self.kind
        if self.name:
            out["name"] = self.name
        if self.columns:
            out["columns"] = list(self.columns)
        if self.check:
            out["check"] = self.check
        if self.referred_table:
            out["referred_table"] = self.referred_table
        return out

    def matches(self, cons: Constraint) -> bool:
        if self.kind and cons.kind != self.kind:
            return False
        if self.name is not None:
            return (cons.name or "").lower() == self.name.lower()
        if self.columns and tuple(c.lower() for c in self.columns) != tuple(c.lower() for c in cons.columns):
            return False
        if self.check is not None and normalize_sql(self.check, key=True) != normalize_sql(cons.check or "", key=True):
            return False
        if self.referred_table and (cons.referred_table or "").lower() != self.referred_table.lower():
            return False
        return bool(self.kind or self.columns or self.check)

    def describe(self) -> str:
        if self.name:
            return repr(self.name)
        what = KIND_NAMES.get(self.kind or "", "constraint")
        if self.check:
            return f"{what} ({self.check})"
        return f"{what} ({', '.join(self.columns)})"


# ------------------------------------------------------------------ parser


class _Cursor:
    def __init__(self, sql: str, tokens: list[Token]) -> None:
        self.sql = sql
        self.tokens = tokens
        self.i = 0

    def peek(self, ahead: int = 0) -> Token | None:
        j = self.i + ahead
        return self.tokens[j] if j < len(self.tokens) else None

    def at(self, *words: str) -> bool:
        tok = self.peek()
        return tok is not None and (tok.upper in words or tok.text in words)

    def take(self) -> Token:
        tok = self.peek()
        if tok is None:
            raise DDLParseError(f"unexpected end of CREATE TABLE: {self.sql[:200]!r}")
        self.i += 1
        return tok

    def expect(self, *words: str) -> Token:
        if not self.at(*words):
            tok = self.peek()
            near = tok.text if tok else "end"
            raise DDLParseError(f"expected {' or '.join(words)} near {near!r} in {self.sql[:200]!r}")
        return self.take()

    def maybe(self, *words: str) -> Token | None:
        return self.take() if self.at(*words) else None

    def group(self) -> tuple[Token, Token]:
        """Consume a parenthesized group; return its ( and ) tokens."""
        open_ = self.expect("(")
        depth = 1
        while depth:
            tok = self.take()
            if tok.text == "(" and tok.kind == "punct":
                depth += 1
            elif tok.text == ")" and tok.kind == "punct":
                depth -= 1
        return open_, self.tokens[self.i - 1]

    def done(self) -> bool:
        return self.i >= len(self.tokens)


def _split_top_level(tokens: list[Token]) -> list[list[Token]]:
    parts: list[list[Token]] = [[]]
    depth = 0
    for tok in tokens:
        if tok.kind == "punct" and tok.text == "(":
            depth += 1
        elif tok.kind == "punct" and tok.text == ")":
            depth -= 1
        elif tok.kind == "punct" and tok.text == "," and depth == 0:
            parts.append([])
            continue
        parts[-1].append(tok)
    return [p for p in parts if p]


def _column_list(sql: str, open_: Token, close: Token) -> tuple[str, ...]:
    inner = [t for t in tokenize(sql[open_.end : close.start])]
    return tuple(part[0].ident for part in _split_top_level(inner))


def parse_create_table(sql: str) -> TableDef:
    """Parse a ``CREATE TABLE`` statement as stored in ``sqlite_master.sql``."""
    tokens = tokenize(sql)
    cur = _Cursor(sql, tokens)
    cur.expect("CREATE")
    cur.maybe("TEMP", "TEMPORARY")
    cur.expect("TABLE")
    if cur.maybe("IF"):
        cur.expect("NOT")
        cur.expect("EXISTS")
    name_tok = cur.take()
    name = name_tok.ident
    if cur.at("."):
        cur.take()
        name = cur.take().ident
    if cur.at("AS"):
        raise DDLParseError(f"table {name} was made by CREATE TABLE ... AS SELECT; it has no column definitions")
    open_, close = cur.group()
    body = tokens[tokens.index(open_) + 1 : tokens.index(close)]
    options = sql[close.end :].strip().rstrip(";").strip()
    items: list[ColumnDef | Constraint] = []
    for part in _split_top_level(body):
        first = part[0]
        if first.kind == "word" and first.upper in TABLE_CONSTRAINT_STARTS:
            items.append(_parse_table_constraint(sql, part))
        else:
            items.append(_parse_column(sql, part))
    return TableDef(name=name, items=items, options=options)


def _text(sql: str, first: Token, last: Token) -> str:
    return sql[first.start : last.end]


def parse_column(ddl: str) -> ColumnDef:
    """One column definition (``"c" INTEGER NOT NULL DEFAULT 0``)."""
    return _parse_column(ddl, tokenize(ddl))


def parse_table_constraint(sql: str) -> Constraint:
    """One table constraint (``CONSTRAINT uq_t_c UNIQUE (c)``)."""
    return _parse_table_constraint(sql, tokenize(sql))


def _parse_table_constraint(sql: str, part: list[Token]) -> Constraint:
    cur = _Cursor(sql, part)
    name = None
    if cur.maybe("CONSTRAINT"):
        name = cur.take().ident
    start = cur.peek()
    if start is None:
        raise DDLParseError(f"constraint {name} has no body in {sql[:200]!r}")
    text = _text(sql, start, part[-1])
    kw = cur.take().upper
    if kw in ("PRIMARY", "FOREIGN"):
        cur.expect("KEY")
    if kw == "CHECK":
        o, c = cur.group()
        return Constraint("check", text, name, check=sql[o.end : c.start].strip())
    if kw not in ("PRIMARY", "UNIQUE", "FOREIGN"):
        raise DDLParseError(f"unknown table constraint {kw!r} in {sql[:200]!r}")
    o, c = cur.group()
    columns = _column_list(sql, o, c)
    if kw == "FOREIGN":
        cur.expect("REFERENCES")
        table, refcols = _references_target(cur, sql)
        return Constraint("foreign", text, name, columns, table, refcols)
    return Constraint("primary" if kw == "PRIMARY" else "unique", text, name, columns)


def _references_target(cur: _Cursor, sql: str) -> tuple[str, tuple[str, ...]]:
    table = cur.take().ident
    refcols: tuple[str, ...] = ()
    if cur.at("("):
        o, c = cur.group()
        refcols = _column_list(sql, o, c)
    return table, refcols


def _parse_column(sql: str, part: list[Token]) -> ColumnDef:
    cur = _Cursor(sql, part)
    name_tok = cur.take()
    type_start = type_end = None
    while not cur.done() and not (cur.peek().kind == "word" and cur.peek().upper in COLUMN_CONSTRAINT_STARTS):  # type: ignore[union-attr]
        tok = cur.peek()
        assert tok is not None
        if tok.text == "(":
            _, close = cur.group()
            type_end = close
        else:
            type_end = cur.take()
        type_start = type_start or tok
    type_sql = _text(sql, type_start, type_end) if type_start and type_end else ""
    column = ColumnDef(name_tok.ident, name_tok.text, type_sql)
    while not cur.done():
        name = None
        if cur.maybe("CONSTRAINT"):
            name = cur.take().ident
        start = cur.peek()
        kind, check = _column_constraint(cur)
        cons = Constraint(kind, _text(sql, start, part[cur.i - 1]), name, (column.name,), check=check)  # type: ignore[arg-type]
        if kind == "foreign":
            table, refcols = _references_target(_Cursor(sql, part[part.index(start) + 1 :]), sql)  # type: ignore[arg-type]
            cons.referred_table, cons.referred_columns = table, refcols
        column.constraints.append(cons)
    return column


def _conflict_clause(cur: _Cursor) -> None:
    if cur.at("ON") and (nxt := cur.peek(1)) is not None and nxt.upper == "CONFLICT":
        cur.take(), cur.take(), cur.take()


def _column_constraint(cur: _Cursor) -> tuple[str, str | None]:
    """Consume one column constraint; return its kind (and a CHECK's expression)."""
    kw = cur.take().upper
    if kw == "PRIMARY":
        cur.expect("KEY")
        cur.maybe("ASC", "DESC")
        _conflict_clause(cur)
        cur.maybe("AUTOINCREMENT")
        return "primary", None
    if kw == "NOT":
        cur.expect("NULL")
        _conflict_clause(cur)
        return "notnull", None
    if kw == "NULL":
        _conflict_clause(cur)
        return "null", None
    if kw == "UNIQUE":
        _conflict_clause(cur)
        return "unique", None
    if kw == "CHECK":
        o, c = cur.group()
        return "check", cur.sql[o.end : c.start].strip()
    if kw == "DEFAULT":
        if cur.at("("):
            cur.group()
        else:
            if cur.at("+", "-"):
                cur.take()
            cur.take()
        return "default", None
    if kw == "COLLATE":
        cur.take()
        return "collate", None
    if kw == "REFERENCES":
        cur.take()
        if cur.at("("):
            cur.group()
        _fk_tail(cur)
        return "foreign", None
    if kw in ("GENERATED", "AS"):
        if kw == "GENERATED":
            cur.expect("ALWAYS")
            cur.expect("AS")
        cur.group()
        cur.maybe("STORED", "VIRTUAL")
        return "generated", None
    raise DDLParseError(f"unknown column constraint {kw!r} in {cur.sql[:200]!r}")


def _fk_tail(cur: _Cursor) -> None:
    """ON DELETE/UPDATE actions, MATCH, [NOT] DEFERRABLE [INITIALLY ...]."""
    while not cur.done():
        if cur.at("ON"):
            cur.take()
            cur.expect("DELETE", "UPDATE")
            if cur.maybe("SET"):
                cur.expect("NULL", "DEFAULT")
            elif cur.maybe("NO"):
                cur.expect("ACTION")
            else:
                cur.expect("CASCADE", "RESTRICT")
        elif cur.at("MATCH"):
            cur.take(), cur.take()
        elif cur.at("NOT") and (nxt := cur.peek(1)) is not None and nxt.upper == "DEFERRABLE":
            cur.take()
        elif cur.at("DEFERRABLE"):
            cur.take()
            if cur.maybe("INITIALLY"):
                cur.expect("DEFERRED", "IMMEDIATE")
        else:
            return


def _inline_to_table(column: ColumnDef, cons: Constraint) -> Constraint:
    """The table-level equivalent of a column's inline constraint."""
    col = quote(column.name)
    if cons.kind == "unique":
        tail = cons.text[len("UNIQUE") :].strip()
        text = f"UNIQUE ({col})" + (f" {tail}" if tail else "")
        return Constraint("unique", text, columns=(column.name,))
    if cons.kind == "check":
        return Constraint("check", cons.text, check=cons.check, columns=(column.name,))
    if cons.kind == "foreign":
        text = f"FOREIGN KEY ({col}) {cons.text}"
        return Constraint(
            "foreign", text, columns=(column.name,),
            referred_table=cons.referred_table, referred_columns=cons.referred_columns,
        )
    raise DDLParseError(f"cannot move {cons.kind} constraint of column {column.name} to the table")


def storage_signature(table: TableDef) -> tuple:
    """What SQLite's transfer optimization compares between two tables (approximately):
    per column its affinity, NOT NULL and collation, and the CHECK expressions in order."""
    columns = []
    for col in table.columns:
        collate = col.find("collate")
        columns.append((col.name.lower(), sqlite_affinity(col.type_sql), not col.nullable, normalize_sql(collate.text, key=True) if collate else ""))
    checks = [normalize_sql(c.check or "", key=True) for _, c in table.constraints() if c.kind == "check"]
    return tuple(columns), tuple(checks)
