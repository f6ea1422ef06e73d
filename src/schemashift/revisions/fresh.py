"""``heads`` and ``history`` on a cold cache, worked out from the files' text without Alembic.

When no stored answer fits (a fresh checkout, an added or edited file),
``quick`` asks here before taking the normal path, which imports Alembic
and SQLAlchemy (most of a second) and every revision file.  Here each file
is read as text (``headers.certain_headers``), shown to compile
(``syntax``: its ``.pyc``, or ``compile()``, never an import), and the graph
is worked out by Alembic's rules (``lineage``); the answer asked for is then
stored as the normal path stores it (``answers.Answers``), so the next call
replays it.  Over 5,000 files every step counts: the files are read, decoded
and fingerprinted together, and the answers kept as rows until one is printed.

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
import stat
from pathlib import Path
from typing import Any

from .answers import (
    REV_FILE,
    Answers,
    fingerprint_add_all,
    fingerprint_start,
    read_section,
    revision_files,
    script_location,
)
from .display import RevisionInfo
from .headers import Uncertain, certain_headers, decode_sources
from .lineage import Lineage
from .syntax import compiled_before_all, compiles

# options that change which files Alembic reads, or how; only their plain absence (or a plain
# true/false) is read here
_UNREAD_OPTIONS = ("version_locations", "sourceless")
# a symlink is refused (os.open fails), never followed; a FIFO does not block the open (then refused: not regular)
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)


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


def _listed(directory: str, recursive: bool) -> list[str]:
    """The revision files' paths, as ``revision_files`` lists them (without a DirEntry each, when not recursive)."""
    if recursive or not hasattr(os, "O_NOFOLLOW"):
        paths = []
        for entry in revision_files(directory, recursive):
            if entry.is_symlink():
                raise Uncertain("a symlinked revision file")
            paths.append(entry.path)
        return paths
    try:
        names = sorted(os.listdir(directory))
    except FileNotFoundError:
        return []
    match = REV_FILE.match
    return [f"{directory}{os.sep}{name}" for name in names if match(name)]  # a directory among them: see _read_all


def _read_all(paths: list[str]) -> tuple[list[os.stat_result], list[bytes]]:
    """Each file's stat and bytes (os.read: a tenth of open()'s cost, which counts over 5,000 files).

    Only a regular file, not through a symlink (as the index reads them), else ``Uncertain``.
    """
    stats, datas = [], []
    open_, fstat, read, close, flags, regular = os.open, os.fstat, os.read, os.close, _OPEN_FLAGS, stat.S_ISREG
    for path in paths:
        try:
            fd = open_(path, flags)
        except OSError as exc:
            if os.path.islink(path):
                raise Uncertain("a symlinked revision file") from exc
            raise
        try:
            st = fstat(fd)
            if not regular(st.st_mode):
                raise Uncertain(f"{path} is not a regular file")
            data = read(fd, st.st_size + 1)
            if len(data) > st.st_size:  # it grew since its stat (a short read of a regular file is its end)
                chunks = [data]
                while chunk := read(fd, 65536):
                    chunks.append(chunk)
                data = b"".join(chunks)
        finally:
            close(fd)
        stats.append(st)
        datas.append(data)
    return stats, datas


def read_headers(dirs: list[str], recursive: bool, digest: Any) -> list[dict[str, Any]]:
    """Every revision file's header, in the order the index (and Alembic) lists the files.

    Each file's stamp goes into ``digest`` (the answers' fingerprint), taken before the file is read.
    """
    paths = [path for directory in dirs for path in _listed(directory, recursive)]
    stats, datas = _read_all(paths)
    fingerprint_add_all(digest, paths, stats)
    texts = decode_sources(datas)
    headers = certain_headers(texts)
    for path, st, text, proven in zip(paths, stats, texts, compiled_before_all(paths, stats)):
        if not proven and not compiles(path, text, st, pyc_checked=True):
            raise Uncertain(f"{path} does not compile")
    for header, path in zip(headers, paths):
        header["path"] = path
    return headers


def compute_rows(ini: Path, section: str, wanted: tuple[str, ...] = ("heads", "history"),
                 ) -> tuple[dict[str, list[list[Any]]], Path, list[str], bool, str]:
    """The ``wanted`` answers (``heads``, ``history``) as rows (``RevisionInfo``'s fields in order), and what
    storing them needs; ``Uncertain`` when in doubt."""
    location, dirs, recursive = layout(ini, section)
    digest = fingerprint_start(ini, section, dirs, recursive)
    lineage = Lineage(read_headers(dirs, recursive, digest))
    rows = {name: lineage.heads_rows() if name == "heads" else lineage.history_rows() for name in wanted}
    return rows, location, dirs, recursive, digest.hexdigest()


def compute(ini: Path, section: str) -> tuple[dict[str, list[RevisionInfo]], Path, list[str], bool, str]:
    """The answers ``heads`` and ``history``, and what storing them needs; ``Uncertain`` when in doubt."""
    rows, *rest = compute_rows(ini, section)
    return {name: [RevisionInfo.from_row(row) for row in answer] for name, answer in rows.items()}, *rest


def fresh_answers(ini: Path, section: str, wanted: tuple[str, ...] = ("heads", "history"),
                  ) -> dict[str, list[RevisionInfo]] | None:
    """The ``wanted`` answers from the files' text, stored for next time; None when in any doubt.

    Only what is asked is worked out (the other answer is then worked out when asked: ``heads`` of 5,000
    revisions needs no history walk).
    """
    try:
        rows, location, dirs, recursive, before = compute_rows(ini, section, wanted)
    except (Uncertain, OSError):
        return None
    Answers(location, ini, section).store_rows(rows, dirs, recursive, before)
    return {name: [RevisionInfo.from_row(row) for row in rows[name]] for name in wanted}
