"""Finding a project and building the Alembic ``Config`` for it.

schemashift reads the same files Alembic reads (``alembic.ini`` and/or
``pyproject.toml`` with ``[tool.alembic]``), so a project made by
``alembic init`` works unchanged.  The database URL can be overridden by
``--url`` or the ``SCHEMASHIFT_URL`` environment variable; it is only ever
shown with its password hidden.
"""

from __future__ import annotations

import configparser
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from .errors import ConfigError
from .redact import redact_url, remember

__all__ = ["Project", "load_project", "redact_url"]

if TYPE_CHECKING:  # imported when a project is loaded: finding the files needs no Alembic
    from alembic.config import Config

URL_ENV = "SCHEMASHIFT_URL"
CONFIG_ENV = "ALEMBIC_CONFIG"
METADATA_OPTION = "schemashift.metadata"


@dataclass
class Project:
    """A located migration project: its Alembic config and where it lives."""

    config: Config
    root: Path
    ini_path: Path | None
    toml_path: Path | None
    url_source: str = "config"
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str | None:
        try:
            return self.config.get_main_option("sqlalchemy.url") or None
        except configparser.Error:
            return None

    @property
    def script_location(self) -> Path:
        loc = self.config.get_alembic_option("script_location")
        if not loc:
            raise ConfigError(
                f"no script_location in {self.describe()}",
                hint="add 'script_location = migrations' under [alembic]",
            )
        # Alembic resolves a relative script_location against the working
        # directory; so do we, so both tools agree on which project runs.
        path = Path(str(loc)).absolute()
        if ":" in str(loc) and not path.exists():  # a package resource, e.g. mypkg:migrations
            from alembic.script import ScriptDirectory
            from alembic.util import CommandError

            try:
                return Path(ScriptDirectory.from_config(self.config).dir)
            except (CommandError, ImportError, ValueError):
                return path
        return path

    def describe(self) -> str:
        return str(self.ini_path or self.toml_path or self.root)


def _has_tool_alembic(pyproject: Path) -> bool:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    try:
        with open(pyproject, "rb") as fh:
            data = tomllib.load(fh)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {pyproject}: {exc}") from exc
    return "alembic" in data.get("tool", {})


def find_config_dir(start: Path) -> Path | None:
    """The nearest directory at or above ``start`` holding alembic.ini or a pyproject.toml with
    [tool.alembic], as git finds its repository; the walk ends at the top of a git work tree."""
    for folder in (start, *start.parents):
        if (folder / "alembic.ini").is_file():
            return folder
        toml = folder / "pyproject.toml"
        if toml.is_file():
            try:
                if _has_tool_alembic(toml):
                    return folder
            except ConfigError:
                pass
        if (folder / ".git").exists():
            return None
    return None


def pick_files(config_path: str | os.PathLike[str] | None, cwd: Path) -> tuple[Path | None, Path | None]:
    """Return (ini, toml) the way Alembic's own command line picks them."""
    if config_path is None:
        config_path = os.environ.get(CONFIG_ENV) or None
    if config_path is not None:
        path = Path(config_path)
        if not path.is_absolute():
            path = cwd / path
        if path.is_dir():
            ini = path / "alembic.ini"
            toml = path / "pyproject.toml"
        elif path.name == "pyproject.toml" or path.suffix == ".toml":
            ini, toml = path.parent / "alembic.ini", path
            if not path.exists():
                raise ConfigError(f"config file {path} does not exist", hint="check --config")
        else:
            ini, toml = path, path.parent / "pyproject.toml"
            if not path.exists():
                raise ConfigError(
                    f"config file {path} does not exist",
                    hint="check --config, or create a project with 'schemashift init DIR'",
                )
    else:
        top = find_config_dir(cwd) or cwd
        ini, toml = top / "alembic.ini", top / "pyproject.toml"
    ini_found = ini if ini.is_file() else None
    toml_found = toml if toml.is_file() and _has_tool_alembic(toml) else None
    if ini_found is None and toml_found is None:
        where = Path(config_path) if config_path else f"{cwd} or any directory above it"
        raise ConfigError(
            f"no alembic.ini or pyproject.toml with [tool.alembic] found in {where}",
            hint="run 'schemashift init DIR' to create a project, or pass --config PATH",
        )
    return ini_found, toml_found


