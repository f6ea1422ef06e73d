"""What a new revision id and a revision message may be, checked before any file is written.

A revision id becomes part of a file name and a ``version_num`` value
(``VARCHAR(32)`` in Alembic's version table), and is later typed as a target
(``rev-1`` means "one below rev", ``head`` is a keyword), so only ids that
survive all three are accepted.  A message becomes a docstring in a Python
file, so it is escaped to keep the file compiling.
"""

from __future__ import annotations

import re

from ..errors import RevisionError

MAX_LENGTH = 32  # alembic_version.version_num is VARCHAR(32)
_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_\-]*")
_RELATIVE_TAIL = re.compile(r"[+-]\d+$")
RESERVED = {"head", "heads", "base", "current"}


def check_new_rev_id(rev_id: str | None, option: str = "--rev-id") -> None:
    """Raise ``RevisionError`` unless ``rev_id`` is safe as a file name, a version and a target."""
    if rev_id is None:
        return
    problem = None
    if not _ID.fullmatch(rev_id):
        problem = "may hold only ASCII letters, digits, _ and - (no path separators, dots or spaces)"
    elif len(rev_id) > MAX_LENGTH:
        problem = f"is longer than {MAX_LENGTH} characters (Alembic's version table holds 32)"
    elif rev_id.lower() in RESERVED:
        problem = "is a keyword for targets"
    elif _RELATIVE_TAIL.search(rev_id):
        problem = f"ends like a relative target ({rev_id} would read as a step from another revision)"
    if problem:
        shown = rev_id if len(rev_id) <= 60 else rev_id[:57] + "..."
        raise RevisionError(
            f"{option} {shown!r} is not a valid revision id: it {problem}",
            hint="e.g. --rev-id 20260101_add_users, or leave it out for a random one",
        )


def docstring_safe(message: str | None) -> str | None:
    """``message`` escaped so that, inside a triple-quoted docstring, Python reads it back unchanged."""
    if message is None:
        return None
    return message.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')


_RELATIVE_SUFFIX = re.compile(r"[+-]\d+$")


def check_reference(text: str | None, what: str = "revision") -> None:
    """Refuse a revision reference Alembic cannot even look up (it asserts on an empty id).

    ``''``, ``'@'``, ``'branch@'``, or one holding whitespace or control
    characters; anything else is left to the revision map to resolve or reject.
    """
    if text is None:
        return
    ident = text.rpartition("@")[2] if "@" in text else text
    problem = None
    if not text.strip():
        problem = "is empty"
    elif any(ch.isspace() or not ch.isprintable() for ch in text):
        problem = "holds whitespace or control characters"
    elif not ident and not _RELATIVE_SUFFIX.search(text):
        problem = "names no revision after '@'"
    if problem:
        raise RevisionError(
            f"{what} {text!r} {problem}",
            hint="give a revision id, a unique prefix, head, heads, base, +N/-N, or BRANCH@REV",
        )
