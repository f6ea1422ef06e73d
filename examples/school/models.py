"""The school's models: one Student, as in the lesson.

Engine and Session live here too, so `crud.py` and any script can share them.
"""

import os

from sqlalchemy import MetaData, String, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

# The same database that alembic.ini points at; SCHEMASHIFT_URL overrides both.
DATABASE_URL = os.environ.get(
    "SCHEMASHIFT_URL",
    "sqlite:///" + os.path.join(os.path.dirname(os.path.abspath(__file__)), "migrations_test.db"),
)

engine = create_engine(DATABASE_URL)
Session = sessionmaker(engine)

# Names for constraints and indexes, so later migrations can change them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Student(Base):
    __tablename__ = "students"

    id: Mapped[int] = mapped_column(primary_key=True)
    full_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(120))
    grade: Mapped[int]

    def __repr__(self) -> str:
        return f"<Student {self.id}: {self.full_name}, grade {self.grade}>"
