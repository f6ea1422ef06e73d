"""Fixtures for the constraint/type/rebuild tests (issue 6).

``schema_project(url)`` makes a schemashift project whose models module has a
unique name (tests in one process never see each other's ``models``), lets
a test rewrite the models, autogenerate through the pipeline, upgrade,
downgrade, and run SQL.
"""

from __future__ import annotations

import importlib
import sys
import textwrap
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest
import sqlalchemy as sa

from schemashift import api
from schemashift.config import load_project

PRELUDE = '''
import sqlalchemy as sa
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
'''


@dataclass
class SchemaProject:
    root: Path
    url: str
    module: str

    @property
    def project(self) -> Any:
        return load_project(self.root / "alembic.ini", url=self.url)

    def models(self, source: str, *, convention: bool = True) -> None:
        """Write the models module: PRELUDE + ``Base`` (with or without a naming convention) + source."""
        base = (
            "class Base(DeclarativeBase):\n    metadata = MetaData(naming_convention=NAMING_CONVENTION)\n"
            if convention
            else "class Base(DeclarativeBase):\n    pass\n"
        )
        (self.root / f"{self.module}.py").write_text(PRELUDE + "\n\n" + base + "\n\n" + textwrap.dedent(source))
        sys.modules.pop(self.module, None)
        importlib.invalidate_caches()

    def revision(self, message: str = "change", *, autogenerate: bool = True) -> Path:
        """Autogenerate through schemashift's pipeline, as ``schemashift revision --autogenerate``."""
        sys.modules.pop(self.module, None)
        infos = api.revision(self.project, message, autogenerate=autogenerate, allow_empty=True)
        assert infos, "no revision was written"
        return Path(infos[0].path)

    def upgrade(self, target: str = "head", **kw: Any) -> Any:
        sys.modules.pop(self.module, None)
        return api.upgrade(self.project, target, **kw)

    def downgrade(self, target: str = "-1", **kw: Any) -> Any:
        sys.modules.pop(self.module, None)
        return api.downgrade(self.project, target, **kw)

    def engine(self) -> sa.Engine:
        return sa.create_engine(self.url, poolclass=sa.pool.NullPool)

    def sql(self, statement: str, params: Any = None) -> list[tuple]:
        with self.engine().begin() as conn:
            result = conn.exec_driver_sql(statement, params) if params is not None else conn.exec_driver_sql(statement)
            return [tuple(r) for r in result] if result.returns_rows else []

    def script(self, statements: str) -> None:
        """Run several ';'-separated statements in one transaction."""
        with self.engine().begin() as conn:
            for statement in filter(None, (s.strip() for s in statements.split(";\n"))):
                conn.exec_driver_sql(statement)

    def inspect(self, fn: Callable[[Any], Any]) -> Any:
        engine = self.engine()
        with engine.connect() as conn:
            return fn(sa.inspect(conn))


@pytest.fixture
def schema_project(tmp_path, monkeypatch) -> Callable[[str], SchemaProject]:
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    made: list[SchemaProject] = []

    def make(url: str) -> SchemaProject:
        module = f"models_{uuid.uuid4().hex[:10]}"
        root = tmp_path / f"proj{len(made)}"
        api.init(root, metadata=f"{module}:Base.metadata", url=url)
        proj = SchemaProject(root, url, module)
        made.append(proj)
        return proj

    yield make
    for proj in made:
        sys.modules.pop(proj.module, None)
