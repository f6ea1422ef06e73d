"""Alembic's INFO log lines, hidden from schemashift's output unless asked for.

A stock env.py calls ``fileConfig(alembic.ini)``, which sends Alembic's INFO
records ("Context impl SQLiteImpl.", "Running upgrade a -> b") to stderr,
beside schemashift's own lines that say the same.  We leave that logging
configuration alone (plain ``alembic`` prints as before) and put a filter on
Alembic's own loggers instead: ``fileConfig`` replaces handlers and levels,
never a logger's filters.  Loggers created later (a module imported during
the run) get the filter through the logger class.  Warnings and errors pass.
"""

from __future__ import annotations

import logging
from typing import Callable


def _alembics(name: str) -> bool:
    return name == "alembic" or name.startswith("alembic.")


class BelowWarning(logging.Filter):
    """Drops DEBUG and INFO records."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING


def hide_alembic_info() -> Callable[[], None]:
    """Filter Alembic's INFO records in this process; returns the undo."""
    quiet = BelowWarning()
    manager = logging.Logger.manager
    covered: list[logging.Logger] = []
    for name, logger in list(manager.loggerDict.items()):
        if isinstance(logger, logging.Logger) and _alembics(name):
            logger.addFilter(quiet)
            covered.append(logger)
    previous = manager.loggerClass
    base = previous or logging.getLoggerClass()

    class FilteredLogger(base):  # type: ignore[valid-type, misc]
        def __init__(self, name: str, level: int = logging.NOTSET) -> None:
            super().__init__(name, level)
            if _alembics(name):
                self.addFilter(quiet)
                covered.append(self)

    manager.setLoggerClass(FilteredLogger)

    def undo() -> None:
        manager.loggerClass = previous
        for logger in covered:
            logger.removeFilter(quiet)

    return undo
