"""How a model class spells ``__table_args__``, so a hint can say where ``info`` goes.

``__table_args__ = {"info": ...}`` pasted into a class that already has a
tuple ``__table_args__`` (constraints, then an optional dict) would replace
its constraints; the hint must say "add it to the tuple" instead.  The class
is found among the declarative classes mapped to the table (plain
``__subclasses__`` walks, no private SQLAlchemy names).
"""

from __future__ import annotations

from typing import Any


def table_args_kind(metadata: Any, schema: str | None, name: str) -> str | None:
    """``"tuple"``, ``"dict"``, or None (no ``__table_args__``, or no class found) for table ``name``."""
    if metadata is None:
        return None
    key = f"{schema}.{name}" if schema else name
    table = getattr(metadata, "tables", {}).get(key)
    if table is None:
        return None
    from sqlalchemy.orm import DeclarativeBase, DeclarativeBaseNoMeta

    stack: list[type] = [DeclarativeBase, DeclarativeBaseNoMeta]
    seen: set[type] = set()
    while stack:
        cls = stack.pop()
        for sub in cls.__subclasses__():
            if sub in seen:
                continue
            seen.add(sub)
            if sub.__dict__.get("__table__") is table:
                args = sub.__dict__.get("__table_args__")
                if isinstance(args, tuple):
                    return "tuple"
                if isinstance(args, dict):
                    return "dict"
                return None
            stack.append(sub)
    return None
