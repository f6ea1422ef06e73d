"""The one vocabulary every layer shares: how a SQL type is classified (``types``),
how SQL expression text is normalised (``sql``), the kinds of constraints
(``kinds``) and which tables are bookkeeping (``bookkeeping``).

Nothing here touches a database or imports another schemashift package, so
autogenerate, the SQLite rebuild, snapshots and verify all answer "what kind
of type is this?" and "is this the same expression?" the same way.
"""
