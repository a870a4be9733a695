"""The real server for the benchmarks and the tests that need one: gunicorn
with deploy/gunicorn.conf.py on a free local port, in a process group of its
own (so that stopping it reaches the workers), its output in a log file.

    server = GunicornServer.start(env, workers=2, log=work / "gunicorn.log")
    try:
        server.wait_answering("/healthz", timeout=120)
        ...  # server.url, server.process.pid, server.log
    finally:
        server.stop()

Bench scripts run by path have bench/ on sys.path (`from gunicorn_server
import ...`); tests import it as `bench.gunicorn_server`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
POLL_S = 0.5
LOG_TAIL_CHARS = 3000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirect is an answer: with SECURE_SSL_REDIRECT on, following it
    # would go to https, which nothing here serves.
    def redirect_request(self, *args, **kwargs) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect)


@dataclass(frozen=True)
class GunicornServer:
    process: subprocess.Popen
    port: int
    log: Path

    @classmethod
    def start(
        cls, env: Mapping[str, str], *, workers: int, log: Path
    ) -> GunicornServer:
        """Start gunicorn with `env` (WEB_CONCURRENCY set to `workers`),
        writing its output to `log`; it may not answer yet."""
        port = free_port()
        with log.open("w") as out:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "-c",
                    str(ROOT / "deploy" / "gunicorn.conf.py"),
                    "-b",
                    f"127.0.0.1:{port}",
                    "mdm.wsgi",
                ],
                cwd=ROOT,
                env={**env, "WEB_CONCURRENCY": str(workers)},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return cls(process, port, log)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_answering(self, path: str, *, timeout: float) -> float:
        """Seconds until a GET of `path` gets an HTTP answer, whatever its
        status; RuntimeError, with the log's tail, if gunicorn exits first
        or `timeout` seconds pass."""
        started = time.perf_counter()
        while (left := timeout - (time.perf_counter() - started)) > 0:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"gunicorn exited ({self.process.returncode}):\n{self.log_tail()}"
                )
            try:
                # The request may wait in the listen backlog while the
                # workers start: it can take all the time that is left.
                _get(self.url + path, timeout=left)
                return time.perf_counter() - started
            except OSError:
                time.sleep(POLL_S)
        raise RuntimeError(
            f"gunicorn did not answer GET {path} in {timeout} s:\n{self.log_tail()}"
        )

    def stop(self) -> None:
        """SIGTERM to the process group (master and workers), then wait."""
        with contextlib.suppress(ProcessLookupError):  # the group is gone
            os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=60)

    def log_tail(self) -> str:
        return self.log.read_text()[-LOG_TAIL_CHARS:]


def _get(url: str, *, timeout: float) -> None:
    try:
        _opener.open(url, timeout=timeout).close()
    except urllib.error.HTTPError:
        pass  # an answer all the same
