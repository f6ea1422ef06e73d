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
    from .graph import RevisionGraph

    if isinstance(picture, RevisionGraph):  # the graph alone need not load the ER renderer
        from . import graph_render as module
    else:
        from . import erd_render as module  # type: ignore[no-redef]
    if fmt == "json":
        return json.dumps(picture.to_dict(), indent=2) + "\n"
    if fmt == "svg":
        from .graphviz import dot_to_svg

        return dot_to_svg(module.to_dot(picture))
    if fmt in ("text", "mermaid", "dot"):
        return getattr(module, f"to_{fmt}")(picture)
    raise ConfigError(f"unknown format {fmt!r} for this picture", hint="use text, mermaid, dot, svg or json")
