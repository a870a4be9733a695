"""The session-wide log scan (tests/conftest.py) finds what it must."""

from __future__ import annotations

import logging

from tests.conftest import _PiiLogScanner, pii_found, scan_process_log


def test_it_finds_mobiles_in_any_writing():
    for text in ("call 13800138000", "+86 138 0013 8000", "0086-138-0013-8000"):
        assert pii_found(text), text


def test_it_finds_valid_identifiers_only():
    assert pii_found("USCC 91110108MA01KPGK0L")
    assert pii_found("id 11010519491231002X")
    # Wrong check characters, masks, hashes and golden IDs are not leaks.
    for text in (
        "91110108MA01KPGK0X",
        "138****8000",
        "9111**********0L",
        "GR0000000013",
        "a3f9b0c1d2e3f4a5b6c7d8e9f0a1b2c3",
        "110105194912310021",
    ):
        assert not pii_found(text), text


def test_a_record_with_a_phone_is_reported_masked():
    scanner = _PiiLogScanner()
    logger = logging.getLogger("tests.pii")
    logger.addHandler(scanner)
    logger.propagate = False  # not a leak of the session
    try:
        logger.warning("payload %s", {"FTel": "13800138000"})
        logger.warning("nothing personal here: golden GR0000000013")
    finally:
        logger.removeHandler(scanner)
        logger.propagate = True
    assert scanner.records == 2
    assert len(scanner.leaks) == 1
    assert "138****8000" in scanner.leaks[0] and "13800138000" not in scanner.leaks[0]


def test_the_session_scanner_is_installed(pii_log_scanner):
    assert pii_log_scanner in logging.getLogger().handlers


def test_request_paths_are_masked_in_djangos_request_log(client, caplog, db):
    client.get("/api/v1/golden-records/by-uscc/91110108MA01KPGK0L")
    messages = [r.getMessage() for r in caplog.records if r.name == "django.request"]
    assert messages and all("91110108MA01KPGK0L" not in m for m in messages)
    assert any("9111**********0L" in m for m in messages)


def test_an_app_process_log_is_scanned_line_by_line(tmp_path):
    log = tmp_path / "gunicorn.log"
    log.write_text(
        "[INFO] Booting worker with pid: 42\n"
        "WARNING Not Found: /api/v1/golden-records/by-uscc/91110108MA01KPGK0L\n"
    )
    scanner = _PiiLogScanner()
    scan_process_log(log, scanner)
    assert scanner.records == 2
    assert scanner.leaks == [
        "gunicorn.log: WARNING Not Found: "
        + ("/api/v1/golden-records/by-uscc/9111**********0L")
    ]
