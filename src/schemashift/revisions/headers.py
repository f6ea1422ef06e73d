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
  ``certain_headers`` gives the same for many files at once: the usual file
  (Alembic's template) is read by a few passes over all the files' text
  joined, any other by ``certain_header``; the tests pin the two together.

Nothing here imports Alembic or SQLAlchemy.
"""

from __future__ import annotations

import re
import sys
from bisect import bisect_right
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path
from typing import Any

HEADER_KEYS = ("revision", "down_revision", "branch_labels", "depends_on")


class _LazyPattern:
    """A pattern compiled on first use, which then takes its place among this module's globals.

    Start-up time: the cold reader's patterns (``certain_header(s)``) cost a
    few milliseconds to compile, paid by every command that imports this
    module (a run reads headers with ``parse_header`` only).
    """

    def __init__(self, name: str, pattern: Any, flags: int = 0) -> None:
        self.name, self.pattern, self.flags = name, pattern, flags

    def __getattr__(self, attr: str) -> Any:
        compiled = re.compile(self.pattern, self.flags)
        globals()[self.name] = compiled
        return getattr(compiled, attr)


def _lazy(name: str, pattern: Any, flags: int = 0) -> Any:
    return _LazyPattern(name, pattern, flags)


# the reader of one file (``parse_header``) and the Create Date: compiled when first used, too: a
# command whose revision index is up to date reads no header at all
_ASSIGN = _lazy(
    "_ASSIGN", r"^(revision|down_revision|branch_labels|depends_on)\s*(?::[^=\n]*)?=\s*(.*)$", re.MULTILINE,
)
_DOCSTRING = _lazy("_DOCSTRING", r'\A(?:\s*#[^\n]*\n|\s*\n)*\s*[rRuU]?("""|\'\'\')(.*?)\1', re.DOTALL)
_TRAILING_COMMENT = _lazy("_TRAILING_COMMENT", r"\s*#[^'\"\n]*$")
_CREATE_DATE = _lazy("_CREATE_DATE", r"^Create Date:\s*(.+?)\s*$", re.MULTILINE)


def first_paragraph(longdoc: str) -> str:
    """A revision's message: the docstring up to its first blank line (as Alembic's ``doc``)."""
    return longdoc.split("\n\n", 1)[0] if longdoc else ""  # as Alembic's re.split("\n\n", ...)[0]


def create_date(longdoc: str) -> str | None:
    """The ``Create Date:`` line of the docstring, as Alembic's template writes it."""
    at = longdoc.find("Create Date:")  # the regex searched from there (where the template puts it: quicker)
    if at == -1:
        return None
    date = _CREATE_DATE.match(longdoc, at) or _CREATE_DATE.search(longdoc, at)
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
_PLAIN_LITERAL = _lazy("_PLAIN_LITERAL", r"""(?:'([\w.\-]*)'|"([\w.\-]*)"|(None))[ \t]*(?:#[^\n]*)?$""")


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
_NOT_CODE = _lazy('_NOT_CODE',   # each body as runs of plain characters ("unrolled"), so long strings cost little
    r"'''[^'\\]*(?:(?:\\[\s\S]|'(?!''))[^'\\]*)*'''"
    r'|"""[^"\\]*(?:(?:\\[\s\S]|"(?!""))[^"\\]*)*"""'
    r"|'[^'\\\n]*(?:\\[\s\S][^'\\\n]*)*'"
    r'|"[^"\\\n]*(?:\\[\s\S][^"\\\n]*)*"'
    r"|\#[^\n]*"
)
_PREFIXES = {"r", "u", "b", "f", "br", "rb", "fr", "rf"}
# the header names (a match is a name only if no identifier character or dot touches it: ``_is_name``)
_HEADER_NAME = _lazy('_HEADER_NAME', r"down_revision|revision|branch_labels|depends_on")
_HEADER_ASSIGN = _lazy('_HEADER_ASSIGN', r"(revision|down_revision|branch_labels|depends_on)[ \t]*(?::[^=\n]*)?=(?!=)")
# code that can bind a module's names without naming them as code: not read, only refused (a word counts
# when no identifier character touches it: ``_binds_indirectly``)
_INDIRECT_WORDS = ("globals", "global", "nonlocal", "locals", "vars", "exec", "eval", "setattr", "delattr",
                   "__dict__", "__getattr__", "__import__", "import_module", "modules", "__builtins__", "builtins")
# a longer word that starts with a refused word (distinct occurrences of it start at distinct places, so it
# never holds more of them than there are): if it holds every occurrence, the word is not there as a word
_INSIDE_LONGER = {"exec": "execute"}  # op.execute, in every other revision file
_STAR_IMPORT = _lazy('_STAR_IMPORT', r"\bimport[\s\\]*\*")  # a backslash may continue the line
_CODING = _lazy('_CODING', rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)", re.MULTILINE)
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


