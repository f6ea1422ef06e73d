"""The databases a fleet runs over, and how each is reached.

A target is written as a database URL, optionally followed by
``#schema=NAME`` for one PostgreSQL schema of that database (schema per
tenant: the run sees only that schema, so its version table, ledger and
tables all live there).  A SQLite URL may hold a glob (``sqlite:///t/*.db``).
A targets file (or the ``schemashift.fleet_targets`` option of alembic.ini,
used when no target is given) has one target per line, ``#`` comments, ``$VAR``/``${VAR}``
expanded from the environment, and ``[group]`` lines that start a group.
Targets are only ever shown with their password hidden.
"""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from ..config import Project, load_project, redact_url
from ..errors import ConfigError

CONFIG_OPTION = "schemashift.fleet_targets"
DEFAULT_GROUP = "default"
CANARY_GROUP = "canary"
_SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,62}$")
_GROUP_LINE = re.compile(r"^\[\s*([A-Za-z0-9_.-]+)\s*\]$")
_ENV_REF = re.compile(r"\$(\w+|\{[^}]*\})")
_GLOB_CHARS = re.compile(r"[*?\[]")


@dataclass(frozen=True)
class Target:
    """One database (or one PostgreSQL schema of a database) of the fleet."""

    url: str
    schema: str | None = None
    group: str = DEFAULT_GROUP

    @property
    def label(self) -> str:
        """How the target is shown and journaled: password hidden, schema named."""
        return redact_url(self.url) + (f"#schema={self.schema}" if self.schema else "")

    def connect_url(self) -> str:
        """The URL a run uses: for a schema, one whose search_path is only that schema."""
        if not self.schema:
            return self.url
        from sqlalchemy.engine import make_url

        url = make_url(self.url)
        options = url.query.get("options")
        if isinstance(options, tuple):
            options = " ".join(options)
        search_path = f"-csearch_path={self.schema}"
        url = url.update_query_dict({"options": f"{options} {search_path}" if options else search_path})
        return url.render_as_string(hide_password=False)

    def scrub(self, text: str) -> str:
        """``text`` with this target's password (if any) replaced by ``***``."""
        try:
            from sqlalchemy.engine import make_url

            password = make_url(self.url).password
        except Exception:
            return text
        return text.replace(str(password), "***") if password else text


@dataclass(frozen=True)
class ProjectSpec:
    """Enough to load the same project in a worker process, pointed at one target."""

    config: str | None
    section: str = "alembic"
    x_args: tuple[str, ...] = ()
    cwd: str | None = None

    @classmethod
    def of(cls, project: Project) -> "ProjectSpec":
        config = project.ini_path or project.toml_path
        x_args = tuple(getattr(project.config.cmd_opts, "x", None) or ())
        return cls(str(config) if config else None, project.config.config_ini_section, x_args, os.getcwd())

    def load(self, target: Target) -> Project:
        return load_project(self.config, url=target.connect_url(), section=self.section, x_args=self.x_args,
                            cwd=self.cwd)


def expand_env(text: str, environ: Any = None) -> str:
    """``$VAR`` and ``${VAR}`` from the environment; an unset variable is an error."""
    environ = os.environ if environ is None else environ

    def value(match: re.Match[str]) -> str:
        name = match.group(1).strip("{}")
        if name not in environ:
            raise ConfigError(f"environment variable ${name} in a fleet target is not set",
                              hint=f"export {name}=... before running, or write the value in the targets file")
        return environ[name]

    return _ENV_REF.sub(value, text)


def parse_target(text: str, group: str = DEFAULT_GROUP, *, environ: Any = None) -> list[Target]:
    """One target as written (``URL``, ``URL#schema=NAME``, a SQLite glob); globs give several."""
    text = expand_env(text.strip(), environ)
    url, _, fragment = text.partition("#")
    schema = None
    if fragment:
        key, _, value = fragment.partition("=")
        if key.strip() != "schema" or not _SCHEMA_NAME.match(value.strip()):
            raise ConfigError(f"fleet target {redact_url(url)}#{fragment}: unknown fragment",
                              hint="the only form is URL#schema=NAME, e.g. postgresql://host/app#schema=tenant_7")
        schema = value.strip()
    if "://" not in url:
        raise ConfigError(f"fleet target {url!r} is not a database URL",
                          hint="e.g. postgresql+psycopg://user@host/app, sqlite:///tenants/*.db")
    backend = url.split("://", 1)[0].split("+", 1)[0]
    if schema and backend != "postgresql":
        raise ConfigError(f"fleet target {redact_url(url)}#schema={schema}: schemas are for PostgreSQL only",
                          hint="give one URL per database instead")
    if backend == "sqlite" and _GLOB_CHARS.search(url.split("://", 1)[1]):
        prefix, _, pattern = url.partition(":///")
        files = sorted(glob.glob(pattern))
        if not files:
            raise ConfigError(f"fleet target {url}: no file matches the pattern",
                              hint="check the path (relative paths start in the current directory)")
        return [Target(f"{prefix}:///{os.path.abspath(f)}", None, group) for f in files]
    return [Target(url, schema, group)]


def read_targets_file(path: str | os.PathLike[str], *, environ: Any = None) -> list[Target]:
    """Targets from a file: one per line, ``#`` comments, ``[group]`` headers."""
    try:
        lines = Path(path).read_text().splitlines()
    except OSError as exc:
        raise ConfigError(f"cannot read targets file {path}: {exc.strerror or exc}",
                          hint="check --targets") from exc
    return parse_lines(lines, environ=environ)


def parse_lines(lines: Iterable[str], *, environ: Any = None) -> list[Target]:
    """Targets from the lines of a targets file (or the ``schemashift.fleet_targets`` option)."""
    group = DEFAULT_GROUP
    targets: list[Target] = []
    for line in lines:
        text = line.split(" #", 1)[0].strip()  # "URL  # note"; URL#schema=... has no space
        if not text or text.startswith("#"):
            continue
        header = _GROUP_LINE.match(text)
        if header:
            group = header.group(1)
            continue
        targets.extend(parse_target(text, group, environ=environ))
    return targets


def parse_targets(
    given: Iterable[str] = (),
    files: Iterable[str | os.PathLike[str]] = (),
    canaries: Iterable[str] = (),
    *,
    environ: Any = None,
) -> list[Target]:
    """Every target from ``--canary``, ``--target`` and ``--targets FILE``, canaries first, no repeats.

    Empty when none is given: the caller then falls back to the project's configuration.
    """
    found: list[Target] = []
    for text in canaries:
        found.extend(parse_target(text, CANARY_GROUP, environ=environ))
    for text in given:
        found.extend(parse_target(text, environ=environ))
    for path in files:
        found.extend(read_targets_file(path, environ=environ))
    unique: list[Target] = []
    seen: set[tuple[str, str | None]] = set()
    for target in found:
        key = (target.url, target.schema)
        if key not in seen:
            seen.add(key)
            unique.append(target)
    return unique


def ordered_groups(targets: Iterable[Target]) -> list[list[Target]]:
    """Targets by group: the canary group first, then the others in the order they first appear."""
    groups: dict[str, list[Target]] = {}
    for target in targets:
        groups.setdefault(target.group, []).append(target)
    names = sorted(groups, key=lambda name: name != CANARY_GROUP)  # stable: keeps first-seen order
    return [groups[name] for name in names]


