"""Clauses of a SQLite ``CREATE TABLE`` that SQLAlchemy's reflection may not carry.

SQLite keeps a table as the text that created it.  Reflection reads columns,
keys and constraints back from it, but not every clause: ``AUTOINCREMENT``, a
column's ``COLLATE``, a foreign key's ``ON DELETE``/``ON UPDATE`` and
``DEFERRABLE INITIALLY DEFERRED``, and (in Alembic's batch mode) an unnamed
``CHECK``.  Clauses that only spell out the default (``ON DELETE NO ACTION``,
``DEFERRABLE INITIALLY IMMEDIATE``) change nothing when lost and are not counted.  A rebuild
from reflection loses them silently; comparing these clauses of two texts says
what was lost.  Used by the plan (rule SS-S503) and verify's snapshots.
"""

from __future__ import annotations

from collections import Counter

from .sql import normalize_sql, tokenize


def table_clauses(sql: str) -> Counter[str]:
    """The clauses of a CREATE TABLE that reflection may not carry, as comparable text."""
    tokens = tokenize(sql)
    found: Counter[str] = Counter()
    for i, tok in enumerate(tokens):
        word = tok.upper
        if word == "AUTOINCREMENT":
            found["AUTOINCREMENT"] += 1
        elif word == "COLLATE" and i + 1 < len(tokens):
            found[f"COLLATE {tokens[i + 1].ident.upper()}"] += 1
        elif word == "DEFERRABLE" and not (i and tokens[i - 1].upper == "NOT"):
            # only INITIALLY DEFERRED changes anything: SQLite checks every other form immediately
            if [t.upper for t in tokens[i + 1:i + 3]] == ["INITIALLY", "DEFERRED"]:
                found["DEFERRABLE INITIALLY DEFERRED"] += 1
        elif word == "ON" and i + 2 < len(tokens) and tokens[i + 1].upper in ("DELETE", "UPDATE"):
            action = tokens[i + 2].upper
            if action in ("SET", "NO") and i + 3 < len(tokens):
                action += " " + tokens[i + 3].upper
            if action != "NO ACTION":  # what a foreign key does when it says nothing
                found[f"ON {tokens[i + 1].upper} {action}"] += 1
        elif word == "CHECK" and i + 1 < len(tokens) and tokens[i + 1].text == "(":
            depth, j = 0, i + 1
            while j < len(tokens):
                depth += tokens[j].text == "("
                depth -= tokens[j].text == ")"
                if depth == 0:
                    break
                j += 1
            found[f"CHECK ({normalize_sql(sql[tokens[i + 2].start:tokens[j].start]) if j > i + 2 else ''})"] += 1
    return found
