"""RELIABILITY D8: every call has a time-out (a hung downstream holds a
worker no longer than the configured time-out) and the SSRF guard refuses
private, loopback, link-local and metadata addresses."""

import socket
import threading
import time

import httpx
import pytest

from connectors.base import PermanentError, RetryableError, TargetConfig
from connectors.http import (
    BlockedAddressError,
    address_refusal,
    http_client,
    http_error,
)

DENY = [
    "http://127.0.0.1/",
    "http://127.1.2.3:8080/x",
    "http://localhost/",
    "http://[::1]/",
    "http://0.0.0.0/",
    "http://[::]/",
    "http://10.0.0.1/",
    "http://10.255.255.254/",
    "http://172.16.0.1/",
    "http://172.31.255.1/",
    "http://192.168.0.1/",
    "http://192.168.255.255/",
    "http://169.254.169.254/latest/meta-data/",
    "http://169.254.0.1/",
    "http://169.254.170.2/v2/credentials",
    "http://[fe80::1]/",
    "http://[fd00:ec2::254]/",
    "http://100.100.100.200/latest/meta-data/",
    "http://192.0.0.192/",
    "http://100.64.0.1/",
    "http://100.127.255.254/",
    "http://[fc00::1]/",
    "http://[fd12:3456::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[::ffff:10.0.0.1]/",
    "http://[2002:a9fe:a9fe::1]/",
    "http://[2002:0a00:0001::1]/",
    "http://224.0.0.1/",
    "http://239.255.255.250/",
    "http://255.255.255.255/",
    "http://240.0.0.1/",
    "http://198.18.0.1/",
    "http://198.19.255.1/",
    "http://192.0.2.1/",
    "http://198.51.100.7/",
    "http://203.0.113.9/",
    "http://[2001:db8::1]/",
    "http://0.1.2.3/",
    "http://127.0.0.53/",
    "http://2130706433/",
    "http://0x7f000001/",
    "http://017700000001/",
    "http://127.000.000.001/",
    "https://169.254.169.254/",
    "http://10.1.2.3:443/",
    "http://192.168.1.1:22/",
    "http://[::ffff:192.168.1.1]/",
    "http://[fe80::a9fe:a9fe]/",
    "http://172.20.0.1/",
]


def target(**kw):
    return TargetConfig(name="t", kind="webhook", config={}, secrets={}, **kw)


def test_the_deny_list_has_fifty_urls():
    assert len(DENY) == len(set(DENY)) == 50


@pytest.mark.parametrize("url", DENY)
def test_private_loopback_link_local_and_metadata_urls_are_refused(url):
    with (
        http_client(target(timeout=2)) as client,
        pytest.raises((BlockedAddressError, RetryableError, PermanentError)) as caught,
    ):
        try:
            client.get(url)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise http_error(exc) from exc
    # Refused before any connection: blocked, unresolvable, or not a URL.
    if type(caught.value) is RetryableError:
        assert "resolve" in str(caught.value)
    elif type(caught.value) is PermanentError:
        assert "bad URL" in str(caught.value)


def test_metadata_and_link_local_stay_refused_even_when_everything_is_allowed():
    everything = ["0.0.0.0/0", "::/0"]
    from connectors.http import parse_networks

    allowed = parse_networks(everything)
    assert address_refusal("169.254.169.254", allowed)
    assert address_refusal("100.100.100.200", allowed)
    assert address_refusal("fe80::1", allowed)
    assert address_refusal("127.0.0.1", allowed) is None
    assert address_refusal("8.8.8.8") is None


def _server(handler):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)

    def run():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=handler, args=(conn,), daemon=True).start()

    threading.Thread(target=run, daemon=True).start()
    return listener, f"http://127.0.0.1:{listener.getsockname()[1]}/"


def test_a_hung_downstream_holds_the_call_no_longer_than_the_time_out():
    def hang(conn):
        time.sleep(10)
        conn.close()

    listener, url = _server(hang)
    try:
        with http_client(target(timeout=1.0, allowed_networks=("127.0.0.0/8",))) as c:
            started = time.monotonic()
            with pytest.raises(httpx.TimeoutException):
                c.post(url, content=b"{}")
            assert time.monotonic() - started < 1.5
    finally:
        listener.close()


def test_a_trickling_downstream_is_cut_at_the_overall_deadline():
    def trickle(conn):
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n")
        for _ in range(100):
            time.sleep(0.3)  # each read is quick; the whole is not
            try:
                conn.sendall(b"x")
            except OSError:
                return
        conn.close()

    listener, url = _server(trickle)
    try:
        with http_client(target(timeout=1.0, allowed_networks=("127.0.0.0/8",))) as c:
            started = time.monotonic()
            with pytest.raises(httpx.TimeoutException):
                c.post(url, content=b"{}")
            assert time.monotonic() - started < 1.6
    finally:
        listener.close()
