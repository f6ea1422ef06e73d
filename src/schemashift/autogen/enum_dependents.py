"""What uses a PostgreSQL enum type, read before ``alter_enum`` swaps it.

Removing or reordering enum values means a new type: rename the old one,
create the new, convert every column, drop the old.  ``DROP TYPE`` fails on
anything still tied to the old type, and ``ALTER COLUMN ... TYPE`` fails on a
column a view reads.  So before changing anything, ``enum_uses`` lists
(from ``pg_depend``) the table columns of the type or of its array type,
their defaults (restored from their text after the swap, which then names
the new type), and every other dependent: views, domains, functions,
constraints or index expressions.  Those are not rewritten: the swap refuses
naming each, so the migration can drop and recreate them around it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class EnumColumn:
    schema: str
    table: str
    column: str
    is_array: bool
    default: str | None  # the default's SQL as PostgreSQL prints it, before the swap


@dataclass
class EnumUses:
    columns: list[EnumColumn] = field(default_factory=list)
    blockers: list[str] = field(default_factory=list)  # "view sad_people", "type good_mood" ...


_LITERAL = re.compile(r"^\(*'((?:[^']|'')*)'::[\w.\"\[\]]+\)*$")


def default_value(default: str | None) -> str | None:
    """The enum label of a default written as a literal (``'happy'::mood``), else None."""
    if default is None:
        return None
    match = _LITERAL.match(default.strip())
    return match.group(1).replace("''", "'") if match else None


def enum_uses(connection: Any, qualified_type: str) -> EnumUses:
    """Columns, defaults and other dependents of the enum ``qualified_type`` (quoted, maybe schema-qualified)."""
    uses = EnumUses()
    params = {"t": qualified_type}
    for schema, table, column, is_array, default in connection.exec_driver_sql(
        """
        SELECT n.nspname, c.relname, a.attname, a.atttypid <> to_regtype(%(t)s),
               pg_get_expr(d.adbin, d.adrelid)
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.atttypid IN (to_regtype(%(t)s), (SELECT typarray FROM pg_type WHERE oid = to_regtype(%(t)s)))
          AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY 1, 2, a.attnum
        """,
        params,
    ):
        uses.columns.append(EnumColumn(schema, table, column, bool(is_array), default))
    # anything else tied to the type (or its array type): not a table column, a default or the array type
    rows = connection.exec_driver_sql(
        """
        SELECT DISTINCT pg_describe_object(d.classid, d.objid, 0)
        FROM pg_depend d
        WHERE d.refclassid = 'pg_type'::regclass
          AND d.refobjid IN (to_regtype(%(t)s), (SELECT typarray FROM pg_type WHERE oid = to_regtype(%(t)s)))
          AND d.deptype = 'n'
          AND NOT (d.classid = 'pg_class'::regclass AND d.objsubid > 0
                   AND (SELECT relkind FROM pg_class WHERE oid = d.objid) IN ('r', 'p'))
          AND d.classid <> 'pg_attrdef'::regclass
          AND NOT (d.classid = 'pg_type'::regclass AND d.objid = (SELECT typarray FROM pg_type WHERE oid = to_regtype(%(t)s)))
        UNION
        SELECT DISTINCT pg_describe_object(d.classid, d.objid, 0)
        FROM pg_depend d
        JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
        WHERE d.refclassid = 'pg_class'::regclass AND d.classid = 'pg_rewrite'::regclass
          AND a.atttypid IN (to_regtype(%(t)s), (SELECT typarray FROM pg_type WHERE oid = to_regtype(%(t)s)))
        ORDER BY 1
        """,
        params,
    )
    uses.blockers = [r[0].replace("rule _RETURN on ", "") for r in rows]
    return uses
