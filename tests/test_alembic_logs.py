"""Alembic's INFO lines are hidden from schemashift's output unless -v; plain alembic keeps them.

A project made by ``alembic init`` keeps its env.py, whose ``fileConfig``
sends Alembic's INFO records to stderr (issue 15.2).
"""

from __future__ import annotations

import logging

from fixtures_stock import alembic
from schemashift.alembic_logs import hide_alembic_info

ALEMBIC_INFO = "INFO  [alembic."


def test_schemashift_commands_hide_alembic_info_and_plain_alembic_keeps_it(stock_sqlite):
    project = stock_sqlite
    runs = [
        project.cli("revision", "--autogenerate", "-m", "create students", "--rev-id", "s0001"),
        project.cli("upgrade", "head"),
        project.cli("current"),
        project.cli("history"),
        project.cli("check"),
        project.cli("validate"),
        project.cli("downgrade", "base"),
    ]
    for result in runs:
        assert ALEMBIC_INFO not in result.stderr + result.stdout, result.stderr
    assert "Downgraded s0001 -> <base>" in runs[-1].stdout
    verbose = project.cli("-v", "upgrade", "head")
    assert "INFO  [alembic.runtime.migration] Running upgrade  -> s0001" in verbose.stderr
    assert "Upgraded <base> -> s0001" in verbose.stdout
    assert ALEMBIC_INFO in project.cli("--verbose", "current").stderr
    # the user's logging config is untouched: plain alembic prints as before
    plain = alembic(project, "downgrade", "base")
    assert "INFO  [alembic.runtime.migration] Running downgrade s0001 -> " in plain.stderr
    assert project.version() == set()


def test_the_filter_drops_only_alembic_info_and_is_undone(caplog):
    made_later = "alembic.some_module_imported_later"
    with caplog.at_level(logging.INFO):
        undo = hide_alembic_info()
        try:
            logging.getLogger("alembic.runtime.migration").info("hidden")
            logging.getLogger(made_later).info("hidden too")
            logging.getLogger("alembic.runtime.migration").warning("a warning stays")
            logging.getLogger("myapp").info("the app's own info stays")
        finally:
            undo()
        logging.getLogger("alembic.runtime.migration").info("back after undo")
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["a warning stays", "the app's own info stays", "back after undo"]
