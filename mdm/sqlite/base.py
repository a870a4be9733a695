"""Django's SQLite backend, with the one hook the deletion guards need.

Migration 0012 puts triggers on the source-record, cross-reference and audit
tables that refuse DELETE (C4, W7). On PostgreSQL, Django's flush (used by
`manage.py flush` and between transactional tests) empties tables with
TRUNCATE, which fires no row triggers. On SQLite it runs DELETE, so the
SQLite triggers carry `WHEN NOT mdm_delete_allowed()`: this backend
registers that function on every connection, and it answers true only while
this connection runs a flush. Any other DELETE, including one from a
connection that lacks the function (the sqlite3 shell), is refused.
"""

from __future__ import annotations

from django.db.backends.sqlite3 import base, operations


class DatabaseOperations(operations.DatabaseOperations):
    def execute_sql_flush(self, sql_list):
        self.connection.flushing = True
        try:
            super().execute_sql_flush(sql_list)
        finally:
            self.connection.flushing = False


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
    flushing = False

    def get_new_connection(self, conn_params):
        conn = super().get_new_connection(conn_params)
        conn.create_function("mdm_delete_allowed", 0, self._delete_allowed)
        return conn

    def _delete_allowed(self) -> int:
        return int(self.flushing)
