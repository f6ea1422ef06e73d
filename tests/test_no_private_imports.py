"""No module of schemashift reaches into another module's private names (issue 10).

A name with a leading underscore is its module's own business: importing it
(``from .capture import _caller_line``) or reaching it through a module
(``render._rel``, ``sa.schema._get_table_key``) couples two modules through
something neither promises to keep.  The one exception is ``alembic_bridge``,
the single place where Alembic's private names may be used (with a canary test
that fails loudly when Alembic changes them).
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "schemashift"
BRIDGE = "schemashift.alembic_bridge"
#: documented standard-library functions whose names start with an underscore
DOCUMENTED = {"sys._getframe", "os._exit"}


def module_name(path: Path, root: Path = SRC) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_uses(source: str, module: str, *, is_package: bool = False) -> list[str]:
    """Every private name ``module`` takes from another module: ``from X import _y``
    and ``X._y`` where ``X`` names an imported module."""
    tree = ast.parse(source)
    package = module if is_package else module.rpartition(".")[0]
    modules: dict[str, str] = {}  # local name -> the module it is bound to (or may be)
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            for alias in node.names:
                if _private(alias.name) and origin != module:
                    found.append(f"line {node.lineno}: from {origin} import {alias.name}")
                modules[alias.asname or alias.name] = f"{origin}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                modules[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else alias.name.split(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            chain, value = [node.attr], node.value
            while isinstance(value, ast.Attribute):
                chain.append(value.attr)
                value = value.value
            if isinstance(value, ast.Name) and value.id in modules and modules[value.id] != module:
                dotted = ".".join([value.id, *reversed(chain)])
                if f"{modules[value.id]}.{node.attr}" not in DOCUMENTED and dotted not in DOCUMENTED:
                    found.append(f"line {node.lineno}: {dotted}")
    return found


def test_the_scan_finds_each_kind_of_reach() -> None:
    source = (
        "import sqlalchemy as sa\n"
        "from . import render\n"
        "from .capture import _caller_line, public\n"
        "from alembic.util import _private\n"
        "x = render._rel(1)\n"
        "y = sa.schema._get_table_key('t', None)\n"
        "z = self._own\n"
        "import sys\n"
        "f = sys._getframe(1)\n"
    )
    assert private_uses(source, "schemashift.checks.lint") == [
        "line 3: from schemashift.checks.capture import _caller_line",
        "line 4: from alembic.util import _private",
        "line 5: render._rel",
        "line 6: sa.schema._get_table_key",
    ]
    # a module's own private names are its own
    assert private_uses("from .lint import _helper\n", "schemashift.checks.lint") == []


def test_no_module_imports_a_private_name_from_another() -> None:
    modules = [p for p in sorted(SRC.rglob("*.py")) if not module_name(p).startswith(BRIDGE)]
    assert len(modules) > 100  # the whole package is read
    found = {
        module_name(path): uses
        for path in modules
        if (uses := private_uses(path.read_text(encoding="utf-8"), module_name(path), is_package=path.name == "__init__.py"))
    }
    assert found == {}