def decode_sources(datas: list[bytes]) -> list[str]:
    """``decode_source`` of each file (decoded together when none has a byte-order mark or a coding line)."""
    if not datas:
        return []
    joined = b"\0\n".join(datas)
    if b"\xef\xbb\xbf" in joined or b"coding" in joined:
        return [decode_source(data) for data in datas]
    try:
        text = joined.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Uncertain("not UTF-8") from exc
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    texts = text.split("\0\n")
    if len(texts) != len(datas):
        raise Uncertain("a NUL character")  # compile() refuses it
    return texts


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


def _blank(text: str) -> tuple[str, re.Match[str] | None, list[str]]:
    """``text`` with every string literal and comment turned to spaces (same length), the first string,
    and the f-strings (their fields are code: ``f"{globals()}"``).

    A newline inside a string is blanked too: no code line starts inside a
    string, so the lines that matter keep their newline before them.
    """
    first: list[re.Match[str]] = []
    fstrings: list[str] = []

    def spaces(m: re.Match[str]) -> str:
        start = m.start()
        if m.group()[0] != "#":
            if not first:
                first.append(m)
            if start and text[start - 1] in "fFrR" and "f" in _prefix(text, start):
                fstrings.append(m.group())
        return " " * (m.end() - start)

    return _NOT_CODE.sub(spaces, text), first[0] if first else None, fstrings


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
    code, first, fstrings = _blank(text)
    if sys.version_info >= (3, 12) and _has_fstring(text):
        raise Uncertain("an f-string (Python 3.12 lets it nest its own quotes)")
    if _binds_indirectly(code) or (fstrings and _binds_indirectly(" ".join(fstrings))):
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
        if _depth(code, pos, start):  # ``revision: f(x = 'a'\n) = 'b'`` binds 'b'
            raise Uncertain(f"{key}'s annotation leaves a bracket open")
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


_FSTRING_START = _lazy('_FSTRING_START', r"(?:[fF][rR]?|[rR][fF])['\"]")


def _has_fstring(text: str, start: int = 0, end: int | None = None) -> bool:
    """An f-string prefix (not the end of a longer name) in ``text[start:end]``."""
    for m in _FSTRING_START.finditer(text, start, len(text) if end is None else end):
        if not _is_word_char(text, m.start() - 1):
            return True
    return False


# ------------------------------------------------------------------ the certain reader, for many files at once
#
# ``certain_headers`` gives what ``certain_header`` gives for each file, but reads the usual file (Alembic's
# template: a docstring, then the four names on consecutive lines, each a plain quoted word or None) with a
# few passes in C over all the files' text joined, and hands every other file to ``certain_header``.
# Joined with a NUL between them (compile() refuses a NUL, and no string or comment below spans one), the
# files are scanned exactly as one by one.

_SEP = "\0\n"  # the newline: each file's first line is a line start in the joined text, as in the file
# strings and comments as ``_NOT_CODE`` finds them (a comment stops at a NUL; only a string left open, in a file
# that does not compile, can run over one: then the code has a NUL too few), grouped by their first character
# (so that the regex engine skips code as quickly as for ``_NOT_CODE``): a plain quoted word (groups 1 and 3,
# kept in the code: the header values), any other string (groups 2 and 4, empty: kept as '' so that nothing
# joins across it) or a comment (dropped)
_SPLIT = _lazy('_SPLIT', 
    r"'(?:([\w.]+)'|(?:''[^'\\]*(?:(?:\\[\s\S]|'(?!''))[^'\\]*)*'''|[^'\\\n]*(?:\\[\s\S][^'\\\n]*)*')())"
    r'|"(?:([\w.]+)"|(?:""[^"\\]*(?:(?:\\[\s\S]|"(?!""))[^"\\]*)*"""|[^"\\\n]*(?:\\[\s\S][^"\\\n]*)*")())'
    r"|\#[^\n\0]*"
)
# one header line of the usual file in that code: the name at a line start, an annotation whose brackets close
# (square ones, two deep: ``Union[str, Sequence[str], None]``), a plain value, the line's end
_OUTSIDE = r"[^=\n()\[\]{}]*"  # unrolled loops below: linear even where a line does not match
_ANNOTATION = rf"(?::{_OUTSIDE}(?:\[{_OUTSIDE}(?:\[{_OUTSIDE}\]{_OUTSIDE})*\]{_OUTSIDE})*)?"
_USUAL_LINE = rf"\n(revision|down_revision|branch_labels|depends_on)[ \t]*{_ANNOTATION}=[ \t]*" \
              r"(?:'([\w.]+)'|\"([\w.]+)\"|(None))[ \t]*(?=\n)"
_USUAL_VALUES = _lazy('_USUAL_VALUES', r"\n(\w+)[^=\n]*=[ \t]*(?:'([\w.]+)'|\"([\w.]+)\"|(None))")  # of a block's lines
_USUAL_BLOCK = _lazy('_USUAL_BLOCK', rf"{_USUAL_LINE}(?:{_USUAL_LINE})*".replace("(revision", "(?:revision")
                          .replace("'([", "'(?:[").replace('"([', '"(?:[').replace("(None)", "(?:None)"))
