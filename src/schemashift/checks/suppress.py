"""Reviewed suppressions written in a revision file, and rule levels from configuration.

A revision may carry ``# schemashift: allow SS-D101[,SS-D102] -- reason``:
the rules named are allowed for that revision only, and the reason is
required (a suppression nobody explained is not a review; it is ignored).
The same spelling is read by ``verify``.  Levels come from
``[tool.schemashift.lint]`` in pyproject.toml or ``[schemashift.lint]`` in
alembic.ini (``SS-D106 = "error"``, ``SS-S501 = "off"``).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .findings import LEVELS, RULES

SUPPRESSION = re.compile(
    r"#[ \t]*schemashift:[ \t]*allow[ \t]+(?P<rules>SS-[A-Z]\d{3}(?:[ \t]*,[ \t]*SS-[A-Z]\d{3})*)[ \t]*(?:--[ \t]*(?P<reason>[^\n]*\S))?"
)


def parse_suppressions(text: str) -> dict[str, str]:
    """Rule id -> reason, for every explained suppression comment in ``text``."""
    found: dict[str, str] = {}
    for match in SUPPRESSION.finditer(text):
        reason = (match.group("reason") or "").strip()
        if not reason:
            continue
        for rule in match.group("rules").split(","):
            found[rule.strip()] = reason
    return found


@lru_cache(maxsize=4096)
def _file_suppressions(path: str, mtime: float) -> dict[str, str]:
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    if "schemashift:" not in text:
        return {}
    return parse_suppressions(text)


def suppressions(path: str | None) -> dict[str, str]:
    if not path:
        return {}
    try:
        mtime = Path(path).stat().st_mtime
    except OSError:
        return {}
    return _file_suppressions(path, mtime)


def _check_levels(levels: dict[str, Any], where: str) -> dict[str, str]:
    out = {}
    for rule, level in levels.items():
        rule = str(rule).upper()
        if rule not in RULES:
            raise ConfigError(f"{where}: unknown rule {rule}", hint=f"rules are {', '.join(sorted(RULES))}")
        if str(level).lower() not in LEVELS:
            raise ConfigError(f"{where}: level {level!r} of {rule} is not one of {', '.join(LEVELS)}")
        out[rule] = str(level).lower()
    return out


def configured_levels(project: Any) -> dict[str, str]:
    """Per-rule levels from the project's pyproject.toml and alembic.ini (alembic.ini wins)."""
    levels: dict[str, str] = {}
    toml = getattr(project, "toml_path", None) or (Path(project.root) / "pyproject.toml")
    if toml and Path(toml).is_file():
        try:
            import tomllib
        except ModuleNotFoundError:  # Python 3.10
            import tomli as tomllib  # type: ignore[no-redef]
        try:
            data = tomllib.loads(Path(toml).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read {toml}: {exc}") from exc
        table = data.get("tool", {}).get("schemashift", {}).get("lint", {})
        levels.update(_check_levels({k: v for k, v in table.items() if not isinstance(v, dict)},
                                    f"{toml} [tool.schemashift.lint]"))
    ini = getattr(project, "ini_path", None)
    if ini is not None:
        parser = project.config.file_config
        if parser.has_section("schemashift.lint"):
            items = {k: v for k, v in parser.items("schemashift.lint", raw=True) if k.upper().startswith("SS-")}
            levels.update(_check_levels(items, f"{ini} [schemashift.lint]"))
    return levels
