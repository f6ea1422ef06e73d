"""``heads`` and ``history`` answered from a cache, with no Alembic or SQLAlchemy import.

Importing Alembic imports SQLAlchemy and its whole runtime (most of a
second on a small machine), more than listing a project's revisions takes.
So the answers Alembic's own ``RevisionMap`` gave last time (the heads, and
the whole history in order) are kept beside the header index, with a
fingerprint of what they were computed from: the config file, the section,
and every revision file's size and times.  A later call re-lists the version
directories and stats every file (as the index does); when nothing changed
it prints the stored answer, otherwise the caller takes the normal path,
which computes and stores a new one.  Nothing here decides anything about
revisions: it only replays what Alembic answered.
"""

from __future__ import annotations

import configparser
import hashlib
import json
import os
import re
from dataclasses import fields
from pathlib import Path
from typing import Any, Iterable

from .display import RevisionInfo

ANSWERS_NAME = "schemashift-answers.json"
ANSWERS_VERSION = 2  # 2: each revision a list in the order of ``fields`` (quicker to write and read)
_FIELDS = [f.name for f in fields(RevisionInfo)]
_CURRENT, _APPLIED = _FIELDS.index("is_current"), _FIELDS.index("applied_at")
REV_FILE = re.compile(r"(?!\.\#|__init__)(.*\.py)$")  # the files Alembic picks as revisions


def _stamp(path: Path) -> list[int]:
    st = os.stat(path)
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def revision_files(directory: str, recursive: bool) -> Iterable[os.DirEntry[str]]:
    """The revision files under ``directory`` in Alembic's order; here, not in the index, so this
    module (and the CLI's cached answers) imports no Alembic."""
    stack = [directory]
    while stack:
        current = stack.pop(0)
        try:
            entries = sorted(os.scandir(current), key=lambda e: e.name)
        except FileNotFoundError:
            continue
        subdirs = []
        for entry in entries:
            if entry.is_dir():
                if recursive and not entry.name.endswith("__pycache__"):
                    subdirs.append(entry.path)
            elif REV_FILE.match(entry.name):
                yield entry
        stack[:0] = subdirs


def fingerprint_start(config_file: Path, section: str, dirs: list[str], recursive: bool) -> Any:
    """The fingerprint's digest before the files: the config file's stamp and where the files are."""
    digest = hashlib.sha1()
    digest.update(json.dumps([os.path.abspath(config_file), section, _stamp(config_file), dirs, recursive]).encode())
    return digest


def fingerprint_add(digest: Any, path: str, st: os.stat_result) -> None:
    """One revision file's stamp, in listing order."""
    digest.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ctime_ns}\n".encode())


def fingerprint_add_all(digest: Any, paths: list[str], stats: list[os.stat_result]) -> None:
    """``fingerprint_add`` of each file in turn, in one update (the same digest)."""
    digest.update("".join([f"{path}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ctime_ns}\n"
                           for path, st in zip(paths, stats)]).encode())


def fingerprint(config_file: Path, section: str, dirs: list[str], recursive: bool) -> str:
    """What the answers depend on: the config and every revision file's stamp."""
    digest = fingerprint_start(config_file, section, dirs, recursive)
    for directory in dirs:
        for entry in revision_files(directory, recursive):
            fingerprint_add(digest, entry.path, entry.stat())
    return digest.hexdigest()


def read_section(ini: Path, section: str) -> dict[str, str] | None:
    """The options of ``section`` in ``ini`` as Alembic's Config reads them (``%(here)s`` and all), or None."""
    parser = configparser.ConfigParser(defaults={"here": ini.absolute().parent.as_posix()})
    try:
        parser.read(ini, encoding="utf-8")
        if not parser.has_section(section):
            return None
        return dict(parser.items(section))
    except (configparser.Error, OSError, UnicodeDecodeError):
        return None


def script_location(ini: Path, section: str, options: dict[str, str] | None = None) -> Path | None:
    """``script_location`` read with the standard library, or None if that is not enough.

    A package-resource location (``pkg:dir``) or anything unreadable sends the
    caller to Alembic's own Config.
    """
    options = read_section(ini, section) if options is None else options
    value = (options or {}).get("script_location")
    if not value or (":" in value and not re.match(r"^[A-Za-z]:[\\/]", value)):
        return None
    return Path(value).absolute()


