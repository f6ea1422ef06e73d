"""The runtime of a migration run: who begins, commits and rolls back.

``run.Run`` is the one owner of a run's transaction boundaries, lock and
ledger rows; ``sqlite`` and ``watch`` are the connection-level helpers it
uses (real transactions and foreign-key mode on SQLite; what actually
committed); ``options`` is the typed ``RunOptions`` passed from the CLI.
"""
