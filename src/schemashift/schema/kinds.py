"""The one vocabulary of constraint kinds, and how each neighbour spells them.

schemashift says ``primary``, ``unique``, ``check``, ``foreign`` (as the SQLite
DDL reader's ``ConstraintRef`` does); Alembic's ``type_`` says ``foreignkey``;
PostgreSQL's catalog says ``p``/``u``/``c``/``f``; people read "foreign key".
Derived objects of a renamed table add ``index`` and ``sequence``.
"""

from __future__ import annotations

KINDS = ("primary", "unique", "check", "foreign")
#: schemashift kind -> Alembic's ``type_`` word, and back
ALEMBIC_TYPES = {"primary": "primary", "unique": "unique", "check": "check", "foreign": "foreignkey"}
KIND_OF_TYPE = {v: k for k, v in ALEMBIC_TYPES.items()}
#: schemashift kind -> its DDL keywords
SQL_WORDS = {"primary": "PRIMARY KEY", "unique": "UNIQUE", "check": "CHECK", "foreign": "FOREIGN KEY"}
#: schemashift kind -> ``pg_constraint.contype``
PG_CONTYPE = {"primary": "p", "unique": "u", "check": "c", "foreign": "f"}
#: words for people, for every kind of named object schemashift renames or drops
WORDS = {
    "primary": "primary key",
    "unique": "unique constraint",
    "check": "check constraint",
    "foreign": "foreign key",
    "index": "index",
    "sequence": "sequence",
}


def word(kind: str | None) -> str:
    """``foreign`` (or Alembic's ``foreignkey``) -> "foreign key"; unknown -> "constraint"."""
    if kind is None:
        return "constraint"
    return WORDS.get(KIND_OF_TYPE.get(kind, kind), "constraint")
