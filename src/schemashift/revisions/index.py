"""A cached index of revision headers, so read-only commands need not import every file.

Alembic executes every revision file to learn ``revision``/``down_revision``
on each ``current``, ``heads`` or ``history``.  Those four names are almost
always literals, so we read them from the source text instead, cache them
keyed by each file's (size, mtime, ctime), and build Alembic's own
``RevisionMap`` from them.  Every call re-lists the version directories and
stats each file, so added, edited and removed files are always seen; only
changed files are read again.  Anything we cannot read as a literal is
imported the way Alembic would, so the index never disagrees with Alembic.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from alembic.script import Script, ScriptDirectory
from alembic.script.revision import Revision, RevisionMap

from ..errors import RevisionError, RevisionFileError
from .answers import revision_files
from .checksum import file_checksum
from .headers import RevisionHeader, first_paragraph, parse_header
from .syntax import compiled_before

CACHE_NAME = "schemashift-revisions.json"
CACHE_VERSION = 4


class IndexedRevision(Revision):
    """An Alembic ``Revision`` that also knows its file and docstring."""

    def __init__(self, header: dict[str, Any]) -> None:
        super().__init__(
            header["revision"],
            _tuple_or_scalar(header["down_revision"]),
            dependencies=_tuple_or_scalar(header["depends_on"]),
            branch_labels=header["branch_labels"],
        )
        self.path = header["path"]
        self.longdoc = header["longdoc"]
        self.doc = first_paragraph(self.longdoc)
        self.create_date = header["create_date"]


def script_doc(script: Any) -> str:
    """Alembic's ``Script.doc`` (the docstring up to its first blank line) without the regex split it
    makes on every call (``first_paragraph`` gives that split's answer); anything else: its ``doc``."""
    if type(script) is not Script:
        return script.doc or ""
    return first_paragraph(script.longdoc)


def _tuple_or_scalar(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(value)
    return value


def import_header(path: Path) -> RevisionHeader | None:
    """Run the file the way Alembic would, for headers that are not literals."""
    import runpy  # start-up time: only a file whose header is not a literal needs it

    try:
        module = runpy.run_path(str(path), run_name=f"schemashift_rev_{path.stem}")
    except Exception as exc:  # report which file, not a traceback
        raise RevisionFileError(
            str(path), f"{type(exc).__name__}: {exc}", hint="fix or remove the file"
        ) from exc
    if "revision" not in module:
        return None
    return RevisionHeader.from_names(module, path, (module.get("__doc__") or "").strip())


# What this process already read, so the several scans of one command (the target check, the plan's
# marks, the run's checksums) read each file once: the cache file as last loaded or saved (by its stat),
# and headers not cached because their syntax was not yet proven (by the file's stat; proven later,
# without reading, once Python compiled the file).
_LOADED: dict[str, tuple[tuple[int, int, int], dict[str, Any]]] = {}
_UNPROVEN_READ: dict[str, tuple[list[int], dict[str, Any] | None]] = {}

# Inside ``one_scan()`` (per thread: a library may migrate several databases at once): each script
# directory's first complete scan, (headers, every file's syntax proven).
_SCOPE = threading.local()


@contextlib.contextmanager
def one_scan() -> Iterator[None]:
    """While a command runs, the index lists and stats its version directories once.

    A migration command asks the index three times (the target check, the
    plan's suppressions, the run's checksums), a few milliseconds apart; each
    scan stats every file, which on a long history costs as much as the run's
    own bookkeeping.  Inside this scope they share the first scan that proved
    every file's syntax (one that left a file unproven is reused only by
    callers that do not ask for proof), so a command sees the files as they
    were when it started.  Only for commands that write no revision file;
    nested scopes share the outermost.
    """
    if getattr(_SCOPE, "scans", None) is not None:
        yield
        return
    _SCOPE.scans = {}
    try:
        yield
    finally:
        _SCOPE.scans = None


def _cache_stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def version_directories(script: ScriptDirectory) -> list[Path]:
    """The directories Alembic loads revisions from, for this script directory."""
    if script.version_locations:
        dirs = [Path(p) for p in script.version_locations]
    else:
        dirs = [Path(script.versions)]
    return [d for d in dirs if d.exists()]


class RevisionIndex:
    """Revision headers of one script directory, cached between calls."""

    def __init__(self, script: ScriptDirectory, *, use_cache: bool = True, check_syntax: bool = True) -> None:
        self.script = script
        self.use_cache = use_cache
        # False: a command that imports every file next (upgrade) leaves the syntax to that import; a file
        # whose syntax was not proven is not cached, and is read again (cheaply, from its .pyc) next time
        self.check_syntax = check_syntax
        self._unproven: set[str] = set()
        self.cache_path = Path(script.dir) / "__pycache__" / CACHE_NAME
        self.files_read = 0  # how many files this scan had to read (for tests/bench)

    def _load_cache(self) -> dict[str, Any]:
        if not self.use_cache:
            return {}
        stamp = _cache_stamp(self.cache_path)
        known = _LOADED.get(str(self.cache_path))
        if stamp is not None and known is not None and known[0] == stamp:
            return known[1]
        try:
            data = json.loads(self.cache_path.read_text())
        except (OSError, ValueError):
            return {}
        if data.get("version") != CACHE_VERSION:
            return {}
        files = data.get("files", {})
        if stamp is not None:
            _LOADED[str(self.cache_path)] = (stamp, files)
        return files

    def _save_cache(self, files: dict[str, Any]) -> None:
        if not self.use_cache:
            return
        try:
            self.cache_path.parent.mkdir(exist_ok=True)
            tmp = self.cache_path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"version": CACHE_VERSION, "files": files}))
            os.replace(tmp, self.cache_path)
        except OSError:
            return  # a read-only project simply runs uncached
        stamp = _cache_stamp(self.cache_path)
        if stamp is not None:
            _LOADED[str(self.cache_path)] = (stamp, files)

    def headers(self) -> list[dict[str, Any]]:
        """Every revision header (as a dict), from the cache where the file is unchanged
        (inside ``one_scan()``, from this command's earlier scan)."""
        script = self.script
        scope = (str(self.cache_path), tuple(script.version_locations or ()), script.recursive_version_locations)
        scans: dict[tuple[Any, ...], tuple[list[dict[str, Any]], bool]] | None = (
            getattr(_SCOPE, "scans", None) if self.use_cache else None
        )
        scanned = scans.get(scope) if scans is not None else None
        if scanned is not None and (scanned[1] or not self.check_syntax):
            return list(scanned[0])
        headers, proven = self._scan()
        if scans is not None:
            scans[scope] = (headers, proven)
        return list(headers)

    def _scan(self) -> tuple[list[dict[str, Any]], bool]:
        """(the headers, whether every file's syntax was proven)"""
        cached = self._load_cache()
        fresh: dict[str, Any] = {}
        headers: list[dict[str, Any]] = []
        changed = False
        proven = True
        recursive = bool(self.script.recursive_version_locations)
        for directory in version_directories(self.script):
            real_dir = os.path.realpath(directory)
            for entry in revision_files(str(real_dir), recursive):
                key = entry.path
                if key in fresh:  # the same folder listed twice in version_locations
                    continue
                st = entry.stat()
                stamp = [st.st_size, st.st_mtime_ns, st.st_ctime_ns]
                hit = cached.get(key)
                earlier = _UNPROVEN_READ.get(key)
                if hit is not None and hit[0] == stamp:
                    header = hit[1]
                elif earlier is not None and earlier[0] == stamp and (
                    not self.check_syntax or compiled_before(key, st)
                ):
                    header = earlier[1]  # read by this process already; proven now if Python compiled it since
                    if self.check_syntax:
                        del _UNPROVEN_READ[key]
                        changed = True
                    else:
                        self._unproven.add(key)
                else:
                    self.files_read += 1
                    changed = True
                    parsed = self._read(key, self.check_syntax, self._unproven, st)
                    header = header_dict(parsed) if parsed else None
                    if key in self._unproven:
                        _UNPROVEN_READ[key] = (stamp, header)
                if key in self._unproven:
                    self._unproven.discard(key)
                    proven = False
                else:
                    fresh[key] = [stamp, header]
                if header is not None:
                    headers.append(header)
        if changed or len(fresh) != len(cached):
            self._save_cache(fresh)
        return headers, proven

    def checksums(self) -> dict[str, str]:
        """Each revision file's checksum by its real path, hashed only when the file changed.

        A file's entry is keyed by its size, mtime and ctime (ctime moves on
        every write and cannot be set back), so an edited file is always
        read and hashed again.
        """
        return {h["path"]: h["checksum"] for h in self.headers() if h.get("checksum")}

    def marks(self) -> dict[str, str]:
        """Each revision file's lines that speak to schemashift, by its real path (read only when it changed)."""
        return {h["path"]: h.get("marks", "") for h in self.headers()}

    @staticmethod
    def _read(
        path: str, check_syntax: bool = True, unproven: set[str] | None = None, st: os.stat_result | None = None
    ) -> RevisionHeader | None:
        """``st``: the file's stat, when the caller has it (the directory scan)."""
        try:
            data = _file_bytes(path, st.st_size if st is not None else 8192)
            text = data.decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise RevisionFileError(str(path), str(exc)) from exc
        text = text.replace("\r\n", "\n").replace("\r", "\n")  # as read_text() read it (universal newlines)
        header = parse_header(path, text)
        if header is None:
            header = import_header(Path(path))
        elif not compiled_before(path, st):
            if not check_syntax and unproven is not None:
                unproven.add(str(path))
                return _with_file_facts(header, data, text)
            try:
                compile(text, str(path), "exec", dont_inherit=True)
            except SyntaxError as exc:
                raise RevisionFileError(
                    str(path), f"SyntaxError: {exc.msg} (line {exc.lineno})", hint="fix the file"
                ) from exc
        return _with_file_facts(header, data, text)

    def revision_map(self) -> RevisionMap:
        """Alembic's ``RevisionMap`` built from the indexed headers.

        Two files with one revision id are refused, naming both: Alembic would
        warn and keep one of them, whichever it read last.
        """
        headers = self.headers()
        _refuse_duplicates(headers)
        revisions = [IndexedRevision(h) for h in headers]
        return RevisionMap(lambda: revisions)

    def check_unique(self) -> None:
        """Refuse two files with one revision id, without building a revision map (``revision_map``)."""
        _refuse_duplicates(self.headers())


