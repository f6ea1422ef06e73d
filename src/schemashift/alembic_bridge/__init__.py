"""Where schemashift meets Alembic beyond its documented API, all in one place.

- ``environment``: the one interception of env.py's ``context.configure(...)``
  (a subclass of Alembic's public ``EnvironmentContext``), with a canary that
  fails loudly when the interception did not take.
- ``steps``: the private ``ScriptDirectory`` methods Alembic's own commands use
  to plan an upgrade, downgrade or stamp.

``tests/test_alembic_bridge.py`` fails when an Alembic release changes any of
them; ``SUPPORTED_ALEMBIC`` is the range the suite runs against.
"""

from __future__ import annotations

SUPPORTED_ALEMBIC = ">=1.18,<1.21"
LOWEST_ALEMBIC = "1.18.0"
