"""HTTP for connectors: an httpx client with an SSRF guard and a hard
deadline per request.

The guard checks the address each connection actually goes to (after DNS
resolution, so a name that resolves to 169.254.169.254 or is re-bound
between check and use is refused too): link-local, cloud-metadata,
multicast, reserved and unspecified addresses are always refused; private,
loopback, shared (CGNAT) and other non-global addresses only when they lie
in one of the target's allowed networks (settings
CONNECTOR_ALLOWED_NETWORKS). The connection then goes to the address that
was checked, and TLS still verifies the URL's host name.

httpx's own time-outs bound each socket operation; a server that trickles
a byte every few seconds could still hold a worker for ever, so every read
and write also stops at an overall deadline of `timeout` seconds from the
start of the request.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any

import httpcore
import httpx

from connectors.base import (
    ConnectorError,
    PermanentError,
    RetryableError,
    TargetConfig,
    error_from_status,
    retry_after_seconds,
)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Instance-metadata services that do not sit in 169.254.0.0/16.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud (classic)
        "fd00:ec2::254",  # AWS IMDS over IPv6
    )
)


class BlockedAddressError(PermanentError):
    """The target URL leads to an address we must not call (SSRF guard)."""


def _effective(address: IPAddress) -> IPAddress:
    # ::ffff:169.254.169.254 and 6to4/Teredo wrappers must be judged by the
    # IPv4 address they carry.
    if isinstance(address, ipaddress.IPv6Address):
        for inner in (address.ipv4_mapped, address.sixtofour):
            if inner is not None:
                return inner
        if address.teredo is not None:
            return address.teredo[1]
    return address


def address_refusal(
    address: IPAddress | str, allowed: Sequence[IPNetwork] = ()
) -> str | None:
    """Why `address` may not be called, or None when it may."""
    address = _effective(ipaddress.ip_address(address))
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast or address.is_unspecified or address.is_reserved:
        return "a reserved address"
    if address.is_global:
        return None
    if any(address in network for network in allowed):
        return None
    if address.is_loopback:
        return "a loopback address"
    return "a private address"


def parse_networks(values: Iterable[str]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(value.strip(), strict=False) for value in values)


def resolve_checked(
    host: str, port: int, allowed: Sequence[IPNetwork]
) -> list[tuple[Any, ...]]:
    """getaddrinfo for `host`, refusing it if any address is forbidden."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise RetryableError(f"cannot resolve {host}: {exc}") from exc
    for info in infos:
        reason = address_refusal(info[4][0], allowed)
        if reason is not None:
            raise BlockedAddressError(f"{host} resolves to {info[4][0]}, {reason}")
    return infos


class _Deadline(threading.local):
    at: float | None = None


_deadline = _Deadline()


def _remaining(timeout: float | None, exc: type[Exception]) -> float | None:
    if _deadline.at is None:
        return timeout
    left = _deadline.at - time.monotonic()
    if left <= 0:
        raise exc("request deadline exceeded")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _remaining(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _remaining(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None):
        inner = self._inner.start_tls(
            ssl_context, server_hostname, _remaining(timeout, httpcore.ConnectTimeout)
        )
        return _DeadlineStream(inner)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class GuardedBackend(httpcore.SyncBackend):
    """Connects only to addresses the SSRF guard accepts."""

    def __init__(self, allowed: Sequence[IPNetwork]) -> None:
        self.allowed = tuple(allowed)

    def connect_tcp(
        self, host, port, timeout=None, local_address=None, socket_options=None
    ):
        infos = resolve_checked(host, port, self.allowed)
        last: Exception | None = None
        for info in infos:
            address = info[4][0]
            try:
                stream = super().connect_tcp(
                    address,
                    port,
                    _remaining(timeout, httpcore.ConnectTimeout),
                    local_address,
                    socket_options,
                )
            except httpcore.ConnectError as exc:
                last = exc
                continue
            return _DeadlineStream(stream)
        raise last or httpcore.ConnectError(f"cannot connect to {host}")

    def connect_unix_socket(self, *args, **kwargs):
        raise BlockedAddressError("unix sockets are not a delivery target")


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport with the guarded backend and an overall deadline."""

    def __init__(self, *, allowed: Sequence[IPNetwork], total: float, **kwargs):
        super().__init__(**kwargs)
        self._total = total
        # httpx builds its pool without a way to pass a network backend; we
        # rebuild it with the same TLS context (httpx pinned to <1 for this).
        ssl_context = self._pool._ssl_context
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=20,
            max_keepalive_connections=10,
            keepalive_expiry=30.0,
            network_backend=GuardedBackend(allowed),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        _deadline.at = time.monotonic() + self._total
        return super().handle_request(request)


def http_client(target: TargetConfig, **kwargs: Any) -> httpx.Client:
    """An httpx.Client for `target`: SSRF-guarded, time-outs on every call
    and no request longer than target.timeout seconds overall. Proxies from
    the environment are ignored (they would bypass the guard)."""
    transport = GuardedTransport(
        allowed=parse_networks(target.allowed_networks), total=target.timeout
    )
    return httpx.Client(
        transport=transport,
        timeout=httpx.Timeout(target.timeout),
        follow_redirects=False,
        trust_env=False,
        **kwargs,
    )


def http_error(exc: Exception) -> ConnectorError:
    """Classify an httpx exception (time-outs and resets are retryable, a
    malformed URL is permanent)."""
    if isinstance(exc, ConnectorError):
        return exc
    if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol):
        return PermanentError(f"bad URL: {exc}")
    if isinstance(exc, httpx.TimeoutException):
        return RetryableError(f"time-out: {exc}")
    if isinstance(exc, httpx.TransportError):
        return RetryableError(f"connection failed: {exc.__class__.__name__} {exc}")
    raise exc


def response_error(response: httpx.Response) -> ConnectorError:
    """Classify an unsuccessful response by status and Retry-After."""
    return error_from_status(
        response.status_code,
        retry_after=retry_after_seconds(response.headers.get("retry-after")),
        detail=response.text[:2000],
    )
