"""The connector interface every target system implements.

A connector turns an outbound message (one golden-record change, already
coalesced to the latest snapshot) into calls on a target system, and
classifies whatever goes wrong so the delivery worker knows whether to
retry, back off, park the delivery as a conflict, or dead-letter it.

Connectors are plain classes: they never touch the delivery tables, never
read Django settings at import time, and never sleep or retry themselves
(the worker owns retries, backoff, the circuit breaker and the rate limit).
They may keep a session (an OAuth token, a login cookie) between calls: the
worker builds one connector per target and process and reuses it.
"""

from __future__ import annotations

import copy
import hashlib
import json
import time
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any, ClassVar

# ---------------------------------------------------------------------------
# What a target can do


@dataclass(frozen=True)
class Capabilities:
    """What a connector declares about its target system.

    native_upsert: the target upserts by an external key in one call (no
        find-then-create round trip).
    batch_size: most messages `deliver_many` sends in one call (1 = none).
    version_check: the target can refuse a write when its record changed
        since a given version (ETag/If-Match, a modify date, a version field).
    webhooks: the target pushes change notifications (`parse_webhook`).
    changes_since: the target lists changes after a cursor (`changes_since`).
    concurrency: how many `deliver` calls (each for another golden ID) may be
        in flight at once from one worker; >1 only where `deliver` is
        thread-safe (no session state shared between calls).
    """

    native_upsert: bool = False
    batch_size: int = 1
    concurrency: int = 1
    version_check: bool = False
    webhooks: bool = False
    changes_since: bool = False


# ---------------------------------------------------------------------------
# Errors: every failure a connector raises is one of these


class ConnectorError(Exception):
    """A failed call to a target system.

    `permanent` errors are not retried (dead-lettered at once); the others
    are retried with backoff until the target's retry budget is spent.
    `status` is the HTTP status (or None), `retry_after` seconds the target
    asked us to wait, `detail` the target's error body (shortened) for
    the delivery log.
    """

    permanent: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        detail: str = "",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        self.detail = detail[:2000]


class RetryableError(ConnectorError):
    """Transient: 5xx, time-out, connection reset, an ambiguous commit."""


class RateLimitedError(RetryableError):
    """The target asked us to slow down (429, REQUEST_LIMIT_EXCEEDED): the
    whole target pauses for `retry_after` seconds, not only this delivery."""


class AuthExpiredError(RetryableError):
    """Credentials expired and one refresh inside the connector did not
    help; retried with backoff (an operator may have to renew a secret)."""


class ConflictError(ConnectorError):
    """The remote record changed since our last push (version check
    failed). The delivery is parked as a conflict and the link marked so;
    it is not retried blindly (three-way merge or a steward decides)."""

    permanent = True


