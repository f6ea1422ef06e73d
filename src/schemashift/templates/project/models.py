"""The project's models: edit them, then run `schemashift revision --autogenerate -m "..."`."""

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Names for constraints and indexes, so migrations can later drop or change
# them (a constraint without a name cannot be dropped portably).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
