"""Layering that holds (issue 9 item 4): the import-linter contracts in ``.importlinter`` pass.

Dependencies point one way, cli -> api -> features -> run -> runtime/bridge/schema
-> config/errors; only the command line uses click and Rich.  Besides running
the contracts, this file checks that every module has a layer (a new module
cannot slip past them), that a contract really fails on an upward import, and
that no private Alembic or SQLAlchemy name is used outside ``alembic_bridge``.
"""

from __future__ import annotations

import ast
import configparser
import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import alembic

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
PACKAGE = SRC / "schemashift"
CONFIG = ROOT / ".importlinter"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(config: Path, pythonpath: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-logo", "--no-cache", str(config)],
        cwd=config.parent, env=env, capture_output=True, text=True, timeout=300,
    )


def test_import_contracts_hold():
    proc = lint_imports(CONFIG, SRC)
    assert proc.returncode == 0, f"an import-linter contract is broken:\n{proc.stdout}\n{proc.stderr}"
    assert "0 broken" in proc.stdout


def layered_modules() -> set[str]:
    parser = configparser.ConfigParser()
    parser.read(CONFIG)
    names: set[str] = set()
    for line in parser["importlinter:contract:layers"]["layers"].split("\n"):
        for part in line.replace("|", ":").split(":"):
            name = part.strip().strip("()")
            if name:
                names.add(name)
    return names


def package_modules() -> list[str]:
    modules = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if any(p in ("templates", "project") for p in parts):  # files copied into users' projects
            continue
        modules.append(".".join(parts))
    return modules


def test_every_module_has_a_layer():
    layered = layered_modules()
    missing = []
    for module in package_modules():
        parts = module.split(".")
        if any(".".join(parts[:i]) in layered for i in range(1, len(parts) + 1)):
            continue
        if any(name.startswith(module + ".") for name in layered):
            continue  # a package split across layers (schemashift, schemashift.safety): its __init__ only
        missing.append(module)
    assert not missing, f"modules in no layer of .importlinter (give each its layer): {missing}"


def test_an_upward_import_breaks_the_layers_contract(tmp_path):
    """The contract bites: the runtime importing api is reported, naming both modules."""
    shutil.copytree(PACKAGE, tmp_path / "src" / "schemashift", ignore=shutil.ignore_patterns("__pycache__"))
    options = tmp_path / "src" / "schemashift" / "runtime" / "options.py"
    options.write_text(options.read_text() + "\nfrom .. import api  # an upward import\n")
    config = tmp_path / ".importlinter"
    shutil.copy(CONFIG, config)
    proc = lint_imports(config, tmp_path / "src")
    assert proc.returncode != 0, proc.stdout
    assert "BROKEN" in proc.stdout
    assert "schemashift.runtime is not allowed to import schemashift.api" in proc.stdout
    assert "- schemashift.runtime.options -> schemashift.api" in proc.stdout


# ------------------------------------------------------ private Alembic and SQLAlchemy names


@functools.cache
def _private_names(root: Path) -> frozenset[str]:
    """Every ``_name`` a package defines: functions, classes, attributes, module globals."""
    names: set[str] = set()
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
    return frozenset(n for n in names if n.startswith("_") and not n.startswith("__"))


def private_uses(path: Path, alembic_private: frozenset[str]) -> list[str]:
    """Private names of Alembic or SQLAlchemy that ``path`` imports or reaches for."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules = {"alembic", "sqlalchemy"}
    for node in ast.walk(tree):  # local names bound to the two packages (import sqlalchemy as sa)
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in ("alembic", "sqlalchemy"):
                    modules.add(alias.asname or alias.name.split(".")[0])
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in ("alembic", "sqlalchemy"):
            names = node.module.split(".") + [a.name for a in node.names]
            if any(n.startswith("_") for n in names):
                found.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.Import):
            if any(p.startswith("_") for a in node.names if a.name.split(".")[0] in ("alembic", "sqlalchemy")
                   for p in a.name.split(".")):
                found.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            through_module = isinstance(root, ast.Name) and root.id in modules  # sa.schema._get_table_key
            on_object = node.attr in alembic_private and not (isinstance(root, ast.Name) and root.id in ("self", "cls"))
            if through_module or on_object:
                found.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_private_alembic_and_sqlalchemy_names_only_in_the_bridge():
    """Principle: a private Alembic name lives only in ``alembic_bridge`` (tested there against Alembic).

    A private name is one Alembic defines and schemashift does not (so
    ``rmap._revision_map`` is caught, ``plan._checked_tables()`` is not), or
    any ``_name`` reached through the ``alembic``/``sqlalchemy`` modules or
    imported from them.
    """
    alembic_private = _private_names(Path(alembic.__file__).parent) - _private_names(PACKAGE)
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "alembic_bridge" in path.parts or "templates" in path.parts or "project" in path.parts:
            continue
        found += [f"{path.relative_to(PACKAGE)}: {use.split(': ', 1)[1]}" for use in private_uses(path, alembic_private)]
    assert not found, "private Alembic/SQLAlchemy names outside alembic_bridge (use public API or the bridge):\n" + "\n".join(found)


def test_the_private_name_check_sees_each_kind(tmp_path):
    """The check above is not blind: each way of reaching a private name is reported."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import sqlalchemy as sa\n"
        "from alembic.script.revision import _RevisionOrBase\n"
        "import alembic.ddl._autogen\n"
        "key = sa.schema._get_table_key('t', None)\n"
        "def f(rmap, script):\n"
        "    return rmap._revision_map, script._versioned_down_revisions, script.down_revision\n"
    )
    alembic_private = _private_names(Path(alembic.__file__).parent)
    uses = private_uses(sample, alembic_private)
    assert [u.split(": ", 1)[0] for u in uses] == ["sample.py:2", "sample.py:3", "sample.py:4", "sample.py:6", "sample.py:6"], uses
