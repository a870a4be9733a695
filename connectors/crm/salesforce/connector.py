"""Salesforce CRM connector: one Account per golden record.

Configuration (the target's JSON config; client secret and refresh token
are secrets):

    login_url           https://login.salesforce.com, a My Domain URL, or
                        https://test.salesforce.com for a sandbox
    client_id           the connected app's consumer key
    secrets.client_secret
    secrets.refresh_token   optional: without it the client-credentials flow
    api_version         "60.0" (default)
    external_id_field   "Golden_ID__c" (default)
    source_system       our code for this CRM as a source system: a member
                        (system, source_id) then names the Account Id
    all_or_none         sObject Collections allOrNone (default false: one
                        bad record does not hold back the other 199)
    batch_size          at most 200 (the Collections limit; default 200)
    read_batch_size     Accounts per Collections read (reconciliation), at
                        most 200 (default 200)
    mapping             a FieldMapping as data, replacing the default

The version is the Account's SystemModstamp. A single delivery reads the
Account (with its ETag) and writes with If-Match, so an edit between read
and write is a 412 conflict; a batch reads all its Accounts with one SOQL
query, checks each, and upserts by external ID in one Collections call
(Collections have no If-Match: the window between the query and the write
is the price of 200 records in three calls).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from typing import Any

from connectors.base import (
    Capabilities,
    ChangePage,
    ConflictError,
    Connector,
    ConnectorError,
    FieldMapping,
    LinkUpdate,
    OutboundMessage,
    PermanentError,
    RemoteDeletedError,
    RemoteRecord,
    TargetConfig,
    path_drop,
)
from connectors.crm.salesforce import mapping
from connectors.crm.salesforce.client import (
    SalesforceClient,
    classify_code,
    soql_literal,
)
from connectors.erp.common import foreign_edits, raise_on_foreign_edits
from connectors.http import http_client

COLLECTION_LIMIT = 200
PAGE = 200


def _soql_datetime(version: str) -> str:
    # "2026-01-05T09:00:00.000+0000" -> 2026-01-05T09:00:00Z (whole seconds;
    # the cursor's own second is filtered by Id afterwards).
    return version[:19] + "Z"


class SalesforceConnector(Connector):
    kind = "salesforce"
    capabilities = Capabilities(
        native_upsert=True,
        batch_size=COLLECTION_LIMIT,
        version_check=True,
        changes_since=True,
    )

    def __init__(self, target: TargetConfig, *, client: SalesforceClient | None = None):
        super().__init__(target)
        config = target.config
        for key in ("login_url", "client_id"):
            if not config.get(key):
                raise PermanentError(
                    f"Salesforce target {target.name}: {key!r} is not set"
                )
        self.external_id = config.get("external_id_field", "Golden_ID__c")
        self._etags: dict[str, str] = {}
        self.client = client or SalesforceClient(
            http=http_client(target),
            login_url=config["login_url"],
            client_id=config["client_id"],
            client_secret=target.secrets.get("client_secret", ""),
            refresh_token=target.secrets.get("refresh_token", ""),
            api_version=str(config.get("api_version", "60.0")),
        )
        size = int(config.get("batch_size", COLLECTION_LIMIT))
        self.capabilities = replace(
            self.capabilities, batch_size=max(1, min(size, COLLECTION_LIMIT))
        )
        reads = int(config.get("read_batch_size", COLLECTION_LIMIT))
        self.read_batch_size = max(1, min(reads, COLLECTION_LIMIT))

    @property
    def mapping(self) -> FieldMapping:
        data = self.target.config.get("mapping")
        return (
            FieldMapping.from_data(data)
            if data
            else mapping.default_mapping(self.external_id)
        )

    @property
    def fields(self) -> tuple[str, ...]:
        names = {rule.target.split(".")[0] for rule in self.mapping.rules}
        return tuple(sorted(names | {self.external_id}))

    def map_outbound(
        self, message: OutboundMessage, *, remote: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        id_card = dict(message.payload.get("id_card") or {})
        id_card["derived"] = mapping.derived_view(id_card)
        enriched = replace(message, payload={**message.payload, "id_card": id_card})
        return self.mapping.apply(enriched, remote=remote)

    def _path(self, *parts: str) -> str:
        return "/".join([f"{self.client.base}/sobjects/{mapping.SOBJECT}", *parts])

    # Reading

    def _record(self, data: Mapping[str, Any]) -> RemoteRecord:
        fields = mapping.record_to_fields(data, self.fields)
        return RemoteRecord(
            remote_id=data["Id"],
            remote_version=data.get("SystemModstamp") or "",
            fields=fields,
            golden_id=fields.get(self.external_id) or "",
        )

    def _get(self, *parts: str) -> RemoteRecord | None:
        columns = ",".join(("Id", "SystemModstamp", *self.fields))
        try:
            response = self.client.request(
                "GET", self._path(*parts), params={"fields": columns}
            )
        except RemoteDeletedError:
            return None
        record = self._record(response.json())
        # The ETag of the read, for the If-Match of the write that follows.
        self._etags[record.remote_id] = response.headers.get("etag", "")
        return record

    def _member_ids(self, message: OutboundMessage) -> list[str]:
        system = self.target.config.get("source_system")
        return [
            m["source_id"]
            for m in message.payload.get("members", [])
            if system and m.get("system") == system
        ]

    def find(self, message: OutboundMessage) -> RemoteRecord | None:
        link = message.link
        if link and link.remote_id:
            record = self._get(link.remote_id)
            if record is None:
                raise RemoteDeletedError(
                    f"Salesforce Account {link.remote_id} of {message.golden_id} "
                    "was deleted"
                )
            return record
        for account_id in self._member_ids(message):
            record = self._get(account_id)
            if record is not None:
                return record
        return self._get(self.external_id, message.golden_id)

    # Writing

    def _version(self, account_id: str) -> str:
        response = self.client.request(
            "GET", self._path(account_id), params={"fields": "Id,SystemModstamp"}
        )
        return response.json()["SystemModstamp"]

    def read(self, remote_id: str) -> RemoteRecord | None:
        return self._get(remote_id)

    def read_many(self, remote_ids: Sequence[str]) -> dict[str, RemoteRecord | None]:
        """One sObject Collections read (`GET /composite/sobjects/Account?ids=
        …&fields=…`): its answer lists one entry per id, in order, null for
        an id that is not (or no longer) readable."""
        response = self.client.request(
            "GET",
            f"{self.client.base}/composite/sobjects/{mapping.SOBJECT}",
            params={
                "ids": ",".join(remote_ids),
                "fields": ",".join(("Id", "SystemModstamp", *self.fields)),
            },
        )
        return {
            remote_id: self._record(row) if row else None
            for remote_id, row in zip(remote_ids, response.json(), strict=True)
        }

    def upsert(
        self,
        message: OutboundMessage,
        *,
        expected_version: str | None = None,
        keep: Collection[str] = (),
    ) -> LinkUpdate:
        current = self.find(message)
        if current is None:
            if message.payload.get("status", "active") != "active":
                return LinkUpdate(golden_id=message.golden_id, state="remote_archived")
            payload = self.map_outbound(message)
            body = {k: v for k, v in payload.items() if k != self.external_id}
            response = self.client.request(
                "PATCH", self._path(self.external_id, message.golden_id), body=body
            )
            account_id = response.json()["id"]
            return LinkUpdate(
                golden_id=message.golden_id,
                remote_id=account_id,
                remote_version=self._version(account_id),
                pushed=payload,
            )
        if expected_version and current.remote_version != expected_version:
            raise ConflictError(
                f"Salesforce Account {current.remote_id} modified at "
                f"{current.remote_version}, expected {expected_version}"
            )
        etag = self._etags.pop(current.remote_id, "")
        fields = current.fields
        payload = path_drop(self.map_outbound(message, remote=fields), keep)
        if not expected_version:
            raise_on_foreign_edits(
                link=message.link,
                current=current,
                payload=payload,
                mapping=self.mapping,
            )
        changes = mapping.changed_fields(payload, fields)
        version = current.remote_version
        if changes:
            self.client.request(
                "PATCH",
                self._path(current.remote_id),
                body=changes,
                headers={"If-Match": etag} if etag else {},
            )
            version = self._version(current.remote_id)
        return LinkUpdate(
            golden_id=message.golden_id,
            remote_id=current.remote_id,
            remote_version=version,
            pushed={**fields, **payload},
        )

    def deliver(self, message: OutboundMessage) -> Sequence[LinkUpdate]:
        return [self.upsert(message)]

    def _query_accounts(self, where: str) -> list[dict[str, Any]]:
        columns = ", ".join(("Id", "SystemModstamp", *self.fields))
        return self.client.query(
            f"SELECT {columns} FROM {mapping.SOBJECT} WHERE {where}"
        )

    def deliver_many(
        self, messages: Sequence[OutboundMessage]
    ) -> list[Sequence[LinkUpdate] | ConnectorError]:
        """Up to 200 messages in three calls: one SOQL read, one Collections
        upsert by external ID, one SOQL read of the new versions. Messages
        needing more (an Account linked by a CRM source record that does not
        carry the golden ID yet) go through `deliver` one by one."""
        results: list[Sequence[LinkUpdate] | ConnectorError | None] = [None] * len(
            messages
        )
        linked = [m.link.remote_id for m in messages if m.link and m.link.remote_id]
        keys = [m.golden_id for m in messages]
        where = f"{self.external_id} IN ({', '.join(map(soql_literal, keys))})"
        if linked:
            where = f"Id IN ({', '.join(map(soql_literal, linked))}) OR {where}"
        rows = self._query_accounts(where)
        by_id = {r["Id"]: self._record(r) for r in rows}
        by_key = {rec.golden_id: rec for rec in by_id.values() if rec.golden_id}

        records, pending = [], []
        for index, message in enumerate(messages):
            link = message.link
            current = by_id.get(link.remote_id) if link and link.remote_id else None
            if link and link.remote_id and current is None:
                results[index] = RemoteDeletedError(
                    f"Salesforce Account {link.remote_id} of {message.golden_id} "
                    "was deleted"
                )
                continue
            current = current or by_key.get(message.golden_id)
            if current is None and (
                self._member_ids(message)
                or message.payload.get("status", "active") != "active"
            ):
                results[index] = _single(self, message)
                continue
            payload = self.map_outbound(
                message, remote=current.fields if current else None
            )
            if current is not None:
                edited = foreign_edits(
                    link=link, current=current, payload=payload, mapping=self.mapping
                )
                if edited:
                    results[index] = ConflictError(
                        f"{current.remote_id} was edited in Salesforce since our last "
                        f"push: {', '.join(sorted(edited))}",
                        detail=", ".join(edited),
                    )
                    continue
                if not mapping.changed_fields(payload, current.fields):
                    results[index] = [
                        LinkUpdate(
                            golden_id=message.golden_id,
                            remote_id=current.remote_id,
                            remote_version=current.remote_version,
                            pushed={**current.fields, **payload},
                        )
                    ]
                    continue
            body = {
                "attributes": {"type": mapping.SOBJECT},
                **payload,
                self.external_id: message.golden_id,
            }
            records.append(body)
            pending.append((index, message, payload, current))

        if records:
            outcome = self.client.request(
                "PATCH",
                f"{self.client.base}/composite/sobjects/{mapping.SOBJECT}/{self.external_id}",
                body={
                    "allOrNone": bool(self.target.config.get("all_or_none", False)),
                    "records": records,
                },
            ).json()
            saved = [r["id"] for r in outcome if r.get("success")]
            versions = {}
            if saved:
                versions = {
                    r["Id"]: r["SystemModstamp"]
                    for r in self.client.query(
                        f"SELECT Id, SystemModstamp FROM {mapping.SOBJECT} WHERE Id IN "
                        f"({', '.join(map(soql_literal, saved))})"
                    )
                }
            for (index, message, payload, current), result in zip(
                pending, outcome, strict=True
            ):
                if not result.get("success"):
                    error = (result.get("errors") or [{}])[0]
                    results[index] = classify_code(
                        str(error.get("statusCode", "UNKNOWN")),
                        str(error.get("message", "")),
                        detail=str(error),
                    )
                    continue
                base = current.fields if current else {}
                results[index] = [
                    LinkUpdate(
                        golden_id=message.golden_id,
                        remote_id=result["id"],
                        remote_version=versions.get(result["id"], ""),
                        pushed={**base, **payload},
                    )
                ]
        return results  # type: ignore[return-value]

    def changes_since(self, cursor: str | None) -> ChangePage:
        """Accounts modified after `cursor` ("<SystemModstamp>|<Id>")."""
        since, since_id = cursor.split("|") if cursor else ("", "")
        where = f"SystemModstamp >= {_soql_datetime(since)}" if since else "Id != null"
        rows = self.client.query(
            f"SELECT {', '.join(('Id', 'SystemModstamp', *self.fields))} "
            f"FROM {mapping.SOBJECT} WHERE {where} "
            f"ORDER BY SystemModstamp ASC, Id ASC LIMIT {PAGE}"
        )
        records = [self._record(r) for r in rows]
        fresh = [
            r for r in records if (r.remote_version, r.remote_id) > (since, since_id)
        ]
        next_cursor = cursor or ""
        if fresh:
            next_cursor = f"{fresh[-1].remote_version}|{fresh[-1].remote_id}"
        return ChangePage(
            records=fresh, next_cursor=next_cursor, more=len(records) == PAGE
        )

    def close(self) -> None:
        self.client.http.close()


def _single(
    connector: SalesforceConnector, message: OutboundMessage
) -> Sequence[LinkUpdate] | ConnectorError:
    try:
        return connector.deliver(message)
    except ConnectorError as exc:
        return exc
