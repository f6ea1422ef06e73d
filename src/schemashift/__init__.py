"""schemashift: schema migrations for SQLAlchemy that never lose data, built on Alembic."""

__version__ = "0.1.0"