_BRACKETS = _lazy('_BRACKETS', r"[()\[\]{}]")
_STAR_FIND = _lazy('_STAR_FIND', r"import[\s\\]*\*")  # ``_STAR_IMPORT`` with its word boundary checked by hand
# the usual docstring: first in the file (after blank lines and comments), triple-quoted, no prefix, no
# backslash, alone on its line
_USUAL_DOC = _lazy('_USUAL_DOC', 
    r'(?:[ \t\f]*(?:\#[^\n]*)?\n)*(?:"""([^"\\]*(?:"(?!"")[^"\\]*)*)"""|\'\'\'([^\'\\]*(?:\'(?!\'\')[^\'\\]*)*)\'\'\')'
    r"[ \t]*(?:\#[^\n]*)?\n"
)


def certain_headers(texts: list[str]) -> list[dict[str, Any]]:
    """``[certain_header(text) for text in texts]``, for texts that compile; ``Uncertain`` if any is in doubt."""
    if not texts:
        return []
    joined = _SEP + _SEP.join(texts)
    if joined.count("\0") != len(texts):
        raise Uncertain("a NUL character")  # compile() refuses it
    if ":=" in joined:
        raise Uncertain("an assignment expression")
    if sys.version_info >= (3, 12) and _has_fstring(joined):
        raise Uncertain("an f-string (Python 3.12 lets it nest its own quotes)")
    starts = list(accumulate(map((len(_SEP)).__add__, map(len, texts)), initial=len(_SEP)))  # each file's
    slow = set()  # the files ``certain_header`` reads
    for word in _INDIRECT_WORDS:  # as ``_binds_indirectly``, in the whole text (f-strings' fields are code)
        longer = _INSIDE_LONGER.get(word)
        if longer and joined.count(word) == joined.count(longer):
            continue  # only at the start of the longer word: not the word
        at = joined.find(word)
        while at != -1:
            if _is_word_char(joined, at - 1) or _is_word_char(joined, at + len(word)):
                at = joined.find(word, at + 1)
                continue
            index = bisect_right(starts, at) - 1
            slow.add(index)
            at = joined.find(word, starts[index + 1]) if index + 1 < len(texts) else -1
    if "*" in joined:
        for star in _STAR_FIND.finditer(joined):
            if not _is_word_char(joined, star.start() - 1):
                slow.add(bisect_right(starts, star.start()) - 1)
    pieces = _SPLIT.split(joined)  # code, then each match's four groups, code, ...
    for group in (1, 3):
        pieces[group::5] = ["'" + word + "'" if word else "" for word in pieces[group::5]]
    for group in (2, 4):
        pieces[group::5] = ["''" if other is not None else "" for other in pieces[group::5]]
    code = "".join(pieces)
    codes = code.split("\0")[1:]
    if len(codes) != len(texts):
        raise Uncertain("a string left open")  # so the file does not compile
    found = [None if index in slow else _usual_header(text, one) for index, (text, one) in enumerate(zip(texts, codes))]
    # each header name is used only on the lines read: counted over all files at once (no file has fewer uses
    # than lines), and file by file only when that count differs
    lines = sum(usual[1] for usual in found if usual is not None)
    if lines != _uses(code) - sum(_uses(one) for one, usual in zip(codes, found) if usual is None):
        found = [usual if usual is None or usual[1] == _uses(one) else None for usual, one in zip(found, codes)]
    return [certain_header(text) if usual is None else usual[0] for text, usual in zip(texts, found)]


def _uses(code: str) -> int:
    """How often the header names appear in ``code`` (``down_revision`` holds ``revision``)."""
    return code.count("revision") + code.count("branch_labels") + code.count("depends_on")


def _usual_header(text: str, code: str) -> tuple[dict[str, Any], int] | None:
    """The header of a usual file (see above) and how many lines it was read from (the caller checks that the
    names appear nowhere else), or None: then ``certain_header`` decides."""
    block = _USUAL_BLOCK.search(code)
    if block is None:
        return None
    start = block.start()
    if (start and code[start - 1] == "\\") or (_BRACKETS.search(code, 0, start) and _depth(code, 0, start)):
        return None  # a continued line, or inside brackets
    values: dict[str, Any] = {}
    for key, single, double, none in _USUAL_VALUES.findall(code, start, block.end()):
        if key in values:
            return None
        values[key] = single or double or None
    if not values.get("revision") or "down_revision" not in values:
        return None
    end = text.find('"""', 3) if text.startswith('"""') else -1  # the template's docstring, found without a regex
    if end != -1 and text.startswith("\n", end + 3) and "\\" not in text[3:end]:
        body = text[3:end]  # as _USUAL_DOC reads it
    else:
        doc = _USUAL_DOC.match(text)
        if doc is None:
            return None
        body = doc.group(1)
        if body is None:
            body = doc.group(2)
    if sys.version_info >= (3, 13) and re.search(r"\n[ \t]", body):
        return None
    longdoc = body.strip()
    return {
        "revision": values["revision"],
        "down_revision": values["down_revision"],
        "branch_labels": values.get("branch_labels"),
        "depends_on": values.get("depends_on"),
        "longdoc": longdoc,
        "create_date": create_date(longdoc),
    }, len(values)
