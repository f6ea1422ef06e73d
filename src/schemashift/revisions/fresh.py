"""``heads`` and ``history`` on a cold cache, worked out from the files' text without Alembic.

When no stored answer fits (a fresh checkout, an added or edited file),
``quick`` asks here before taking the normal path, which imports Alembic
and SQLAlchemy (most of a second) and every revision file.  Here each file
is read as text (``headers.certain_header``), shown to compile
(``syntax.compiles``: its ``.pyc``, or ``compile()``, never an import), and
the graph is worked out by Alembic's rules (``lineage``); the answers are
then stored as the normal path stores them (``answers.Answers``), so the
next call replays them.

Anything in doubt (a config this does not read, a file whose header is not
plain literals, a file that does not compile, a graph Alembic would refuse)
returns None, and the command takes the normal path, which answers or
reports the problem as before.  What this cannot see, as the normal path's
header index cannot either: a file that compiles but fails when imported
(an ImportError, say); ``alembic heads`` stops there, schemashift's
``heads`` does not (``upgrade`` and ``check`` import every file and report it).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .answers import Answers, fingerprint_add, fingerprint_start, read_section, revision_files, script_location
from .display import RevisionInfo
from .headers import Uncertain, certain_header, decode_source
from .lineage import Lineage
from .syntax import compiles

# options that change which files Alembic reads, or how; only their plain absence (or a plain
# true/false) is read here
_UNREAD_OPTIONS = ("version_locations", "sourceless")


def layout(ini: Path, section: str) -> tuple[Path, list[str], bool]:
    """The script directory, its version directories (real paths) and whether they are walked recursively."""
    options = read_section(ini, section)
    if options is None:
        raise Uncertain("the config section cannot be read here")
    location = script_location(ini, section, options)
    if location is None:
        raise Uncertain("a script_location this does not read")
    for name in _UNREAD_OPTIONS:
        if name in options and not (name == "sourceless" and options[name] == "false"):
            raise Uncertain(f"{name} is set")
    recursive = options.get("recursive_version_locations", "false")
    if recursive not in ("true", "false"):
        raise Uncertain("recursive_version_locations is neither true nor false")
    versions = location / "versions"
    if not location.is_dir() or not versions.is_dir():
        raise Uncertain("no versions directory")
    return location, [os.path.realpath(versions)], recursive == "true"


def _read(path: str, size: int) -> bytes:
    """The file's bytes (os.read: a tenth of open()'s cost, which counts over 5,000 files)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        data = os.read(fd, size + 1)
        if len(data) <= size:  # a short read of a regular file: its end
            return data
        chunks = [data]
        while chunk := os.read(fd, 65536):  # it grew since its stat
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_headers(dirs: list[str], recursive: bool, digest: Any) -> list[dict[str, Any]]:
    """Every revision file's header, in the order the index (and Alembic) lists the files.

    Each file's stamp goes into ``digest`` (the answers' fingerprint) before the file is read.
    """
    headers = []
    for directory in dirs:
        for entry in revision_files(directory, recursive):
            if entry.is_symlink():
                raise Uncertain("a symlinked revision file")
            st = entry.stat()
            fingerprint_add(digest, entry.path, st)
            text = decode_source(_read(entry.path, st.st_size))
            header = certain_header(text)
            if not compiles(entry.path, text, st):
                raise Uncertain(f"{entry.path} does not compile")
            header["path"] = entry.path
            headers.append(header)
    return headers


def compute(ini: Path, section: str) -> tuple[dict[str, list[RevisionInfo]], Path, list[str], bool, str]:
    """The answers ``heads`` and ``history``, and what storing them needs; ``Uncertain`` when in doubt."""
    location, dirs, recursive = layout(ini, section)
    digest = fingerprint_start(ini, section, dirs, recursive)
    lineage = Lineage(read_headers(dirs, recursive, digest))
    answers = {"heads": lineage.heads_answer(), "history": lineage.history_answer()}
    return answers, location, dirs, recursive, digest.hexdigest()


def fresh_answers(ini: Path, section: str) -> dict[str, list[RevisionInfo]] | None:
    """``heads`` and ``history`` from the files' text, stored for next time; None when in any doubt."""
    try:
        answers, location, dirs, recursive, before = compute(ini, section)
    except (Uncertain, OSError):
        return None
    Answers(location, ini, section).store_many(answers, dirs, recursive, before, recheck=False)
    return answers