class RemoteDeletedError(ConflictError):
    """The remote record we are linked to was deleted or archived in the
    target. We never re-create it silently: parked as a conflict."""

    def __init__(self, message: str, *, archived: bool = False, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.archived = archived


class PermanentError(ConnectorError):
    """The target refuses this message for good (validation, 4xx): retrying
    cannot help; the delivery goes to the dead letters at once."""

    permanent = True


class EndpointGoneError(PermanentError):
    """HTTP 410: the endpoint is gone. The worker suspends the whole target
    (its deliveries wait, none are lost) until an operator resumes it."""


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """Parse a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def error_from_status(
    status: int, *, retry_after: float | None = None, detail: str = ""
) -> ConnectorError:
    """The usual meaning of an HTTP status, for connectors whose target has
    no better error envelope: 429 (and 503 with Retry-After) rate-limited,
    408/425/5xx retryable, 401 auth expired, 409/412 conflict, 410 gone,
    other 4xx permanent."""
    message = f"HTTP {status}"
    if status == 429 or (status == 503 and retry_after is not None):
        return RateLimitedError(
            message, status=status, retry_after=retry_after, detail=detail
        )
    if status in (408, 425) or status >= 500:
        return RetryableError(
            message, status=status, retry_after=retry_after, detail=detail
        )
    if status == 401:
        return AuthExpiredError(message, status=status, detail=detail)
    if status in (409, 412):
        return ConflictError(message, status=status, detail=detail)
    if status == 410:
        return EndpointGoneError(message, status=status, detail=detail)
    return PermanentError(message, status=status, detail=detail)


# ---------------------------------------------------------------------------
# Messages in, link updates out


@dataclass(frozen=True)
class LinkRecord:
    """What we know about one golden record in one target system: the row
    of the link table (mdm.RemoteLink) handed to connectors read-only.

    `pushed` is the mapped payload we last wrote (the base of a three-way
    merge); `pushed_hash` its `payload_hash`.
    """

    golden_id: str
    target: str
    remote_id: str
    remote_version: str = ""
    pushed: Mapping[str, Any] = field(default_factory=dict)
    pushed_hash: str = ""
    state: str = "linked"  # linked | remote_archived | remote_deleted | conflict


@dataclass(frozen=True)
class OutboundMessage:
    """One delivery as a connector sees it.

    event_id is the idempotency key (stable across retries and replays);
    payload is the outbox event's payload: golden_id, version, status,
    id_card, members [{system, source_id}], and for merges `absorbed`
    (golden IDs folded into this one). `coalesced` lists the ids of older
    events this snapshot supersedes; `absorbed` is their union with ours.
    `links` holds this target's link rows for golden_id and every absorbed
    golden ID, keyed by golden ID.
    """

    event_id: str
    topic: str
    golden_id: str
    version: int
    payload: Mapping[str, Any]
    occurred_at: str
    coalesced: tuple[str, ...] = ()
    links: Mapping[str, LinkRecord] = field(default_factory=dict)

    @property
    def link(self) -> LinkRecord | None:
        return self.links.get(self.golden_id)

    @property
    def absorbed(self) -> tuple[str, ...]:
        return tuple(self.payload.get("absorbed", ()))

    def body(self) -> dict[str, Any]:
        """The wire form sent to webhook receivers (and logged)."""
        return {
            "id": self.event_id,
            "type": self.topic,
            "golden_id": self.golden_id,
            "version": self.version,
            "occurred_at": self.occurred_at,
            "coalesced": list(self.coalesced),
            "data": dict(self.payload),
        }


@dataclass(frozen=True)
class LinkUpdate:
    """What a successful delivery tells the worker to record in the link
    table for one golden ID (the message's own, or an absorbed one)."""

    golden_id: str
    remote_id: str = ""
    remote_version: str = ""
    pushed: Mapping[str, Any] = field(default_factory=dict)
    state: str = "linked"


@dataclass(frozen=True)
class RemoteRecord:
    """A record read from the target (find, changes_since, webhooks)."""

    remote_id: str
    remote_version: str = ""
    fields: Mapping[str, Any] = field(default_factory=dict)
    golden_id: str = ""  # our external key on the remote record, if any
    deleted: bool = False
    archived: bool = False


@dataclass(frozen=True)
class ChangePage:
    """One page of `changes_since`: the records and the cursor to store."""

    records: Sequence[RemoteRecord]
    next_cursor: str
    more: bool = False


def payload_hash(payload: Mapping[str, Any]) -> str:
    """A stable digest of a mapped payload (key order does not matter)."""
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


# ---------------------------------------------------------------------------
# Declarative outbound field mapping with ownership


class Ownership(StrEnum):
    OURS = "ours"  # always written: MDM is the master of this field
    THEIRS = "theirs"  # written only when we create the remote record
    FILL_IF_EMPTY = "fill_if_empty"  # written on create or when remote is empty
    # Written like OURS, but when the target's users changed it too since our
    # last push, a steward decides (connectors/three_way.py).
    STEWARD = "steward"


_MISSING = object()


def path_get(data: Any, path: str, default: Any = None) -> Any:
    """Read a dotted path ("id_card.addresses.0.city") from dicts/lists."""
    current = data
    for part in path.split("."):
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        elif isinstance(current, Sequence) and not isinstance(current, str):
            try:
                current = current[int(part)]
            except (ValueError, IndexError):
                return default
        else:
            return default
    return current


def path_set(data: dict[str, Any], path: str, value: Any) -> None:
    """Write a dotted path into nested dicts, creating them as needed."""
    parts = path.split(".")
    current = data
    for part in parts[:-1]:
        current = current.setdefault(part, {})
    current[parts[-1]] = value


def path_drop(data: Mapping[str, Any], paths: Iterable[str]) -> dict[str, Any]:
    """A copy of `data` without the leaves at `paths` (emptied parents go)."""
    out = copy.deepcopy(dict(data))
    for path in paths:
        *parents, leaf = path.split(".")
        chain, current = [], out
        for part in parents:
            if not isinstance(current, dict) or part not in current:
                break
            chain.append((current, part))
            current = current[part]
        else:
            if isinstance(current, dict):
                current.pop(leaf, None)
            for parent, part in reversed(chain):
                if parent[part] == {}:
                    del parent[part]
    return out


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


@dataclass(frozen=True)
class FieldRule:
    """One remote field: where its value comes from and who owns it.

    target: dotted path in the remote payload ("FName", "BillingAddress.City").
    source: dotted path in the outbound message's view (see
        `FieldMapping.apply`); or None with `constant` set.
    constant: a value the target requires (an org code, a record type).
    value_map: translate our values to theirs ({"A": "VIP"}); values not
        in the map pass through unless `value_map_strict`, then `default`.
    default: used when the source is missing or empty (None: field omitted).
    max_length: truncate strings the target would reject.
    """

    target: str
    source: str | None = None
    constant: Any = None
    value_map: Mapping[str, Any] | None = None
    value_map_strict: bool = False
    default: Any = None
    max_length: int | None = None
    ownership: Ownership = Ownership.OURS

    def value(self, view: Mapping[str, Any]) -> Any:
        if self.source is None:
            return copy.deepcopy(self.constant)
        value = path_get(view, self.source)
        if self.value_map is not None and not _is_empty(value):
            key = str(value)
            if key in self.value_map:
                value = self.value_map[key]
            elif self.value_map_strict:
                value = None
        if _is_empty(value):
            value = copy.deepcopy(self.default)
        if self.max_length and isinstance(value, str):
            value = value[: self.max_length]
        return value

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FieldRule:
        return cls(
            target=data["target"],
            source=data.get("source"),
            constant=data.get("constant"),
            value_map=data.get("value_map"),
            value_map_strict=bool(data.get("value_map_strict", False)),
            default=data.get("default"),
            max_length=data.get("max_length"),
            ownership=Ownership(data.get("ownership", Ownership.OURS)),
        )

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"target": self.target, "ownership": str(self.ownership)}
        for name in ("source", "constant", "value_map", "default", "max_length"):
            if getattr(self, name) is not None:
                data[name] = getattr(self, name)
        if self.value_map_strict:
            data["value_map_strict"] = True
        return data


@dataclass(frozen=True)
class FieldMapping:
    """A per-target outbound mapping, kept as data (JSON in the target's
    config, or a connector's default)."""

    rules: tuple[FieldRule, ...]

    @classmethod
    def from_data(cls, data: Sequence[Mapping[str, Any]]) -> FieldMapping:
        return cls(rules=tuple(FieldRule.from_dict(item) for item in data))

    def to_data(self) -> list[dict[str, Any]]:
        return [rule.to_dict() for rule in self.rules]

    def apply(
        self, message: OutboundMessage, *, remote: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """The remote payload for `message`, honouring ownership.

        `remote` is the target's current record (None when creating it):
        THEIRS fields are written only on create, FILL_IF_EMPTY fields on
        create or where the remote value is empty, OURS fields always.
        Sources are dotted paths into {"golden_id", "version", "topic",
        "status", "id_card": {...}, "members": [...], "absorbed": [...]}.
        Fields whose value is None are omitted.
        """
        view = message_view(message)
        out: dict[str, Any] = {}
        for rule in self.rules:
            if remote is not None:
                if rule.ownership is Ownership.THEIRS:
                    continue
                if rule.ownership is Ownership.FILL_IF_EMPTY and not _is_empty(
                    path_get(remote, rule.target)
                ):
                    continue
            value = rule.value(view)
            if value is not None:
                path_set(out, rule.target, value)
        return out


def message_view(message: OutboundMessage) -> dict[str, Any]:
    """The flat dict field-mapping sources are resolved against."""
    payload = message.payload
    return {
        "golden_id": message.golden_id,
        "version": message.version,
        "topic": message.topic,
        "event_id": message.event_id,
        "status": payload.get("status", ""),
        "id_card": payload.get("id_card", {}),
        "members": payload.get("members", []),
        "absorbed": list(message.absorbed),
    }


# ---------------------------------------------------------------------------
# The connector


@dataclass(frozen=True)
class TargetConfig:
    """A delivery target as handed to its connector: its name, its
    non-secret config (JSON from the DeliveryTarget row), its secrets
    (resolved from the environment variables the config names), the
    per-request time-out, and the networks a private/loopback address may
    be reached in (settings CONNECTOR_ALLOWED_NETWORKS). Build HTTP clients
    with `connectors.http.http_client(target)`: SSRF guard and time-out
    included."""

    name: str
    kind: str
    config: Mapping[str, Any]
    secrets: Mapping[str, str]
    timeout: float = 30.0
    allowed_networks: tuple[str, ...] = ()


class Connector(ABC):
    """Base class of all connectors. Subclasses set `kind` and
    `capabilities` and implement at least `deliver`.

    The worker calls `deliver` (or `deliver_many` when batch_size > 1);
    both must be idempotent under the message's event_id: a retry or a
    replay of the same event must not create a second remote record.
    """

    kind: ClassVar[str]
    capabilities: ClassVar[Capabilities] = Capabilities()
    # The mapping used when the target's config has no "mapping" of its own.
    default_mapping: ClassVar[FieldMapping] = FieldMapping(rules=())

    def __init__(self, target: TargetConfig) -> None:
        self.target = target

    @property
    def mapping(self) -> FieldMapping:
        data = self.target.config.get("mapping")
        return FieldMapping.from_data(data) if data else self.default_mapping

    def map_outbound(
        self, message: OutboundMessage, *, remote: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Our payload for the target (ownership applied against `remote`)."""
        return self.mapping.apply(message, remote=remote)

    @abstractmethod
    def deliver(self, message: OutboundMessage) -> Sequence[LinkUpdate]:
        """Apply one change to the target; return the link rows to record
        (for the message's golden ID and, after a merge, absorbed ones).
        Raise a ConnectorError subclass on failure."""

    def deliver_many(
        self, messages: Sequence[OutboundMessage]
    ) -> list[Sequence[LinkUpdate] | ConnectorError]:
        """Deliver a batch (at most capabilities.batch_size): one result per
        message, in order: its link updates or the error it met. A connector
        with a batch API overrides this; an error raised here (not returned)
        fails the whole batch."""
        results: list[Sequence[LinkUpdate] | ConnectorError] = []
        for message in messages:
            try:
                results.append(self.deliver(message))
            except ConnectorError as exc:
                results.append(exc)
        return results

    def find(self, message: OutboundMessage) -> RemoteRecord | None:
        """The target's record for this golden ID (by link or external key)."""
        raise NotImplementedError(f"{self.kind} cannot look records up")

    def read(self, remote_id: str) -> RemoteRecord | None:
        """The target's record `remote_id` (None: it does not exist)."""
        raise NotImplementedError(f"{self.kind} cannot read records")

    # Most remote IDs one `read_many` call takes (1: the target has no batch
    # read); a connector whose target has one sets it, per target if need be.
    read_batch_size: int = 1

    def read_many(self, remote_ids: Sequence[str]) -> dict[str, RemoteRecord | None]:
        """The target's records `remote_ids` (at most `read_batch_size`),
        keyed by remote ID, None for one that does not exist. The default
        reads them one by one; connectors override it with the target's
        batch read."""
        return {remote_id: self.read(remote_id) for remote_id in remote_ids}

    def source_id(self, record: RemoteRecord) -> str:
        """The key of `record` as a source record of the target's source
        system (what its REST pushes and imports use)."""
        return record.remote_id

    def upsert(
        self,
        message: OutboundMessage,
        *,
        expected_version: str | None = None,
        keep: Collection[str] = (),
    ) -> LinkUpdate:
        """Create or update the remote record; with `expected_version`
        (capabilities.version_check) raise ConflictError if it moved on.

        `expected_version` means the caller merged against that version
        (connectors/three_way.py), so no foreign-edit check is made; `keep`
        names the mapped paths the merge left to the target (not written).
        """
        raise NotImplementedError(f"{self.kind} cannot upsert")

    def deliver_merged(
        self, message: OutboundMessage, *, expected_version: str, keep: Collection[str]
    ) -> Sequence[LinkUpdate]:
        """`deliver` after a three-way merge: write against
        `expected_version`, leaving the `keep` paths as the target has them."""
        return [self.upsert(message, expected_version=expected_version, keep=keep)]

    def changes_since(self, cursor: str | None) -> ChangePage:
        """Remote changes after `cursor` (None: from the beginning)."""
        raise NotImplementedError(f"{self.kind} cannot list changes")

    def parse_webhook(
        self, *, headers: Mapping[str, str], body: bytes
    ) -> Sequence[RemoteRecord]:
        """Verify and parse an inbound notification from the target."""
        raise NotImplementedError(f"{self.kind} sends no webhooks")

    def close(self) -> None:
        """Release sessions and sockets (called when the worker stops)."""
        return None
