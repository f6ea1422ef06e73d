"""What a revision file declares about itself, read from its text without running it.

A revision file's header is four module-level names (``revision``,
``down_revision``, ``branch_labels``, ``depends_on``) and its docstring (the
message, and the ``Create Date:`` line).  Alembic imports every file to learn
them; here they are read from the source, in two ways:

- ``parse_header``: the revision index's reader.  It finds the usual literal
  lines; anything else gives None, and the index imports that file the way
  Alembic would (``index.import_header``).
- ``certain_header``: the cold-cache reader of ``heads``/``history``
  (``revisions.fresh``), which imports nothing at all.  It answers only when the
  text leaves no doubt about what Python would bind, and otherwise raises
  ``Uncertain``, which sends the whole command to the normal path.  It expects
  a file that compiles (the caller proves it: ``revisions.syntax``).

Nothing here imports Alembic or SQLAlchemy.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HEADER_KEYS = ("revision", "down_revision", "branch_labels", "depends_on")
_ASSIGN = re.compile(
    r"^(revision|down_revision|branch_labels|depends_on)\s*(?::[^=\n]*)?=\s*(.*)$",
    re.MULTILINE,
)
_DOCSTRING = re.compile(r'\A(?:\s*#[^\n]*\n|\s*\n)*\s*[rRuU]?("""|\'\'\')(.*?)\1', re.DOTALL)
_TRAILING_COMMENT = re.compile(r"\s*#[^'\"\n]*$")
_CREATE_DATE = re.compile(r"^Create Date:\s*(.+?)\s*$", re.MULTILINE)


def first_paragraph(longdoc: str) -> str:
    """A revision's message: the docstring up to its first blank line (as Alembic's ``doc``)."""
    return re.split("\n\n", longdoc)[0] if longdoc else ""


def create_date(longdoc: str) -> str | None:
    """The ``Create Date:`` line of the docstring, as Alembic's template writes it."""
    date = _CREATE_DATE.search(longdoc)
    return date.group(1) if date else None


@dataclass
class RevisionHeader:
    """What a revision file declares about itself, read without running it."""

    revision: str
    down_revision: Any
    branch_labels: Any
    depends_on: Any
    path: str
    longdoc: str
    create_date: str | None
    checksum: str | None = None  # of the bytes the header was read from (kept with it, keyed by the file's stat)
    marks: str = ""  # the file's lines that speak to schemashift ("# schemashift: allow ..."), for the plan

    @property
    def doc(self) -> str:
        return first_paragraph(self.longdoc)

    @classmethod
    def from_names(cls, names: dict[str, Any], path: Path, longdoc: str) -> "RevisionHeader":
        """From the four header names (read from text, or from the run module)."""
        return cls(
            revision=names["revision"],
            down_revision=names.get("down_revision"),
            branch_labels=names.get("branch_labels"),
            depends_on=names.get("depends_on"),
            path=str(path),
            longdoc=longdoc,
            create_date=create_date(longdoc),
        )


# the usual header value: a plain quoted word or None, alone on its line (an optional comment after it);
# read without ast (literal_eval costs ~50 us a call: four a file, on every cold read of a long history)
_PLAIN_LITERAL = re.compile(r"""(?:'([\w.\-]*)'|"([\w.\-]*)"|(None))[ \t]*(?:#[^\n]*)?$""")


def _literal_after(text: str, start: int) -> tuple[bool, Any]:
    """Evaluate the literal that starts at ``start``, growing it line by line."""
    import ast

    nl = text.find("\n", start)
    plain = _PLAIN_LITERAL.match(text, start, len(text) if nl == -1 else nl)
    if plain is not None:
        single, double, none = plain.groups()
        return True, None if none else single if single is not None else double
    end = start
    for _ in range(40):
        nl = text.find("\n", end)
        end = len(text) if nl == -1 else nl
        chunk = text[start:end].strip()
        for candidate in (chunk, _TRAILING_COMMENT.sub("", chunk)):
            try:
                return True, ast.literal_eval(candidate)
            except (SyntaxError, ValueError):
                pass
        if nl == -1:
            return False, None
        end = nl + 1
    return False, None


