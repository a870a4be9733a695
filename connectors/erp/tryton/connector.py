"""Tryton ERP connector: one party.party per golden record.

Configuration (the target's JSON config; the password is a secret):

    url             http(s)://host:8000 of trytond
    database        the Tryton database name
    username        a Tryton user allowed to read and write parties
    secrets.password
    language        login language (default "en")
    rpc_path        "rpc/" (trytond 7.2 and later); "" for older servers
    source_system   our code for this ERP as a source system, if its parties
                    are also imported: a member (system, source_id) then
                    names the party code to link to
    absorbed        "deactivate" (default) or "keep": what happens to the
                    party of a golden record absorbed by a merge
    read_batch_size parties per read (reconciliation; default 200)
    mapping         a FieldMapping as data, replacing DEFAULT_MAPPING

The party code is the golden ID. The version is Tryton's own `_timestamp`
(the epoch of write_date, else create_date): writes send it back in the
context and Tryton raises ConcurrencyException if the party moved on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from typing import Any

from connectors.base import (
    Capabilities,
    ChangePage,
    ConflictError,
    Connector,
    LinkUpdate,
    OutboundMessage,
    PermanentError,
    RemoteDeletedError,
    RemoteRecord,
    TargetConfig,
    path_drop,
)
from connectors.erp.common import raise_on_foreign_edits
from connectors.erp.tryton import mapping
from connectors.erp.tryton.client import TrytonClient
from connectors.http import http_client

PARTY = "party.party"
ALL = {"active_test": False}
PAGE = 200


class TrytonConnector(Connector):
    kind = "tryton"
    capabilities = Capabilities(
        native_upsert=False, batch_size=1, version_check=True, changes_since=True
    )
    default_mapping = mapping.DEFAULT_MAPPING

    def __init__(self, target: TargetConfig, *, client: TrytonClient | None = None):
        super().__init__(target)
        config = target.config
        for key in ("url", "database", "username"):
            if not config.get(key):
                raise PermanentError(f"Tryton target {target.name}: {key!r} is not set")
        self.client = client or TrytonClient(
            http=http_client(target),
            url=config["url"],
            database=config["database"],
            username=config["username"],
            password=target.secrets.get("password", ""),
            language=config.get("language", "en"),
            rpc_path=config.get("rpc_path", "rpc/"),
        )
        self.read_batch_size = max(1, int(config.get("read_batch_size", PAGE)))

    # Reading

    def map_outbound(
        self, message: OutboundMessage, *, remote: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        id_card = dict(message.payload.get("id_card") or {})
        id_card["derived"] = mapping.derived_view(id_card)
        enriched = replace(message, payload={**message.payload, "id_card": id_card})
        return self.mapping.apply(enriched, remote=remote)

    def _record(self, party: Mapping[str, Any]) -> tuple[RemoteRecord, dict[str, Any]]:
        children = mapping.party_children(party)
        fields = mapping.party_to_fields(party, **children)
        record = RemoteRecord(
            remote_id=str(party["id"]),
            remote_version=str(party["_timestamp"]),
            fields=fields,
            golden_id=party.get("code") or "",
            archived=not party.get("active", True),
        )
        return record, children

    def _party_by(self, domain: list[Any]) -> dict[str, Any] | None:
        found = self.client.search_read(
            PARTY, domain, mapping.READ_FIELDS, limit=2, context=ALL
        )
        return found[0] if found else None

    def _locate(self, message: OutboundMessage) -> dict[str, Any] | None:
        link = message.link
        if link and link.remote_id:
            party = self._party_by([["id", "=", int(link.remote_id)]])
            if party is None:
                raise RemoteDeletedError(
                    f"Tryton party {link.remote_id} of {message.golden_id} was deleted"
                )
            return party
        system = self.target.config.get("source_system")
        codes = [
            m["source_id"]
            for m in message.payload.get("members", [])
            if system and m.get("system") == system
        ]
        for code in [*codes, message.golden_id]:
            party = self._party_by([["code", "=", code]])
            if party is not None:
                return party
        return None

    def find(self, message: OutboundMessage) -> RemoteRecord | None:
        party = self._locate(message)
        return self._record(party)[0] if party else None

    # Writing

    def _version(self, party_id: int) -> str:
        return str(
            self.client.read(PARTY, [party_id], ["_timestamp"], ALL)[0]["_timestamp"]
        )

    def _write(self, party_id: int, values: dict[str, Any], version: str) -> str:
        context = {**ALL, "_timestamp": {f"{PARTY},{party_id}": version}}
        self.client.write(PARTY, [party_id], values, context)
        return self._version(party_id)

    def read(self, remote_id: str) -> RemoteRecord | None:
        party = self._party_by([["id", "=", int(remote_id)]])
        return self._record(party)[0] if party else None

    def read_many(self, remote_ids: Sequence[str]) -> dict[str, RemoteRecord | None]:
        """One search_read of the parties by id, children included."""
        parties = self.client.search_read(
            PARTY,
            [["id", "in", [int(remote_id) for remote_id in remote_ids]]],
            mapping.READ_FIELDS,
            context=ALL,
        )
        found = {str(party["id"]): self._record(party)[0] for party in parties}
        return {remote_id: found.get(remote_id) for remote_id in remote_ids}

    def source_id(self, record: RemoteRecord) -> str:
        # ERP source records are keyed by the party code.
        return record.golden_id or record.remote_id

    def upsert(
        self,
        message: OutboundMessage,
        *,
        expected_version: str | None = None,
        keep: Collection[str] = (),
    ) -> LinkUpdate:
        party = self._locate(message)
        if party is None:
            payload = self.map_outbound(message)
            if message.payload.get("status", "active") != "active":
                return LinkUpdate(golden_id=message.golden_id, state="remote_archived")
            [party_id] = self.client.create(PARTY, [mapping.create_values(payload)])
            return LinkUpdate(
                golden_id=message.golden_id,
                remote_id=str(party_id),
                remote_version=self._version(party_id),
                pushed=payload,
            )
        current, children = self._record(party)
        link = message.link
        active = message.payload.get("status", "active") == "active"
        unexpected = link is None or link.state != "remote_archived"
        if active and current.archived and unexpected:
            # Archived by an ERP user, not by us: reactivating it silently
            # would undo their decision.
            raise RemoteDeletedError(
                f"Tryton party {current.remote_id} was archived in Tryton",
                archived=True,
            )
        if expected_version and current.remote_version != expected_version:
            raise ConflictError(
                f"Tryton party {current.remote_id} is at version "
                f"{current.remote_version}, expected {expected_version}"
            )
        payload = path_drop(self.map_outbound(message, remote=current.fields), keep)
        if not expected_version:
            raise_on_foreign_edits(
                link=message.link,
                current=current,
                payload=payload,
                mapping=self.mapping,
            )
        values = mapping.write_values(
            payload,
            current=current.fields,
            pushed=link.pushed if link else {},
            **children,
        )
        if bool(party.get("active", True)) != active:
            values["active"] = active
        version = current.remote_version
        if values:
            version = self._write(party["id"], values, current.remote_version)
        return LinkUpdate(
            golden_id=message.golden_id,
            remote_id=current.remote_id,
            remote_version=version,
            pushed={**current.fields, **payload},
            state="linked" if active else "remote_archived",
        )

    def _retire_absorbed(self, message: OutboundMessage, keep: str) -> list[LinkUpdate]:
        if self.target.config.get("absorbed", "deactivate") != "deactivate":
            return []
        updates = []
        for golden_id in message.absorbed:
            link = message.links.get(golden_id)
            if not link or not link.remote_id or link.remote_id == keep:
                continue
            party = self._party_by([["id", "=", int(link.remote_id)]])
            if party is None:
                updates.append(
                    LinkUpdate(
                        golden_id=golden_id,
                        remote_id=link.remote_id,
                        state="remote_deleted",
                    )
                )
                continue
            version = str(party["_timestamp"])
            if party.get("active", True):
                version = self._write(party["id"], {"active": False}, version)
            updates.append(
                LinkUpdate(
                    golden_id=golden_id,
                    remote_id=link.remote_id,
                    remote_version=version,
                    pushed=link.pushed,
                    state="remote_archived",
                )
            )
        return updates

    def deliver(self, message: OutboundMessage) -> Sequence[LinkUpdate]:
        update = self.upsert(message)
        return [update, *self._retire_absorbed(message, update.remote_id)]

    def deliver_merged(
        self, message: OutboundMessage, *, expected_version: str, keep: Collection[str]
    ) -> Sequence[LinkUpdate]:
        update = self.upsert(message, expected_version=expected_version, keep=keep)
        return [update, *self._retire_absorbed(message, update.remote_id)]

    # Changes

    def changes_since(self, cursor: str | None) -> ChangePage:
        """Parties modified after `cursor` ("<_timestamp>|<id>"), oldest
        first, by Tryton's `last_modified_at` (write date, else create date;
        naive UTC). Parties modified in the cursor's own instant are read
        again and skipped by id, so none are lost at a page boundary."""
        since_ts, since_id = cursor.split("|") if cursor else ("0", "0")
        since = dt.datetime.fromtimestamp(float(since_ts), dt.UTC).replace(tzinfo=None)
        since = since.replace(microsecond=0)  # compare on whole seconds, then filter
        parties = self.client.search_read(
            PARTY,
            [["last_modified_at", ">=", since]],
            mapping.READ_FIELDS,
            limit=PAGE,
            order=[["last_modified_at", "ASC"], ["id", "ASC"]],
            context=ALL,
        )
        position = (float(since_ts), int(since_id))
        page = [p for p in parties if (float(p["_timestamp"]), p["id"]) > position]
        next_cursor = cursor or "0|0"
        if page:
            next_cursor = f"{page[-1]['_timestamp']}|{page[-1]['id']}"
        return ChangePage(
            records=[self._record(p)[0] for p in page],
            next_cursor=next_cursor,
            more=len(parties) == PAGE,
        )

    def close(self) -> None:
        self.client.logout()
        self.client.http.close()
