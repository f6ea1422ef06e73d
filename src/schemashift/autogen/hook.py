"""schemashift's autogenerate pipeline for a plain Alembic project: one line in env.py.

::

    context.configure(..., process_revision_directives=schemashift.autogen.hook.process_revision_directives)

Then ``alembic revision --autogenerate`` runs the same pipeline as
``schemashift revision --autogenerate`` (``pipeline.py``): declared renames
apply, rename candidates are asked on a terminal (printed as warnings
otherwise), type conversions, SQLite rebuilds, named constraints.
``-x rename=OLD=NEW`` and ``-x not_renamed=NAME`` (repeatable), ``-x
accept_renames=1``, ``-x strict=1`` and ``-x default=TABLE.COLUMN=VALUE``
mirror the schemashift CLI options.  When schemashift's own commands run the
same env.py, the script is processed once.
"""

from __future__ import annotations

import sys
from typing import Any, Callable

from .pipeline import Options, Pipeline

_TRUE = ("", "1", "true", "yes", "y")


def x_options(context: Any) -> Options:
    """``-x`` arguments of the Alembic command as pipeline options."""
    lists: dict[str, list[str]] = {"rename": [], "not_renamed": [], "default": []}
    flags = {"accept_renames": False, "strict": False}
    env = getattr(context, "environment_context", None)
    args = env.get_x_argument() if env is not None else []
    for arg in args or []:
        key, _, value = str(arg).partition("=")
        key = key.strip().replace("-", "_")
        if key in lists and value:
            lists[key].append(value)
        elif key in flags:
            flags[key] = value.strip().lower() in _TRUE
    return Options(
        renames=tuple(lists["rename"]),
        not_renamed=tuple(lists["not_renamed"]),
        defaults=tuple(lists["default"]),
        accept_renames=flags["accept_renames"],
        strict=flags["strict"],
    )


def process_revision_directives(
    context: Any,
    revision: Any,
    directives: list[Any],
    *,
    print_fn: Callable[[str], Any] | None = None,
) -> None:
    """Ready-made hook for an existing env.py (plain ``alembic revision --autogenerate``)."""
    options = x_options(context)
    pipeline = Pipeline(Options(**{**options.__dict__, "strict": False}))
    pipeline(context, revision, directives)
    out = print_fn or (lambda line: print(line, file=sys.stderr))
    for line in pipeline.renames.lines():
        out(f"schemashift: {line}")
    for run in pipeline.runs:  # what the revision deletes, as schemashift revision says it
        for line in run.risks:
            out(f"schemashift: note: {line}")
    if options.strict:
        pipeline.renames.raise_for_unresolved()
