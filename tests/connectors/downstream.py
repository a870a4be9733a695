"""A loopback webhook receiver with fault injection, for delivery tests.

It runs the reference receiver (connectors.webhook.receiver) behind a real
HTTP server and, per request, may answer 500, 429 with Retry-After, hang
past the client's time-out, reset the connection, or apply the message and
then drop the connection (the sender cannot know it arrived).
"""

from __future__ import annotations

import random
import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from connectors.webhook.receiver import ReferenceReceiver
from connectors.webhook.signing import secret_generate


@dataclass
class Faults:
    error_500: float = 0.0
    rate_limit_429: float = 0.0
    timeout: float = 0.0
    reset: float = 0.0
    commit_then_drop: float = 0.0
    hang_seconds: float = 1.0
    retry_after: str = "0"
    # Answer every request with this status (e.g. 410) when set.
    always_status: int | None = None


class Downstream:
    def __init__(self, faults: Faults | None = None, *, seed: int = 7) -> None:
        self.secret = secret_generate()
        self.receiver = ReferenceReceiver([self.secret])
        self.faults = faults or Faults()
        self.random = random.Random(seed)
        self.outcomes: Counter[str] = Counter()
        self.requests: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def __enter__(self) -> Downstream:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _pick(self) -> str:
        f = self.faults
        with self._lock:
            roll = self.random.random()
        for name, share in (
            ("error_500", f.error_500),
            ("rate_limit_429", f.rate_limit_429),
            ("timeout", f.timeout),
            ("reset", f.reset),
            ("commit_then_drop", f.commit_then_drop),
        ):
            if roll < share:
                return name
            roll -= share
        return "ok"

    def _handler(self):
        downstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args) -> None:
                pass

            def _reset(self) -> None:
                # SO_LINGER 0: close with a TCP RST, as a crashed peer would.
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.close_connection = True
                self.connection.close()

            def _answer(self, status: int, text: str, headers=()) -> None:
                body = text.encode()
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                headers = {k: v for k, v in self.headers.items()}
                with downstream._lock:
                    downstream.requests.append(headers)
                f = downstream.faults
                if f.always_status is not None:
                    downstream.outcomes[str(f.always_status)] += 1
                    return self._answer(f.always_status, "gone")
                fault = downstream._pick()
                downstream.outcomes[fault] += 1
                if fault == "error_500":
                    return self._answer(500, "boom")
                if fault == "rate_limit_429":
                    return self._answer(
                        429, "slow down", [("Retry-After", f.retry_after)]
                    )
                if fault == "timeout":
                    time.sleep(f.hang_seconds)
                    return self._reset()
                if fault == "reset":
                    return self._reset()
                status, reason = downstream.receiver.handle(headers, body)
                if fault == "commit_then_drop":
                    return self._reset()
                return self._answer(status, reason)

        return Handler
