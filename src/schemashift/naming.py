"""schemashift's default naming convention: the one ``init``'s starter models.py declares.

``name-constraints`` falls back to it when the models' MetaData has no rule
for a kind of constraint, so every constraint gets a name a later migration
can drop.  (The starter template holds a copy; a test keeps the two equal.)
"""

from __future__ import annotations

import importlib
from typing import Any

from .errors import ConfigError

DEFAULT_NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: keys that name constraints (``ix`` names indexes, which SQLAlchemy gives a rule by default)
CONSTRAINT_KEYS = ("pk", "uq", "ck", "fk")


def has_constraint_rules(convention: Any) -> bool:
    """Whether a naming convention names any kind of constraint (SQLAlchemy's default names only indexes)."""
    import sqlalchemy as sa

    kinds = (sa.PrimaryKeyConstraint, sa.UniqueConstraint, sa.CheckConstraint, sa.ForeignKeyConstraint)
    return any(key in CONSTRAINT_KEYS or key in kinds for key in dict(convention or {}))


def load_convention(spec: str) -> dict[Any, str]:
    """``MODULE:ATTR`` naming a convention dict, a MetaData, or a declarative base with ``metadata``."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ConfigError(f"--convention {spec!r} is not MODULE:ATTR", hint="e.g. --convention myapp.db:NAMING_CONVENTION")
    try:
        target: Any = importlib.import_module(module_name)
        for name in attribute.split("."):
            target = getattr(target, name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"--convention {spec}: {type(exc).__name__}: {exc}", hint="give MODULE:ATTR of a dict") from exc
    target = getattr(target, "metadata", target)
    target = getattr(target, "naming_convention", target)
    if not isinstance(target, dict) or not has_constraint_rules(target):
        raise ConfigError(
            f"--convention {spec} is not a naming convention with rules for constraints",
            hint='a dict such as {"pk": "pk_%(table_name)s", "uq": ...}',
        )
    return dict(target)
