"""Raw SQL of ``op.execute(...)`` read with a real parser, not regular expressions.

The parser is sqlglot: one pure-Python parser for both databases schemashift
runs on (SQLite and PostgreSQL, MySQL next), installed from a wheel with no
compiler.  pglast (PostgreSQL's own parser) would read PostgreSQL more exactly
but nothing else; statements sqlglot does not model come back as ``unknown``
(rule SS-X601) rather than being guessed at.  Each statement becomes one or
more ``Action``s: the vocabulary the rules share with Alembic's operations.
"""

from __future__ import annotations

from typing import Any

from .actions import Action

_DIALECTS = {"postgresql": "postgres", "sqlite": "sqlite", "mysql": "mysql", "mariadb": "mysql"}
_VOLATILE = {"random", "gen_random_uuid", "uuid_generate_v4", "clock_timestamp", "nextval", "timeofday", "uuid"}


def sql_text(sqltext: Any, dialect: Any = None) -> str:
    if isinstance(sqltext, str):
        return sqltext
    try:
        return str(sqltext.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    except Exception:
        return str(sqltext)


def _name(node: Any) -> str | None:
    if node is None:
        return None
    name = getattr(node, "name", None)
    return name or None


def _table(node: Any) -> tuple[str | None, str | None]:
    from sqlglot import exp

    if isinstance(node, exp.Table):
        return node.name or None, node.db or None
    return _name(node), None


def analyse(text: str, dialect_name: str) -> list[Action]:
    """The actions of every statement in ``text``."""
    import sqlglot
    from sqlglot.errors import ParseError

    import logging

    read = _DIALECTS.get(dialect_name, None)
    logger = logging.getLogger("sqlglot")
    previous = logger.level
    logger.setLevel(logging.CRITICAL)  # "falling back to Command" is our SS-X601, not a log line
    try:
        statements = sqlglot.parse(text, read=read, error_level=sqlglot.ErrorLevel.RAISE)
    except (ParseError, Exception):
        return [Action("unknown", text=" ".join(text.split()))]
    finally:
        logger.setLevel(previous)
    out: list[Action] = []
    for stmt in statements:
        if stmt is None:
            continue
        out.extend(_actions(stmt))
    return out


def _actions(stmt: Any) -> list[Action]:
    from sqlglot import exp

    text = " ".join(stmt.sql().split())
    if isinstance(stmt, exp.Drop):
        kind = (stmt.args.get("kind") or "").upper()
        if kind == "TABLE":
            return [Action("drop_table", *(_table(t)[:1]), schema=_table(t)[1], text=text) for t in stmt.expressions or stmt.args.get("tables") or []] or [Action("drop_table", _name(stmt.this), text=text)]
        if kind == "SCHEMA":
            target = (stmt.args.get("tables") or [stmt.this])[0]
            name = getattr(target, "db", None) or _name(target)
            return [Action("drop_schema", schema=name, text=text)]
        if kind == "INDEX":
            target = (stmt.args.get("tables") or [stmt.this])[0]
            return [Action("drop_index", new_name=_name(target), concurrently=bool(stmt.args.get("concurrently")), text=text)]
        return [Action("other_ddl", text=text)]
    if isinstance(stmt, exp.TruncateTable):
        return [Action("truncate", *_table(t), text=text) for t in stmt.expressions]
    if isinstance(stmt, exp.Delete):
        table, schema = _table(stmt.this)
        return [Action("delete_all" if stmt.args.get("where") is None else "write", table, schema=schema, text=text)]
    if isinstance(stmt, (exp.Update, exp.Insert)):
        target = stmt.this
        if isinstance(target, exp.Schema):
            target = target.this
        table, schema = _table(target)
        return [Action("write", table, schema=schema, text=text)]
    if isinstance(stmt, exp.Create):
        kind = (stmt.args.get("kind") or "").upper()
        if kind == "INDEX":
            index = stmt.this
            table, schema = _table(index.args.get("table"))
            return [Action("create_index", table, schema=schema, new_name=_name(index),
                              concurrently=bool(stmt.args.get("concurrently")), unique=bool(stmt.args.get("unique")), text=text)]
        if kind == "TABLE":
            target = stmt.this.this if isinstance(stmt.this, exp.Schema) else stmt.this
            table, schema = _table(target)
            return [Action("create_table", table, schema=schema, text=text)]
        return [Action("other_ddl", text=text)]
    if isinstance(stmt, exp.Alter) and (stmt.args.get("kind") or "").upper() == "TABLE":
        table, schema = _table(stmt.this)
        return [_alter_action(a, table, schema, stmt, text) for a in stmt.args.get("actions") or []]
    if isinstance(stmt, exp.Set):
        names = [str(item.this.this.sql()).lower() for item in stmt.expressions if isinstance(getattr(item, "this", None), exp.EQ)]
        if "lock_timeout" in names:
            return [Action("set_lock_timeout", text=text)]
        return [Action("set", text=text)]
    if isinstance(stmt, (exp.Select, exp.Pragma)) if hasattr(exp, "Pragma") else isinstance(stmt, exp.Select):
        return [Action("read", text=text)]
    if isinstance(stmt, exp.Command):
        return [_command(stmt, text)]
    return [Action("other", text=text)]


def _alter_action(action: Any, table: str | None, schema: str | None, stmt: Any, text: str) -> Action:
    from sqlglot import exp

    base = {"table": table, "schema": schema, "text": text}
    if isinstance(action, exp.Drop) and (action.args.get("kind") or "").upper() == "COLUMN":
        cols = action.args.get("tables") or [action.this]
        return Action("drop_column", column=_name(cols[0]), **base)
    if isinstance(action, exp.ColumnDef):
        default = None
        not_null = False
        for constraint in action.args.get("constraints") or []:
            kind = constraint.args.get("kind")
            if isinstance(kind, exp.DefaultColumnConstraint):
                default = kind.this
            if isinstance(kind, exp.NotNullColumnConstraint) and not kind.args.get("allow_null"):
                not_null = True
        volatile = default is not None and _is_volatile(default)
        return Action("add_column", column=_name(action), has_default=default is not None, volatile_default=volatile,
                         not_null=not_null, type_sql=action.args["kind"].sql() if action.args.get("kind") else None, **base)
    if isinstance(action, exp.AlterColumn):
        col = _name(action.this)
        if action.args.get("dtype") is not None:
            return Action("alter_type", column=col, type_sql=action.args["dtype"].sql(dialect="postgres"), **base)
        if action.args.get("allow_null") is False:
            return Action("set_not_null", column=col, **base)
        return Action("alter_column", column=col, **base)
    if isinstance(action, exp.AddConstraint):
        not_valid = bool(stmt.args.get("not_valid")) or "NOT VALID" in text.upper()
        for constraint in action.expressions:
            for part in constraint.expressions if isinstance(constraint, exp.Constraint) else [constraint]:
                name = _name(constraint) if isinstance(constraint, exp.Constraint) else None
                if isinstance(part, exp.ForeignKey):
                    return Action("add_fk", new_name=name, not_valid=not_valid, **base)
                if isinstance(part, exp.CheckColumnConstraint):
                    return Action("add_check", new_name=name, not_valid=not_valid, condition=part.this.sql(), **base)
                if isinstance(part, (exp.UniqueColumnConstraint,)):
                    using_index = "USING INDEX" in text.upper()
                    return Action("add_unique", new_name=name, extra={"using_index": using_index}, **base)
                if isinstance(part, (exp.PrimaryKey, exp.PrimaryKeyColumnConstraint)):
                    return Action("add_pk", new_name=name, extra={"using_index": "USING INDEX" in text.upper()}, **base)
        return Action("add_constraint", not_valid=not_valid, **base)
    if isinstance(action, exp.AlterRename):
        return Action("rename_table", new_name=_table(action.this)[0], **base)
    if isinstance(action, exp.RenameColumn):
        return Action("rename_column", column=_name(action.this), new_name=_name(action.args.get("to")), **base)
    return Action("alter_table", **base)


def _is_volatile(node: Any) -> bool:
    from sqlglot import exp

    for func in node.find_all(exp.Func):
        name = (func.sql_name() if hasattr(func, "sql_name") else type(func).__name__).lower()
        anonymous = getattr(func, "name", "") or ""
        if name in _VOLATILE or anonymous.lower() in _VOLATILE or isinstance(func, (exp.Rand, exp.Uuid)):
            return True
    return False


def _command(stmt: Any, text: str) -> Action:
    """Statements sqlglot keeps as tokens: recognise the few that matter by their tokens."""
    from sqlglot.tokens import Tokenizer

    words = [t.text.upper() for t in Tokenizer().tokenize(text)]
    if words[:2] == ["ALTER", "TABLE"] and len(words) > 2:
        rest = [w for w in words[2:] if w not in ("ONLY", "IF", "EXISTS")]
        table = rest[0].lower() if rest else None
        if "VALIDATE" in words:
            return Action("validate_constraint", table, text=text)
        if "USING" in words and "INDEX" in words and "ADD" in words:
            kind = "add_pk" if "PRIMARY" in words else "add_unique"
            return Action(kind, table, text=text, extra={"using_index": True})
    return Action("unknown", text=text)