def _refuse_duplicates(headers: list[dict[str, Any]]) -> None:
    seen: dict[str, str] = {}
    for header in headers:
        rev, path = header["revision"], header["path"]
        if rev in seen:
            first, second = sorted((seen[rev], path))
            raise DuplicateRevisionError(rev, first, second)
        seen[rev] = path


def _file_bytes(path: str, size: int) -> bytes:
    """The whole file, through ``os.open``/``os.read``: Python's buffered ``open()`` also asks the
    kernel for an fstat, an ioctl and an lseek, three calls more per file on a long history's first
    scan.  Read until the kernel says end of file, so a file that grew since its stat is read whole."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        parts = [os.read(fd, size + 1)]
        while parts[-1]:
            parts.append(os.read(fd, max(size, 65536)))
    finally:
        os.close(fd)
    return b"".join(parts) if len(parts) > 2 else parts[0]


_PLAIN = (str, int, float, bool, type(None))


def _copied(value: Any) -> Any:
    """``value`` as ``dataclasses.asdict`` copies it: containers rebuilt, plain literals shared, the rest deep-copied."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind in (list, tuple, set, frozenset):
        return kind(_copied(v) for v in value)
    if kind is dict:
        return {_copied(k): _copied(v) for k, v in value.items()}
    import copy

    return copy.deepcopy(value)


def header_dict(header: RevisionHeader) -> dict[str, Any]:
    """``dataclasses.asdict(header)`` without its generic walk (a tenth of a cold read of a long history)."""
    return {name: _copied(value) for name, value in vars(header).items()}


def _with_file_facts(header: RevisionHeader | None, data: bytes, text: str) -> RevisionHeader | None:
    """What the run and the plan need from the file, kept with its header: checksum, schemashift lines."""
    if header is not None:
        header.checksum = file_checksum(data)
        if "schemashift:" in text:
            header.marks = "\n".join(line for line in text.splitlines() if "schemashift:" in line)
    return header


class DuplicateRevisionError(RevisionError):
    """Two revision files declare the same revision id."""

    def __init__(self, revision: str, first: str, second: str) -> None:
        super().__init__(
            f"revision id {revision} is declared by two files: {first} and {second}",
            hint="give one of them a new id (its revision = '...' line, and the down_revision of revisions "
            "built on it), or delete the one you do not need",
        )
        self.revision = revision
        self.paths = (first, second)
