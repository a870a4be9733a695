"""Load shedding in the real server: gunicorn with deploy/gunicorn.conf.py and
two sync workers. Each worker sheds one request, and /metrics, whichever
worker answers it, counts both (prometheus_client's multiprocess mode, set
up by the gunicorn config); the server logs one warning line per request.

The server uses a migrated SQLite file of its own (/metrics reads the
database); nothing here touches the test database.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from bench.gunicorn_server import GunicornServer
from tests.conftest import scan_process_log

ROOT = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    work = tmp_path_factory.mktemp("shedding")
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("REDIS_URL", "METRICS_TOKEN", "PROMETHEUS_MULTIPROC_DIR")
    }
    env.update(
        DATABASE_URL=f"sqlite:///{work / 'app.sqlite3'}",
        DJANGO_SETTINGS_MODULE="mdm.settings",
        SECRET_KEY="tests-only-secret-key-not-for-production",
        DEBUG="false",
        SECURE_SSL_REDIRECT="false",
        ALLOWED_HOSTS="127.0.0.1",
        LOG_LEVEL="WARNING",
        REALTIME_INDEX_WARM="false",
        REQUEST_QUEUE_TIMEOUT_MS="1000",
    )
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=300,
    )
    server = GunicornServer.start(env, workers=2, log=work / "gunicorn.log")
    try:
        server.wait_answering("/healthz", timeout=120)
        yield server.port, server.log
    finally:
        server.stop()
        scan_process_log(server.log)


def head(port: int, stamp: str, end: bytes = b"\r\n") -> bytes:
    return (
        f"GET /dashboard/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"X-Request-Start: {stamp}\r\nConnection: close\r\n"
    ).encode() + end


def answer(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def test_each_worker_sheds_and_metrics_count_both(server):
    port, log = server
    stale = f"t={time.time() - 60:.3f}"
    # One worker takes a request whose headers are not finished and blocks
    # reading it, so the next request goes to the other worker.
    with socket.create_connection(("127.0.0.1", port), timeout=30) as held:
        held.sendall(head(port, stale, end=b""))
        time.sleep(1.0)
        with socket.create_connection(("127.0.0.1", port), timeout=30) as other:
            other.sendall(head(port, stale))
            assert answer(other).startswith(b"HTTP/1.1 503 ")
        held.sendall(b"\r\n")
        assert answer(held).startswith(b"HTTP/1.1 503 ")

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics") as response:
        text = response.read().decode()
    (line,) = [
        line
        for line in text.splitlines()
        if line.startswith("golden_record_requests_shed_total ")
    ]
    assert float(line.split()[1]) == 2
    assert "golden_record_review_tasks" in text  # the database figures too

    output = log.read_text()
    assert output.count("request shed: queued ") == 2, output[-3000:]
    assert "Service Unavailable" not in output
