"""A picture in a format: the one dispatch from (graph or ER diagram, format name) to text.

Kept free of Alembic and SQLAlchemy imports, so the CLI can draw a revision
graph from the cached history answer without loading either.
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import ConfigError


def render(picture: Any, fmt: str) -> str:
    """``text`` (graphs and ER diagrams), ``mermaid``, ``dot``, ``svg`` (through Graphviz) or ``json``."""
    from . import erd_render, graph_render
    from .erd import SchemaDiagram

    module: Any = erd_render if isinstance(picture, SchemaDiagram) else graph_render
    if fmt == "json":
        return json.dumps(picture.to_dict(), indent=2) + "\n"
    if fmt == "svg":
        from .graphviz import dot_to_svg

        return dot_to_svg(module.to_dot(picture))
    if fmt in ("text", "mermaid", "dot"):
        return getattr(module, f"to_{fmt}")(picture)
    raise ConfigError(f"unknown format {fmt!r} for this picture", hint="use text, mermaid, dot, svg or json")
