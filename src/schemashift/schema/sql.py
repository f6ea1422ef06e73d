"""The one SQL text normaliser: tokens, quoting, and the canonical form of an expression.

Databases hand expressions back reworded: PostgreSQL returns ``CHECK ((grade >
0))`` for ``CHECK (grade > 0)`` and ``'draft'::character varying`` for a
default of ``'draft'``; SQLite returns the text as written.  Everything that
compares or shows such text (the SQLite rebuild's constraint matching,
autogenerate's unnamed constraints, rename evidence, verify's snapshots, the
descriptions ``check`` prints) goes through ``normalize_sql`` here, so the same
expression reads the same everywhere.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any, overload

_TOKEN_PATTERN = (
    r"""
    (?P<space>\s+)
  | (?P<comment>--[^\n]*|/\*.*?(?:\*/|$))
  | (?P<string>'(?:[^']|'')*')
  | (?P<quoted>"(?:[^"]|"")*"|`(?:[^`]|``)*`|\[[^\]]*\])
  | (?P<word>[A-Za-z0-9_$\u0080-\uffff]+(?:\.[0-9]+)?)
  | (?P<punct>.)
    """,
    re.VERBOSE | re.DOTALL,
)


@functools.cache
def _token_regex() -> re.Pattern[str]:
    """Compiled on first use: its wide character class costs every process that imports this module
    (a run imports it for ``READ_ONLY_STATEMENTS``) a few milliseconds, for a tokenizer most runs never call."""
    return re.compile(*_TOKEN_PATTERN)


# how statements that change nothing begin (upper case): reads, reflection (MySQL's DESCRIBE), savepoints
READ_ONLY_STATEMENTS = ("SELECT", "PRAGMA", "WITH", "SHOW", "EXPLAIN", "DESCRIBE", "DESC ", "SAVEPOINT", "RELEASE",
                        "ROLLBACK", "VALUES")


@dataclass(frozen=True)
class Token:
    kind: str  # word, quoted, string or punct
    text: str
    start: int
    end: int

    @property
    def upper(self) -> str:
        return self.text.upper() if self.kind == "word" else ""

    @property
    def ident(self) -> str:
        """The identifier this token names, unquoted."""
        return unquote(self.text)


def tokenize(sql: str) -> list[Token]:
    """The tokens of ``sql``, without whitespace and comments."""
    tokens = []
    for match in _token_regex().finditer(sql):
        kind = match.lastgroup or "punct"
        if kind in ("space", "comment"):
            continue
        tokens.append(Token(kind, match.group(), match.start(), match.end()))
    return tokens


def unquote(text: str) -> str:
    if len(text) >= 2 and text[0] in "\"`[":
        close = {"[": "]"}.get(text[0], text[0])
        if text[-1] == close:
            inner = text[1:-1]
            return inner if text[0] == "[" else inner.replace(close * 2, close)
    return text


def quote(name: str) -> str:
    """Quote an identifier the way SQLite always accepts."""
    return '"' + name.replace('"', '""') + '"'


@overload
def normalize_sql(text: None, *, key: bool = ...) -> None: ...
@overload
def normalize_sql(text: Any, *, key: bool = ...) -> str: ...
def normalize_sql(text: Any, *, key: bool = False) -> str | None:
    """The canonical form of an expression: comments gone, parentheses that wrap the
    whole of it removed, spacing normalised (``(a) AND (b)``, ``f(x, y)``).

    ``key=True`` gives the form to *match* texts by: identifiers unquoted and
    lower-cased, one space between every token, so ``"Grade">0`` and ``(grade
    > 0)`` are equal.  Without it the text keeps its words as written, for
    showing to people.  ``None`` stays ``None``; a ``TextClause`` is read as its text.
    """
    if text is None:
        return None
    return _join(_unwrapped(tokenize(str(getattr(text, "text", text)))), key=key)


def default_value(server_default: Any) -> str | None:
    """A server default as a comparable value: its normalised text without PostgreSQL's
    casts and without the quotes of a lone literal, lower-cased (``'Draft'::character
    varying``, ``('draft')`` and ``"draft"`` all give ``draft``)."""
    if server_default is None or server_default is False:
        return None
    arg = getattr(server_default, "arg", server_default)
    if hasattr(arg, "text"):
        text = arg.text
    elif isinstance(arg, str):
        text = arg
    else:
        try:
            text = str(arg.compile(compile_kwargs={"literal_binds": True}))
        except Exception:
            text = type(server_default).__name__
    tokens = _unwrapped(tokenize(text))
    while (cast := _trailing_cast(tokens)) is not None:
        tokens = _unwrapped(tokens[:cast])
    if len(tokens) == 1 and tokens[0].kind == "string":
        return tokens[0].text[1:-1].replace("''", "'").lower()
    if len(tokens) == 1 and tokens[0].kind == "quoted":
        return tokens[0].ident.lower()
    return _join(tokens, key=False).lower()


def _unwrapped(tokens: list[Token]) -> list[Token]:
    """``tokens`` without the parentheses that wrap all of them (any number of times)."""
    while len(tokens) >= 2 and tokens[0].text == "(" and tokens[-1].text == ")" and _wraps(tokens):
        tokens = tokens[1:-1]
    return tokens


def _wraps(tokens: list[Token]) -> bool:
    """Does the first ``(`` close at the last token?"""
    depth = 0
    for i, tok in enumerate(tokens):
        depth += tok.text == "("
        depth -= tok.text == ")"
        if depth == 0:
            return i == len(tokens) - 1
    return False


def _trailing_cast(tokens: list[Token]) -> int | None:
    """Where a ``::type`` ending the expression starts (``::character varying``, ``::text[]``)."""
    i = len(tokens)
    while i > 0 and (tokens[i - 1].kind in ("word", "quoted") or tokens[i - 1].text in (".", "[", "]")):
        i -= 1
    if i < len(tokens) and i >= 3 and tokens[i - 1].text == ":" and tokens[i - 2].text == ":":
        return i - 2
    return None


def _join(tokens: list[Token], *, key: bool) -> str:
    if key:
        return " ".join(t.ident.lower() if t.kind in ("quoted", "word") else t.text for t in tokens)
    out: list[str] = []
    for prev, tok in zip([None, *tokens], tokens):
        if prev is not None and (
            prev.text == "," or (tok.start > prev.end and prev.text != "(" and tok.text not in (")", ","))
        ):
            out.append(" ")
        out.append(tok.text)
    return "".join(out)


__all__ = ["Token", "default_value", "normalize_sql", "quote", "tokenize", "unquote"]
