"""Layering that holds (issue 9 item 4): the import-linter contracts in ``.importlinter`` pass.

Dependencies point one way, cli -> api -> features -> run -> runtime/bridge/schema
-> config/errors; only the command line uses click and Rich.  Besides running
the contracts, this file checks that every module has a layer (a new module
cannot slip past them), that a contract really fails on an upward import, and
that no Alembic object's private attribute is read outside ``alembic_bridge``.
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


# ------------------------------------------------------ Alembic's private attributes


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


def alembic_attribute_uses(path: Path, alembic_private: frozenset[str]) -> list[str]:
    """``obj._name`` where ``_name`` is one of Alembic's private attributes (not ``self``/``cls``)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and node.attr in alembic_private:
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if not (isinstance(root, ast.Name) and root.id in ("self", "cls")):
                found.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_alembic_private_attributes_only_in_the_bridge():
    """Principle: a private Alembic name lives only in ``alembic_bridge`` (tested there against Alembic).

    ``tests/test_no_private_imports.py`` catches private names imported or
    reached through a module; this catches the other way in, an Alembic
    object's private attribute (``rmap._revision_map``,
    ``script._versioned_down_revisions``): a ``_name`` Alembic defines and
    schemashift does not.
    """
    alembic_private = _private_names(Path(alembic.__file__).parent) - _private_names(PACKAGE)
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "alembic_bridge" in path.parts or "templates" in path.parts or "project" in path.parts:
            continue
        found += [f"{path.relative_to(PACKAGE)}: {use.split(': ', 1)[1]}" for use in alembic_attribute_uses(path, alembic_private)]
    assert not found, "Alembic's private attributes outside alembic_bridge (use public API or the bridge):\n" + "\n".join(found)


def test_the_attribute_check_is_not_blind(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "def f(rmap, script, self):\n"
        "    return rmap._revision_map, script.down_revision, self._revision_map\n"
        "def g(script):\n"
        "    return script._versioned_down_revisions\n"
    )
    uses = alembic_attribute_uses(sample, _private_names(Path(alembic.__file__).parent))
    assert sorted(uses) == ["sample.py:2: rmap._revision_map", "sample.py:4: script._versioned_down_revisions"], uses