def load_project(
    config_path: str | os.PathLike[str] | None = None,
    *,
    url: str | None = None,
    section: str = "alembic",
    x_args: list[str] | tuple[str, ...] = (),
    cwd: str | os.PathLike[str] | None = None,
    stdout: Any = None,
) -> Project:
    """Locate the project's config and return it ready for Alembic's commands.

    ``url`` (or ``$SCHEMASHIFT_URL``) replaces ``sqlalchemy.url``.
    """
    base = Path(cwd) if cwd else Path.cwd()
    ini, toml = pick_files(config_path, base)
    root = (ini or toml).parent.resolve()  # type: ignore[union-attr]

    from argparse import Namespace

    from alembic.config import Config

    # quiet: Alembic's own "Generating ... done" lines; the CLI prints its own
    cmd_opts = Namespace(x=list(x_args), config=[str(p) for p in (ini, toml) if p], name=section, quiet=True)
    kwargs: dict[str, Any] = {"ini_section": section, "cmd_opts": cmd_opts}
    if stdout is not None:
        kwargs["stdout"] = stdout
    config = Config(file_=str(ini) if ini else None, toml_file=str(toml) if toml else None, **kwargs)
    try:
        if ini is not None:
            parser = config.file_config
            if not parser.has_section(section):
                raise ConfigError(
                    f"{ini} has no [{section}] section",
                    hint="add one with script_location, or pick the section with --name",
                )
        config.get_alembic_option("script_location")
    except configparser.Error as exc:
        raise ConfigError(f"cannot parse {ini}: {' '.join(str(exc).split())}") from exc

    project = Project(config=config, root=root, ini_path=ini, toml_path=toml)
    override = url or os.environ.get(URL_ENV)
    if override:
        config.set_main_option("sqlalchemy.url", override.replace("%", "%%"))
        project.url_source = "--url" if url else URL_ENV
    else:
        _read_config_url(config, section, ini)
    _repair_url(config)
    location = project.script_location
    if not location.is_dir():
        raise ConfigError(
            f"script_location {location} from {project.describe()} is not a directory",
            hint="fix script_location, or run 'schemashift init DIR'",
        )
    config.attributes["schemashift"] = True
    return project


def require_env_py(project: Project) -> None:
    """Before running env.py: say plainly that it is missing.

    Checked here, not when the project loads, because Alembic's ``heads``,
    ``history``, ``show`` and ``branches`` read only the revision files and work
    without env.py (pytest-alembic, for one, supplies an env script of its own).
    """
    location = project.script_location
    if not (location / "env.py").is_file():
        raise ConfigError(
            f"{location} has no env.py",
            hint="restore env.py, or create the project again with 'schemashift init'",
        )


def require_template(project: Project) -> None:
    """Before writing a revision file: say plainly that the template is missing.

    Alembic renders every new revision (``revision``, ``merge``) from
    ``script.py.mako`` in the script directory and fails with a bare
    FileNotFoundError without it; a history shipped inside a package often
    leaves the template out (mlflow's does).
    """
    location = project.script_location
    if not (location / "script.py.mako").is_file():
        raise ConfigError(
            f"{location} has no script.py.mako, the template new revision files are written from",
            hint="copy script.py.mako from a project made by 'alembic init' or 'schemashift init' into it",
        )


def _read_config_url(config: Config, section: str, ini: Path | None) -> None:
    """Make a ``%``-encoded password in alembic.ini readable; never show it.

    ConfigParser reads ``%`` as interpolation, so ``u:p%40ss@host`` (a URL's own
    escape for ``p@ss``) fails with an error that quotes the password.  ``%XX``
    is never valid ConfigParser syntax, so we take it as the URL's escape.
    """
    if ini is None or not config.file_config.has_option(section, "sqlalchemy.url"):
        return
    try:
        config.get_main_option("sqlalchemy.url")
        return
    except configparser.InterpolationError:
        pass
    raw = config.file_config.get(section, "sqlalchemy.url", raw=True)
    remember(raw)
    escaped = re.sub(r"%%|%\(|%(?=[0-9A-Fa-f]{2})", lambda m: "%%" if m.group(0) == "%" else m.group(0), raw)
    try:
        config.file_config.set(section, "sqlalchemy.url", escaped)
        config.get_main_option("sqlalchemy.url")
    except (configparser.InterpolationError, ValueError):
        raise ConfigError(
            f"sqlalchemy.url in {ini} has a '%' that alembic.ini cannot read",
            hint="write %% for a literal %, or %(here)s for the file's directory",
        ) from None


def _repair_url(config: Config) -> None:
    """Remember the URL's secrets for redaction; encode a password holding ``@``.

    SQLAlchemy's parser ends the password at the first ``@``, so
    ``u:pa@ss@host`` would connect to host ``ss@host`` (or not parse) and a
    driver error would print ``ss``.  A host cannot contain ``@``: all before
    the last one belongs to the user and password.
    """
    try:
        value = config.get_main_option("sqlalchemy.url")
    except configparser.Error:
        return
    if not value:
        return
    remember(value)
    fixed = encode_password(value)
    if fixed != value:
        config.set_main_option("sqlalchemy.url", fixed.replace("%", "%%"))


def encode_password(url: str) -> str:
    """``url`` with an ``@`` in its password %-encoded, when that is what makes it parse right."""
    from sqlalchemy.engine import make_url

    def host_of(text: str) -> str | None:
        try:
            return make_url(text).host or ""
        except Exception:
            return None

    host = host_of(url)
    if host is not None and "@" not in host:
        return url
    scheme, sep, rest = url.partition("://")
    at = rest.rfind("@")
    creds = rest[:at]
    if not sep or at < 0 or ":" not in creds:
        return url
    user, password = creds.split(":", 1)
    fixed = f"{scheme}://{user}:{quote(unquote(password), safe='')}@{rest[at + 1:]}"
    fixed_host = host_of(fixed)
    return fixed if fixed_host is not None and "@" not in fixed_host else url
