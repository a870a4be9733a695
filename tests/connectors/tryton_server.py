"""A real trytond server on loopback for the Tryton connector tests.

The database (SQLite, modules ir, res, country, party) is built once with
`trytond-admin` and kept in pytest's cache directory, keyed by the trytond
and party versions; each test session copies it and starts `trytond` on a
free port. Building takes about ten seconds, a cached start about two.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

DATABASE = "golden"
ADMIN_PASSWORD = "tryton-tests-admin"


@dataclass(frozen=True)
class TrytonServer:
    url: str
    database: str
    username: str
    password: str


def _script(name: str) -> str:
    path = Path(sys.executable).parent / name
    return str(path) if path.exists() else name


def _write_config(directory: Path, port: int = 0) -> Path:
    conf = directory / "trytond.conf"
    conf.write_text(
        "[database]\n"
        "uri = sqlite://\n"
        f"path = {directory}\n"
        "[web]\n"
        f"listen = 127.0.0.1:{port}\n"
        "[session]\n"
        # Tests log in many times in a row from one address.
        "max_attempt = 1000\n",
        encoding="utf-8",
    )
    return conf


def _build_template(cache_dir: Path) -> Path:
    template = cache_dir / f"{DATABASE}.sqlite"
    if template.exists():
        return template
    build = cache_dir.with_name(cache_dir.name + f".build-{os.getpid()}")
    shutil.rmtree(build, ignore_errors=True)
    build.mkdir(parents=True)
    conf = _write_config(build)
    (build / f"{DATABASE}.sqlite").touch()
    passfile = build / "admin-password"
    passfile.write_text(ADMIN_PASSWORD, encoding="utf-8")
    subprocess.run(
        [
            _script("trytond-admin"),
            "-c",
            str(conf),
            "-d",
            DATABASE,
            "--all",
            "-u",
            "party",
            "--activate-dependencies",
            "--email",
            "admin@example.com",
        ],
        check=True,
        capture_output=True,
        timeout=300,
        env={**os.environ, "TRYTONPASSFILE": str(passfile)},
    )
    cache_dir.mkdir(parents=True, exist_ok=True)
    os.replace(build / f"{DATABASE}.sqlite", template)
    shutil.rmtree(build, ignore_errors=True)
    return template


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(url: str, process: subprocess.Popen, log: Path) -> None:
    body = json.dumps({"id": 0, "method": "common.server.version", "params": []})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"trytond exited:\n{log.read_text()[-3000:]}")
        try:
            request = urllib.request.Request(
                f"{url}/rpc/",
                data=body.encode(),
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"trytond did not start:\n{log.read_text()[-3000:]}")


def start_tryton(cache_root: Path, workdir: Path):
    """Start trytond; returns (TrytonServer, stop function)."""
    versions = f"{metadata.version('trytond')}-{metadata.version('trytond-party')}"
    template = _build_template(cache_root / f"trytond-{versions}")
    shutil.copy(template, workdir / f"{DATABASE}.sqlite")
    port = _free_port()
    conf = _write_config(workdir, port)
    log = workdir / "trytond.log"
    with log.open("wb") as out:
        # -d loads the database's pool at start-up: the first login
        # otherwise finds an empty pool on trytond 8.
        process = subprocess.Popen(
            [_script("trytond"), "-c", str(conf), "-d", DATABASE],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process, log)
    except BaseException:
        process.kill()
        process.wait()
        raise

    def stop() -> None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    return TrytonServer(
        url=url, database=DATABASE, username="admin", password=ADMIN_PASSWORD
    ), stop
