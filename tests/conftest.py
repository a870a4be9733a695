"""Session-wide checks for the whole suite.

No personal data in logs (RELIABILITY W7): every log record emitted while
the suite runs, at the levels the loggers are configured for, is formatted
as text (message and traceback) and as LOG_FORMAT=json writes it (with the
record's extra fields, such as the request Django attaches) and scanned
for an unmasked mainland mobile number, a valid USCC or a valid 18-digit
resident ID number. The logs of the app processes a test starts (gunicorn)
are scanned line by line when they stop (`scan_process_log`). Any hit fails
the session, with the offending records listed masked.

No physical delete of a source row (RELIABILITY C4): on PostgreSQL, after
the last test, the database's own count of rows deleted from the source-record
and cross-reference tables must be 0 (the flush between tests empties them
with TRUNCATE, which that count leaves out). On SQLite the tables' triggers
let only that flush delete, and there is no such count to read.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from pythonjsonlogger.json import JsonFormatter
from stdnum.cn import ric, uscc

# 1[3-9]x xxxx xxxx, with spaces or hyphens between the groups, and an
# optional +86 / 0086; not part of a longer run of digits or letters.
MOBILE_RE = re.compile(
    r"(?<![0-9A-Za-z])(?:(?:\+|00)86[\s\-]?)?(1[3-9]\d[\s\-]?\d{4}[\s\-]?\d{4})"
    r"(?![0-9A-Za-z])"
)
# 18 characters: a USCC (digits and capitals) or an ID number (X last).
IDENTIFIER_RE = re.compile(
    r"(?<![0-9A-Za-z])([0-9A-Z]{18}|\d{17}[\dXx])(?![0-9A-Za-z])"
)


def pii_found(text: str) -> list[str]:
    """The phones and valid identifiers in `text` (empty: none)."""
    found = [m.group(1) for m in MOBILE_RE.finditer(text)]
    for match in IDENTIFIER_RE.finditer(text):
        value = match.group(1).upper()
        if ric.is_valid(value) or uscc.is_valid(value):
            found.append(value)
    return found


class _PiiLogScanner(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.NOTSET)
        self.formatters = [
            logging.Formatter("%(levelname)s %(name)s %(message)s"),
            JsonFormatter("%(levelname)s %(name)s %(message)s"),
        ]
        self.leaks: list[str] = []
        self.records = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.records += 1
        try:
            text = "\n".join(f.format(record) for f in self.formatters)
        except Exception:  # a broken log call is not this check's business
            return
        self.check(text)

    def check(self, text: str, source: str = "") -> None:
        if pii_found(text):
            from mdm.masking import mask_text

            self.leaks.append(f"{source}{mask_text(text)[:500]}")


_scanner = _PiiLogScanner()


def scan_process_log(path: Path, scanner: _PiiLogScanner | None = None) -> None:
    """Scan the log file of a process a test started, line by line (into
    the session's scanner unless another is given)."""
    scanner = scanner or _scanner
    for line in path.read_text(errors="replace").splitlines():
        scanner.records += 1
        scanner.check(line, source=f"{path.name}: ")


def pytest_sessionstart(session: pytest.Session) -> None:
    logging.getLogger().addHandler(_scanner)


def pytest_runtest_setup(item: pytest.Item) -> None:
    # Anything that reconfigures logging (dictConfig) drops root handlers.
    root = logging.getLogger()
    if _scanner not in root.handlers:
        root.addHandler(_scanner)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    logging.getLogger().removeHandler(_scanner)
    failed = _scanner.leaks or any(_rows_deleted.values())
    if failed and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if _scanner.leaks:
        terminalreporter.section("personal data in logs (W7)", red=True)
        for leak in _scanner.leaks[:50]:
            terminalreporter.line(leak)
        terminalreporter.line(
            f"{len(_scanner.leaks)} of {_scanner.records} log records hold an "
            "unmasked phone or ID number: the session fails."
        )
    if any(_rows_deleted.values()):
        terminalreporter.section("source rows physically deleted (C4)", red=True)
        terminalreporter.line(
            f"PostgreSQL counted deleted rows: {_rows_deleted}: the session fails."
        )


@pytest.fixture
def pii_log_scanner() -> _PiiLogScanner:
    """The session's scanner, for the test that proves it catches a leak."""
    return _scanner


@pytest.fixture(autouse=True, scope="session")
def fast_password_hashing():
    """MD5 instead of PBKDF2 (~0.4 s of CPU per hash or login check) for the
    suite's users; production keeps Django's default hashers."""
    from django.test import override_settings

    with override_settings(
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]
    ):
        yield


GUARDED_TABLES = ("mdm_sourcerecord", "mdm_crossreference")
_rows_deleted: dict[str, int] = {}


@pytest.fixture(autouse=True, scope="session")
def no_source_row_physically_deleted(request):
    """RELIABILITY C4 across the session (module docstring)."""
    if not any(map(_uses_database, request.session.items)):
        yield  # no test of this session touches the database
        return
    request.getfixturevalue("django_db_setup")
    blocker = request.getfixturevalue("django_db_blocker")
    yield
    with blocker.unblock():
        _rows_deleted.update(rows_deleted_from(GUARDED_TABLES))


def _uses_database(item: pytest.Item) -> bool:
    return item.get_closest_marker("django_db") is not None or bool(
        {"db", "transactional_db", "django_db_setup"} & set(item.fixturenames)
    )


def rows_deleted_from(tables: tuple[str, ...]) -> dict[str, int]:
    """PostgreSQL's count of rows deleted from `tables` since the database
    was created ({} on SQLite)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return {}
    with connection.cursor() as cursor:
        # This connection's own counts reach the shared statistics at the
        # end of its next transaction; those of closed connections already
        # have.
        cursor.execute("SELECT pg_stat_force_next_flush()")
        cursor.execute("SELECT 1")
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT relname, n_tup_del FROM pg_stat_user_tables "
            "WHERE relname = ANY(%s)",
            [list(tables)],
        )
        return dict(cursor.fetchall())
