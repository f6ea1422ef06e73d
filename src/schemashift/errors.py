"""One hierarchy of errors, each carrying data and an exit code.

Library code raises these; only the CLI words them (one line on stderr) and
decides whether to show a traceback (``--debug``).  Nothing below the CLI
calls ``sys.exit``.
"""

from __future__ import annotations


class SchemashiftError(Exception):
    """Base of every error schemashift reports to a user.

    ``message`` names the problem, ``hint`` the fix (when there is one).
    """

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        text = " ".join(self.message.split())
        if self.hint:
            text += f" ({' '.join(self.hint.split())})"
        return text

    def __str__(self) -> str:
        return self.one_line()


class ConfigError(SchemashiftError):
    """The project configuration is missing, unreadable or incomplete."""

    exit_code = 2


class RevisionError(SchemashiftError):
    """A revision id is unknown, ambiguous, or a target cannot be reached."""

    exit_code = 2


class RevisionFileError(SchemashiftError):
    """A revision file cannot be read or imported."""

    exit_code = 2

    def __init__(self, path: str, reason: str, *, hint: str | None = None) -> None:
        super().__init__(f"revision file {path} does not import: {reason}", hint=hint)
        self.path = path
        self.reason = reason


class DatabaseError(SchemashiftError):
    """The database could not be reached or refused a statement."""

    exit_code = 3


class MigrationFailed(SchemashiftError):
    """A migration step failed; the database was rolled back where possible."""

    exit_code = 4

    def __init__(
        self,
        message: str,
        *,
        revision: str | None = None,
        statement: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.revision = revision
        self.statement = statement


class Refused(SchemashiftError):
    """A command refused to act because acting would be unsafe."""

    exit_code = 5


class LockTimeout(SchemashiftError):
    """Another process held the migration lock for longer than we may wait."""

    exit_code = 6


# the package to install for a driver module whose name differs from it
_DRIVER_PACKAGES = {"psycopg": "psycopg[binary]", "psycopg2": "psycopg2-binary", "MySQLdb": "mysqlclient"}


def missing_driver(exc: BaseException) -> ConfigError | None:
    """A database driver SQLAlchemy tried to import and could not: a config problem, worded as one.

    Recognised by where the ImportError was raised (inside one of SQLAlchemy's
    dialects, importing its DBAPI), so env.py or a model failing to import a
    module of its own is not mistaken for it.
    """
    if not isinstance(exc, ImportError) or not exc.name:
        return None
    tb = exc.__traceback__
    last = None
    while tb is not None:
        last = tb.tb_frame.f_code.co_filename
        tb = tb.tb_next
    if last is None or "/sqlalchemy/dialects/" not in last.replace("\\", "/"):
        return None
    root = exc.name.split(".")[0]
    return ConfigError(
        f"the URL needs the database driver {root}, which is not installed",
        hint=f"pip install {_DRIVER_PACKAGES.get(root, root)}, or name an installed driver in the URL",
    )