class Answers:
    """The stored answers of one project's script directory."""

    def __init__(self, script_dir: Path, config_file: Path, section: str) -> None:
        self.path = Path(script_dir) / "__pycache__" / ANSWERS_NAME
        self.config_file = config_file
        self.section = section

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return data if data.get("version") == ANSWERS_VERSION else {}

    def lookup(self, name: str) -> list[RevisionInfo] | None:
        """The stored answer ``name`` ("heads" or "history"), if nothing changed since."""
        data = self._load()
        stored = data.get("answers", {}).get(name)
        if stored is None:
            return None
        try:
            now = fingerprint(self.config_file, self.section, data["dirs"], data["recursive"])
        except (OSError, KeyError):
            return None
        if now != data.get("fingerprint"):
            return None
        if data.get("fields") != _FIELDS:
            return None  # stored by another layout of RevisionInfo: compute anew
        rows = ([tuple(v) if type(v) is list else v for v in row] for row in stored)  # noqa: E721
        return [RevisionInfo.from_row(row) for row in rows]

    def store(self, name: str, infos: list[RevisionInfo], dirs: list[str], recursive: bool, before: str) -> None:
        """Keep ``infos`` as the answer ``name``, if the files did not change while it was computed.

        ``before``: the fingerprint taken before the answer was computed.
        """
        self.store_many({name: infos}, dirs, recursive, before)

    def store_rows(self, rows: dict[str, list[list[Any]]], dirs: list[str], recursive: bool, before: str) -> None:
        """Keep answers given as rows (each ``RevisionInfo``'s fields in order, no database marks).

        ``before`` was taken file by file just before each file was read (``revisions.fresh``), so a file
        changed since has another stamp already and the answers will simply not match it.
        """
        try:
            data = self._load()
            if data.get("fingerprint") != before or data.get("fields") != _FIELDS:
                data = {"version": ANSWERS_VERSION, "fingerprint": before, "dirs": dirs, "recursive": recursive,
                        "fields": _FIELDS, "answers": {}}
            data.setdefault("answers", {}).update(rows)
            self._write(data)
        except OSError:
            pass  # a read-only project simply answers the slow way

    def _write(self, data: dict[str, Any]) -> None:
        self.path.parent.mkdir(exist_ok=True)
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, separators=(",", ":"), check_circular=False))
        os.replace(tmp, self.path)

    def store_many(self, answers: dict[str, list[RevisionInfo]], dirs: list[str], recursive: bool,
                   before: str, *, recheck: bool = True) -> None:
        """Keep each of ``answers`` (by name), if the files did not change while they were computed.

        ``recheck=False``: ``before`` was taken file by file just before each
        file was read, so a file changed since has another stamp already and
        the answers will simply not match it; no second look is needed.
        """
        try:
            if recheck and fingerprint(self.config_file, self.section, dirs, recursive) != before:
                return
            data = self._load()
            anew = data.get("fingerprint") != before or data.get("fields") != _FIELDS
            if anew:
                data = {"version": ANSWERS_VERSION, "fingerprint": before, "dirs": dirs, "recursive": recursive}
            kept = data.setdefault("answers", {})
            data["fields"] = _FIELDS
            changed = False
            for name, infos in answers.items():
                rows = [[getattr(info, n) for n in _FIELDS] for info in infos]  # flat: asdict's deep copy is slow
                for row in rows:  # as a plain answer: no database marks
                    row[_CURRENT] = False
                    row[_APPLIED] = None
                if anew:
                    kept[name] = rows
                    changed = True
                    continue
                answer = json.loads(json.dumps(rows))  # tuples as the lists JSON gives back, to compare
                if kept.get(name) != answer:
                    kept[name] = answer
                    changed = True
            if not changed:
                return  # kept already: no rewrite
            self._write(data)
        except OSError:
            pass  # a read-only project simply answers the slow way
