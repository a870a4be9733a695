"""Kingdee K/3 Cloud connector: one BD_Customer per golden record.

Configuration (the target's JSON config; the app secret is a secret):

    server_url      http(s)://host/k3cloud
    acct_id         the account set (账套 / data centre) id
    username        the integration user
    app_id          the third-party app id, "<clientId>_<32 chars>"
    secrets.app_secret
    auth            "signed" (default) or "session" (LoginByAppSecret)
    lcid            2052 (default)
    org_number      the organisation creating and using the customers
                    (FCreateOrgId / FUseOrgId), required
    audit           submit and audit new customers (default true): an
                    unaudited customer cannot be used on documents
    source_system   our code for this ERP as a source system: a member
                    (system, source_id) then names the FNumber to link to
    absorbed        "forbid" (default) or "keep": what happens to the
                    customer of a golden record absorbed by a merge
    read_batch_size customers per ExecuteBillQuery read (reconciliation;
                    default and most 500)
    mapping         a FieldMapping as data, replacing the default

Kingdee has no conditional save, so the version check is compare-then-write
on FModifyDate, read just before the Save. FNumber is unique per form: a
create that meets "违反字段唯一性要求" (a retry after a lost answer, or a
customer keyed by hand) looks the number up and links to it.
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
    FieldMapping,
    LinkUpdate,
    OutboundMessage,
    PermanentError,
    RemoteDeletedError,
    RemoteRecord,
    TargetConfig,
    path_drop,
)
from connectors.erp.common import raise_on_foreign_edits
from connectors.erp.kingdee import mapping
from connectors.erp.kingdee.client import KingdeeClient, filter_literal
from connectors.http import http_client

PAGE = 500
FORBIDDEN = "B"


class KingdeeConnector(Connector):
    kind = "kingdee"
    capabilities = Capabilities(
        native_upsert=False, batch_size=1, version_check=True, changes_since=True
    )

    def __init__(self, target: TargetConfig, *, client: KingdeeClient | None = None):
        super().__init__(target)
        config = target.config
        for key in ("server_url", "acct_id", "username", "app_id", "org_number"):
            if not config.get(key):
                raise PermanentError(
                    f"Kingdee target {target.name}: {key!r} is not set"
                )
        self.client = client or KingdeeClient(
            http=http_client(target),
            server_url=config["server_url"],
            acct_id=config["acct_id"],
            username=config["username"],
            app_id=config["app_id"],
            app_secret=target.secrets.get("app_secret", ""),
            lcid=int(config.get("lcid", 2052)),
            auth=config.get("auth", "signed"),
        )
        self.read_batch_size = max(
            1, min(int(config.get("read_batch_size", PAGE)), PAGE)
        )

    @property
    def mapping(self) -> FieldMapping:
        data = self.target.config.get("mapping")
        if data:
            return FieldMapping.from_data(data)
        return mapping.default_mapping(str(self.target.config["org_number"]))

    def map_outbound(
        self, message: OutboundMessage, *, remote: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        id_card = dict(message.payload.get("id_card") or {})
        id_card["derived"] = mapping.derived_view(id_card)
        enriched = replace(message, payload={**message.payload, "id_card": id_card})
        return self.mapping.apply(enriched, remote=remote)

    # Reading

    def _record(self, fields: dict[str, Any], meta: Mapping[str, Any]) -> RemoteRecord:
        return RemoteRecord(
            remote_id=str(meta["FCUSTID"]),
            remote_version=str(meta["FModifyDate"] or ""),
            fields=fields,
            golden_id=fields.get("FNumber", ""),
            archived=meta.get("FForbidStatus") == FORBIDDEN,
        )

    def _query(self, filter: str, **kwargs: Any) -> list[RemoteRecord]:
        rows = self.client.query(
            mapping.FORM_ID, mapping.QUERY_FIELDS, filter=filter, **kwargs
        )
        return [self._record(*mapping.row_to_fields(row)) for row in rows]

    def _by_id(self, remote_id: str) -> RemoteRecord | None:
        try:
            model = self.client.view(mapping.FORM_ID, id=remote_id)
        except PermanentError:
            # View fails on a missing id; the query tells gone from refused.
            if not self._query(f"FCUSTID = {int(remote_id)}"):
                return None
            raise
        return self._record(*mapping.view_to_fields(model))

    def _by_number(self, number: str) -> RemoteRecord | None:
        found = self._query(f"FNumber = {filter_literal(number)}")
        return found[0] if found else None

    def find(self, message: OutboundMessage) -> RemoteRecord | None:
        link = message.link
        if link and link.remote_id:
            record = self._by_id(link.remote_id)
            if record is None:
                raise RemoteDeletedError(
                    f"Kingdee customer {link.remote_id} of {message.golden_id} "
                    "was deleted"
                )
            return record
        system = self.target.config.get("source_system")
        numbers = [
            m["source_id"]
            for m in message.payload.get("members", [])
            if system and m.get("system") == system
        ]
        for number in [*numbers, message.golden_id]:
            record = self._by_number(number)
            if record is not None:
                return record
        return None

    # Writing

    def _create(self, message: OutboundMessage) -> LinkUpdate | RemoteRecord:
        payload = self.map_outbound(message)
        try:
            saved = self.client.save(mapping.FORM_ID, {"FCUSTID": 0, **payload})
        except ConflictError:
            # The number is taken: our own earlier save whose answer was
            # lost, or a customer keyed by hand. Link to it and update.
            existing = self._by_number(payload["FNumber"])
            if existing is None:
                raise
            return existing
        if self.target.config.get("audit", True):
            self.client.submit_and_audit(mapping.FORM_ID, [saved["Number"]])
        created = self._by_id(str(saved["Id"]))
        return LinkUpdate(
            golden_id=message.golden_id,
            remote_id=str(saved["Id"]),
            remote_version=created.remote_version if created else "",
            pushed=payload,
        )

    def read(self, remote_id: str) -> RemoteRecord | None:
        return self._by_id(remote_id)

    def read_many(self, remote_ids: Sequence[str]) -> dict[str, RemoteRecord | None]:
        """One ExecuteBillQuery on the customers' internal ids (the link's
        remote ID is FCUSTID: FNumber is the golden ID only for customers we
        created, not for those linked by a source record)."""
        ids = ", ".join(str(int(remote_id)) for remote_id in remote_ids)
        found = {
            record.remote_id: record
            for record in self._query(f"FCUSTID IN ({ids})", limit=len(remote_ids))
        }
        return {remote_id: found.get(remote_id) for remote_id in remote_ids}

    def source_id(self, record: RemoteRecord) -> str:
        # ERP source records are keyed by the customer number (FNumber).
        return record.golden_id or record.remote_id

    def upsert(
        self,
        message: OutboundMessage,
        *,
        expected_version: str | None = None,
        keep: Collection[str] = (),
    ) -> LinkUpdate:
        active = message.payload.get("status", "active") == "active"
        current = self.find(message)
        if current is None:
            if not active:
                return LinkUpdate(golden_id=message.golden_id, state="remote_archived")
            created = self._create(message)
            if isinstance(created, LinkUpdate):
                return created
            current = created
        if expected_version and current.remote_version != expected_version:
            raise ConflictError(
                f"Kingdee customer {current.remote_id} modified at "
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
        changed = mapping.changed_fields(payload, current.fields)
        version = current.remote_version
        if changed:
            model = {
                "FCUSTID": int(current.remote_id),
                **{key: payload[key] for key in changed},
            }
            self.client.save(mapping.FORM_ID, model, need_update_fields=changed)
            version = self._by_id(current.remote_id).remote_version
        if not active and not current.archived:
            self.client.operation(mapping.FORM_ID, "Forbid", [current.golden_id])
            version = self._by_id(current.remote_id).remote_version
        return LinkUpdate(
            golden_id=message.golden_id,
            remote_id=current.remote_id,
            remote_version=version,
            pushed={**current.fields, **payload},
            state="linked" if active else "remote_archived",
        )

    def _forbid_absorbed(self, message: OutboundMessage, keep: str) -> list[LinkUpdate]:
        if self.target.config.get("absorbed", "forbid") != "forbid":
            return []
        updates = []
        for golden_id in message.absorbed:
            link = message.links.get(golden_id)
            if not link or not link.remote_id or link.remote_id == keep:
                continue
            record = self._by_id(link.remote_id)
            if record is None:
                updates.append(
                    LinkUpdate(
                        golden_id=golden_id,
                        remote_id=link.remote_id,
                        state="remote_deleted",
                    )
                )
                continue
            if not record.archived:
                self.client.operation(mapping.FORM_ID, "Forbid", [record.golden_id])
                record = self._by_id(link.remote_id) or record
            updates.append(
                LinkUpdate(
                    golden_id=golden_id,
                    remote_id=link.remote_id,
                    remote_version=record.remote_version,
                    pushed=link.pushed,
                    state="remote_archived",
                )
            )
        return updates

    def deliver(self, message: OutboundMessage) -> Sequence[LinkUpdate]:
        update = self.upsert(message)
        return [update, *self._forbid_absorbed(message, update.remote_id)]

    def deliver_merged(
        self, message: OutboundMessage, *, expected_version: str, keep: Collection[str]
    ) -> Sequence[LinkUpdate]:
        update = self.upsert(message, expected_version=expected_version, keep=keep)
        return [update, *self._forbid_absorbed(message, update.remote_id)]

    def changes_since(self, cursor: str | None) -> ChangePage:
        """Customers modified after `cursor` ("<FModifyDate>|<FCUSTID>"),
        oldest first; the cursor's own instant is read again and filtered
        by id so no customer is lost at a page boundary."""
        since, since_id = cursor.split("|") if cursor else ("", "0")
        filter = f"FModifyDate >= {filter_literal(since)}" if since else ""
        records = self._query(filter, order="FModifyDate ASC, FCUSTID ASC", limit=PAGE)
        fresh = [
            r
            for r in records
            if (r.remote_version, int(r.remote_id)) > (since, int(since_id))
        ]
        next_cursor = cursor or ""
        if fresh:
            next_cursor = f"{fresh[-1].remote_version}|{fresh[-1].remote_id}"
        return ChangePage(
            records=fresh, next_cursor=next_cursor, more=len(records) == PAGE
        )

    def close(self) -> None:
        self.client.http.close()
