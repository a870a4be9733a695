"""Keep the no-delete / append-only triggers of migration 0012 in place.

SQLite drops a table's triggers when Django rebuilds the table (its way of
altering a column), so a later migration of mdm_sourcerecord would silently
remove the guard. After every `migrate` (and flush) the triggers are
re-created from the migration itself, the one definition of them.
"""

from __future__ import annotations

import importlib
from types import SimpleNamespace

from django.db import connections

_MIGRATION = "mdm.migrations.0012_audit_and_guards"


def guards_ensure(*, using: str = "default", **kwargs) -> None:
    """post_migrate receiver: (re)install the SQLite triggers if the guarded
    tables exist (a migrate to an earlier state may have removed them)."""
    connection = connections[using]
    if connection.vendor != "sqlite":
        return  # PostgreSQL keeps triggers through ALTER TABLE
    migration = importlib.import_module(_MIGRATION)
    tables = set(connection.introspection.table_names())
    if all(table in tables for table, _ops, _why in migration.GUARDS):
        migration.install_guards(None, SimpleNamespace(connection=connection))
