"""A loopback HTTP server for the fake Kingdee and Salesforce servers, with
the faults the connector tests need.

An app is a callable `(method, path, headers, body) -> (status, headers,
body)`. Faults queued on the server apply to the next requests, in order:

    fail(status, body=..., headers=...)   answer without calling the app
    drop_after_commit()                   call the app, then close the socket
                                          without answering (a lost reply)
    slow(seconds)                         wait, then answer normally
    passthrough()                         answer normally (to aim a later fault)
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

App = Callable[[str, str, dict[str, str], bytes], tuple[int, dict[str, str], bytes]]


@dataclass
class Fault:
    kind: str  # "fail" | "drop" | "slow" | "pass"
    status: int = 500
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


class LoopbackServer:
    def __init__(self, app: App) -> None:
        self.app = app
        self.faults: deque[Fault] = deque()
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output quiet
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                with server._lock:
                    fault = server.faults.popleft() if server.faults else None
                    server.requests.append((self.command, self.path))
                if fault and fault.kind == "slow":
                    time.sleep(fault.seconds)
                if fault and fault.kind == "fail":
                    status, out_headers, out = (
                        fault.status,
                        dict(fault.headers),
                        fault.body,
                    )
                else:
                    with server._lock:  # one writer at a time, like a database
                        status, out_headers, out = server.app(
                            self.command, self.path, headers, body
                        )
                if fault and fault.kind == "drop":
                    self.close_connection = True
                    return
                self.send_response(status)
                out_headers.setdefault(
                    "Content-Type", "application/json; charset=utf-8"
                )
                for key, value in out_headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> LoopbackServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def fail(
        self,
        status: int,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        for _ in range(times):
            self.faults.append(
                Fault("fail", status=status, body=body, headers=headers or {})
            )

    def drop_after_commit(self) -> None:
        self.faults.append(Fault("drop"))

    def passthrough(self) -> None:
        self.faults.append(Fault("pass"))

    def slow(self, seconds: float) -> None:
        self.faults.append(Fault("slow", seconds=seconds))