def parse_header(path: Path, text: str) -> RevisionHeader | None:
    """Read the header names from source text; ``None`` when they are not literals."""
    found: dict[str, Any] = {}
    for m in _ASSIGN.finditer(text):
        key = m.group(1)
        if key in found:  # a later top-level reassignment: let Python decide
            return None
        ok, value = _literal_after(text, m.start(2))
        if not ok:
            return None
        found[key] = value
    if not isinstance(found.get("revision"), str) or "down_revision" not in found:
        return None
    doc_match = _DOCSTRING.match(text)
    return RevisionHeader.from_names(found, path, _docstring(doc_match) if doc_match else "")


def _docstring(match: re.Match[str]) -> str:
    """The docstring's value, as Python reads it (escapes such as ``\\"\\"\\"`` undone)."""
    import ast

    body = match.group(2)
    raw = match.start(1) > 0 and match.string[match.start(1) - 1] in "rR"
    if "\\" in body and not raw:
        try:
            body = ast.literal_eval(match.group(1) + body + match.group(1))
        except (SyntaxError, ValueError):
            pass
    return body.strip()


# ------------------------------------------------------------------ the certain reader


class Uncertain(Exception):
    """The text alone does not say with certainty what Alembic would read: take the normal path."""


# string literals (escapes honoured; a prefix such as r or b sits just before, see ``_prefix``) and comments:
# everything in the text that is not code.  Exact for source that compiles on Python < 3.12; from 3.12 an
# f-string may nest its own quotes, which ``certain_header`` refuses rather than mis-reads.  Every branch
# starts with a quote or #, so the regex engine skips the code between them quickly.
_NOT_CODE = re.compile(  # each body as runs of plain characters ("unrolled"), so long strings cost little
    r"'''[^'\\]*(?:(?:\\[\s\S]|'(?!''))[^'\\]*)*'''"
    r'|"""[^"\\]*(?:(?:\\[\s\S]|"(?!""))[^"\\]*)*"""'
    r"|'[^'\\\n]*(?:\\[\s\S][^'\\\n]*)*'"
    r'|"[^"\\\n]*(?:\\[\s\S][^"\\\n]*)*"'
    r"|\#[^\n]*"
)
_PREFIXES = {"r", "u", "b", "f", "br", "rb", "fr", "rf"}
# the header names (a match is a name only if no identifier character or dot touches it: ``_is_name``)
_HEADER_NAME = re.compile(r"down_revision|revision|branch_labels|depends_on")
_HEADER_ASSIGN = re.compile(r"(revision|down_revision|branch_labels|depends_on)[ \t]*(?::[^=\n]*)?=(?!=)")
# code that can bind a module's names without naming them as code: not read, only refused (a word counts
# when no identifier character touches it: ``_binds_indirectly``)
_INDIRECT_WORDS = ("globals", "global", "nonlocal", "locals", "vars", "exec", "eval", "setattr", "delattr",
                   "__dict__", "__getattr__", "__import__", "import_module", "modules", "__builtins__", "builtins")
_STAR_IMPORT = re.compile(r"\bimport\s*\*")
_CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)", re.MULTILINE)
_ILLEGAL_IN_ID = set("@-+:")  # as Alembic's Revision.verify_rev_id


def decode_source(data: bytes) -> str:
    """The file's text as Python reads it, when that is plain UTF-8 (else ``Uncertain``)."""
    if data.startswith(b"\xef\xbb\xbf"):
        raise Uncertain("a byte-order mark")
    cookie = None
    if b"coding" in data[:400]:  # a PEP 263 declaration lives on line 1 or 2
        cookie = _CODING.search(b"\n".join(data.split(b"\n", 2)[:2]))
    if cookie and cookie.group(1).lower().replace(b"_", b"-") not in (b"utf-8", b"utf8"):
        raise Uncertain(f"a source encoding of {cookie.group(1).decode(errors='replace')}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Uncertain("not UTF-8") from exc
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def _depth(code: str, start: int, end: int) -> int:
    """Open brackets in ``code[start:end]`` (strings and comments already blanked)."""
    return (
        code.count("(", start, end) + code.count("[", start, end) + code.count("{", start, end)
        - code.count(")", start, end) - code.count("]", start, end) - code.count("}", start, end)
    )


def _header_assignments(code: str) -> list[re.Match[str]]:
    """Each use of a header name as code, as a match of ``_HEADER_ASSIGN``: all must be assignments at a line start.

    The usual file names them only there, which two scans in C show; any
    other file has each use looked at (an attribute or a longer name is not a use).
    """
    at_line_start = []
    for key in HEADER_KEYS:
        pos = 0 if code.startswith(key) else code.find("\n" + key) + 1
        if pos:
            assign = _HEADER_ASSIGN.match(code, pos)
            if assign is not None and assign.group(1) == key:
                at_line_start.append(assign)
    # every use of a name has "revision", "branch_labels" or "depends_on" in it (down_revision too)
    uses = code.count("revision") + code.count("branch_labels") + code.count("depends_on")
    if uses == len(at_line_start):
        return sorted(at_line_start, key=lambda m: m.start())
    uses = []
    for m in _HEADER_NAME.finditer(code):
        key, pos = m.group(), m.start()
        before = code[pos - 1] if pos else "\n"
        if before == "." or before == "_" or before.isalnum() or _is_word_char(code, m.end()):
            continue  # an attribute (context.revision) or part of a longer name: not the module's name
        if before != "\n":
            raise Uncertain(f"{key} named inside a statement")
        assign = _HEADER_ASSIGN.match(code, pos)
        if assign is None:
            raise Uncertain(f"{key} not plainly assigned")
        uses.append(assign)
    return uses


def _logical_line_end(code: str, start: int) -> int:
    """Where the statement going on at ``start`` ends: a newline outside brackets and not after a backslash."""
    end = start
    while True:
        nl = code.find("\n", end)
        end = len(code) if nl == -1 else nl
        line = code[start:end]
        if nl == -1 or (
            not ("(" in line or "[" in line or "{" in line or line.endswith("\\"))  # the usual one-line value
            or (not _depth(code, start, end) and not line.endswith("\\"))
        ):
            return end
        end = nl + 1


def _blank(text: str) -> tuple[str, re.Match[str] | None]:
    """``text`` with every string literal and comment turned to spaces (same length), and the first string.

    A newline inside a string is blanked too: no code line starts inside a
    string, so the lines that matter keep their newline before them.
    """
    first: list[re.Match[str]] = []

    def spaces(m: re.Match[str]) -> str:
        if not first and m.group()[0] != "#":
            first.append(m)
        return " " * (m.end() - m.start())

    return _NOT_CODE.sub(spaces, text), first[0] if first else None


def _binds_indirectly(code: str) -> bool:
    """``global``, ``globals()``, ``setattr``, ``sys.modules``, ``import *``, ...: names bound out of sight."""
    for word in _INDIRECT_WORDS:
        at = code.find(word)
        while at != -1:
            if not _is_word_char(code, at - 1) and not _is_word_char(code, at + len(word)):
                return True
            at = code.find(word, at + 1)
    return "*" in code and _STAR_IMPORT.search(code) is not None


def _prefix(text: str, start: int) -> str:
    """The string prefix (``r``, ``b``, ``f``, ``rb``, ...) just before the quote at ``start``, lower-cased."""
    for size in (2, 1):
        word = text[max(start - size, 0):start].lower()
        if len(word) == size and word in _PREFIXES and not _is_word_char(text, start - size - 1):
            return word
    return ""


def _is_word_char(text: str, index: int) -> bool:
    if index < 0 or index >= len(text):
        return False
    ch = text[index]
    return ch.isalnum() or ch == "_"


def _value(text: str, start: int, end: int) -> Any:
    """The literal ``text[start:end]`` (one logical line: a word, None, or a tuple or list of words)."""
    while start < end and text[start] in " \t":
        start += 1
    plain = _PLAIN_LITERAL.fullmatch(text, start, end)
    if plain is not None:
        single, double, none = plain.groups()
        return None if none else single if single is not None else double
    import ast

    try:
        return ast.literal_eval(text[start:end].strip())
    except (SyntaxError, ValueError, MemoryError, RecursionError) as exc:
        raise Uncertain("a header value that is not a literal") from exc


def _check_value(key: str, value: Any) -> None:
    """Only what Alembic reads plainly: a non-empty string, None, or a tuple or list of distinct strings."""
    if value is None and key != "revision" or type(value) is str and value and key != "revision":
        return  # the usual case, first
    if key == "revision":
        if not isinstance(value, str) or not value or _ILLEGAL_IN_ID.intersection(value):
            raise Uncertain(f"revision is {value!r}")
        return
    if value is None:
        return
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not all(isinstance(v, str) and v for v in items):
        raise Uncertain(f"{key} is {value!r}")
    if len(set(items)) != len(items):
        raise Uncertain(f"{key} repeats an entry")


def _docstring_of(text: str, code: str, first: re.Match[str] | None) -> str:
    """``module.__doc__``, stripped (Alembic's ``longdoc``), from the first statement if it is a plain string."""
    prefix = _prefix(text, first.start()) if first is not None else ""
    if first is None or code[: first.start() - len(prefix)].strip():
        if code.lstrip().startswith("("):
            raise Uncertain("the first statement starts with a bracket")
        return ""  # the first statement is not a string: no docstring
    line_end = code.find("\n", first.end())
    if code[first.end(): len(code) if line_end == -1 else line_end].strip():
        raise Uncertain("the docstring is part of a longer statement")
    if "b" in prefix or "f" in prefix:
        return ""  # bytes and f-strings are not docstrings
    quoted = first.group()
    size = 3 if quoted[:3] in ('"""', "'''") else 1
    body = quoted[size:-size]
    if "\\" in body and "r" not in prefix:
        import ast

        body = ast.literal_eval(quoted)
    if sys.version_info >= (3, 13) and re.search(r"\n[ \t]", body):
        raise Uncertain("an indented docstring (Python 3.13 cleans its indentation)")
    return body.strip()


def certain_header(text: str) -> dict[str, Any]:
    """The header of a file that compiles, as Python would bind it, or ``Uncertain``.

    Certain means: each header name is bound once, by a plain assignment at
    the start of a line, outside any bracket or string, of a literal value;
    the name appears nowhere else as code; nothing in the file can bind
    names indirectly (``global``, ``globals()``, ``setattr``, ``import *``,
    ``:=``, a module ``__getattr__``, ...).  ``revision`` and
    ``down_revision`` must be there (Alembic needs both).
    """
    if ":=" in text:
        raise Uncertain("an assignment expression")
    code, first = _blank(text)
    if sys.version_info >= (3, 12) and re.search(r"(?<![\w])(?:[fF][rR]?|[rR][fF])['\"]", text):
        raise Uncertain("an f-string (Python 3.12 lets it nest its own quotes)")
    if _binds_indirectly(code):
        raise Uncertain("code that can bind names indirectly")
    found: dict[str, Any] = {}
    depth, scanned = 0, 0  # open brackets before ``scanned``
    for assign in _header_assignments(code):
        key, pos = assign.group(1), assign.start()
        if key in found:
            raise Uncertain(f"{key} named twice")
        if pos >= 2 and code[pos - 2] == "\\":
            raise Uncertain(f"{key} on a continued line")
        depth += _depth(code, scanned, pos)
        scanned = pos
        if depth:
            raise Uncertain(f"{key} inside brackets")
        start = assign.end()
        end = _logical_line_end(code, start)
        if ";" in code[start:end]:
            raise Uncertain(f"{key} shares its line with another statement")
        value = _value(text, start, end)
        _check_value(key, value)
        found[key] = value
    if "revision" not in found or "down_revision" not in found:
        raise Uncertain("no revision or down_revision")
    longdoc = _docstring_of(text, code, first)
    return {
        "revision": found["revision"],
        "down_revision": found["down_revision"],
        "branch_labels": found.get("branch_labels"),
        "depends_on": found.get("depends_on"),
        "longdoc": longdoc,
        "create_date": create_date(longdoc),
    }
