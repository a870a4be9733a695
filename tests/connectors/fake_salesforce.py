"""A fake Salesforce org (REST API) that follows the public documentation:

* OAuth 2.0 token endpoint (refresh-token and client-credentials flows;
  `{"error": "invalid_grant"}` with 400 when refused);
* `Authorization: Bearer` on every call, 401 `INVALID_SESSION_ID` when the
  token is unknown or expired;
* Account rows: GET (with ETag and `?fields=`), PATCH by Id (If-Match ->
  412), upsert by external ID (201 created / 200 updated, 300 when the key
  is on several records), sObject Collections upsert by external ID
  (allOrNone, at most 200 records, per-record `errors[{statusCode,
  message, fields}]`), sObject Collections reads (`GET
  /composite/sobjects/Account?ids=…&fields=…`: one entry per id, in order,
  null for an id that cannot be read; 400 INVALID_FIELD for an unknown
  field), and the SOQL the connector sends;
* errors as `[{"message", "errorCode", "fields"}]`: INVALID_FIELD,
  REQUIRED_FIELD_MISSING, STRING_TOO_LONG, NOT_FOUND, ENTITY_IS_DELETED,
  REQUEST_LIMIT_EXCEEDED (403) once the API allowance is spent, with the
  Sforce-Limit-Info header on every answer.

Tests steer it with `user_edit`, `edit_before_next_write` (a user saves
between our read and our write), `delete`, `expire_tokens`, `allowance`
and the LoopbackServer faults.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import re
import secrets
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.connectors.fake_erp_crm_http import LoopbackServer

FIELDS = {
    "Name": 255,
    "Phone": 40,
    "Tax_ID__c": 32,
    "BillingStreet": 255,
    "BillingCity": 40,
    "BillingState": 80,
    "Rating": 40,
    "Golden_ID__c": 12,
    "Industry": 40,
}
PICKLIST = {"Rating": {"Hot", "Warm", "Cold"}}
EXTERNAL = "Golden_ID__c"


def _unknown_field(fields: list[str]):
    """400 INVALID_FIELD for the first field an Account does not have."""
    unknown = [
        f for f in fields if f not in FIELDS and f not in ("Id", "SystemModstamp")
    ]
    if not unknown:
        return None
    return _errors(
        400, "INVALID_FIELD", f"No such column '{unknown[0]}' on entity 'Account'"
    )


def _errors(status: int, code: str, message: str, fields: list[str] | None = None):
    body = [{"message": message, "errorCode": code, "fields": fields or []}]
    return status, {}, json.dumps(body).encode()


class FakeSalesforce:
    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        refresh_token: str = "",
        api_limit: int = 100_000,
    ) -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.refresh_token = refresh_token
        self.tokens: set[str] = set()
        self.token_grants: list[str] = []
        self.accounts: dict[str, dict[str, Any]] = {}
        self.deleted: set[str] = set()
        self.api_limit, self.api_used = api_limit, 0
        self.pending_edit: tuple[str, dict[str, Any]] | None = None
        self.collection_calls = 0
        self._ids = itertools.count(1)
        self._clock = itertools.count(1)
        self.server = LoopbackServer(self.handle)

    # Test controls

    def start(self) -> FakeSalesforce:
        self.server.start()
        return self

    @property
    def url(self) -> str:
        return self.server.url

    def stop(self) -> None:
        self.server.stop()

    def expire_tokens(self) -> None:
        self.tokens.clear()

    def by_key(self, golden_id: str) -> dict[str, Any] | None:
        return next(
            (a for a in self.accounts.values() if a.get(EXTERNAL) == golden_id), None
        )

    def user_edit(self, golden_id: str, **values: Any) -> None:
        self._touch(self.by_key(golden_id), values)

    def user_create(self, **values: Any) -> str:
        return self._insert(values)

    def edit_before_next_write(self, golden_id: str, **values: Any) -> None:
        self.pending_edit = (golden_id, values)

    def delete(self, golden_id: str) -> None:
        account = self.by_key(golden_id)
        self.deleted.add(account["Id"])
        del self.accounts[account["Id"]]

    # Storage

    def _now(self) -> str:
        base = dt.datetime(2026, 1, 5, 9, 0, 0)
        moment = base + dt.timedelta(milliseconds=250 * next(self._clock))
        return moment.isoformat(timespec="milliseconds") + "+0000"

    def _insert(self, values: dict[str, Any]) -> str:
        account_id = f"001GR{next(self._ids):013d}"
        now = self._now()
        self.accounts[account_id] = {
            "Id": account_id,
            "CreatedDate": now,
            "SystemModstamp": now,
            **values,
        }
        return account_id

    def _touch(self, account: dict[str, Any], values: dict[str, Any]) -> None:
        account.update(values)
        account["SystemModstamp"] = self._now()

    @staticmethod
    def etag(account: dict[str, Any]) -> str:
        digest = hashlib.sha256(f"{account['Id']}{account['SystemModstamp']}".encode())
        return f'"{digest.hexdigest()[:20]}--gzip"'

    def _validate(self, values: dict[str, Any], *, creating: bool) -> tuple | None:
        for name, value in values.items():
            if name not in FIELDS:
                return (
                    "INVALID_FIELD",
                    f"No such column '{name}' on sobject of type Account",
                    [name],
                )
            if isinstance(value, str) and len(value) > FIELDS[name]:
                return ("STRING_TOO_LONG", f"{name}: data value too large", [name])
            if name in PICKLIST and value not in PICKLIST[name]:
                return (
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    f"{name}: bad value for restricted picklist field: {value}",
                    [name],
                )
        if creating and not values.get("Name"):
            return (
                "REQUIRED_FIELD_MISSING",
                "Required fields are missing: [Name]",
                ["Name"],
            )
        return None

    def _apply_pending_edit(self) -> None:
        if self.pending_edit:
            golden_id, values = self.pending_edit
            self.pending_edit = None
            self.user_edit(golden_id, **values)

    # Protocol

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes):
        url = urlsplit(path)
        if url.path == "/services/oauth2/token" and method == "POST":
            return self._token(parse_qs(body.decode()))
        auth = headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.tokens:
            return _errors(401, "INVALID_SESSION_ID", "Session expired or invalid")
        self.api_used += 1
        if self.api_used > self.api_limit:
            return _errors(
                403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."
            )
        status, out_headers, out = self._route(method, url, headers, body)
        out_headers["Sforce-Limit-Info"] = f"api-usage={self.api_used}/{self.api_limit}"
        return status, out_headers, out

    def _token(self, form: dict[str, list[str]]):
        get = {k: v[0] for k, v in form.items()}
        grant = get.get("grant_type")
        ok = (get.get("client_id"), get.get("client_secret")) == (
            self.client_id,
            self.client_secret,
        )
        if grant == "refresh_token":
            ok = (
                ok
                and bool(self.refresh_token)
                and get.get("refresh_token") == self.refresh_token
            )
        elif grant != "client_credentials":
            ok = False
        if not ok:
            body = {
                "error": "invalid_grant",
                "error_description": "authentication failure",
            }
            return 400, {}, json.dumps(body).encode()
        token = "00DGR!" + secrets.token_urlsafe(24)
        self.tokens.add(token)
        self.token_grants.append(grant)
        return (
            200,
            {},
            json.dumps(
                {
                    "access_token": token,
                    "instance_url": self.url,
                    "token_type": "Bearer",
                    "id": f"{self.url}/id/00DGR/005GR",
                    "issued_at": "1767600000000",
                    "signature": "x",
                }
            ).encode(),
        )

    def _route(self, method: str, url, headers: dict[str, str], body: bytes):
        match = re.fullmatch(r"/services/data/v(\d+\.\d)(/.*)", url.path)
        if not match:
            return _errors(404, "NOT_FOUND", "The requested resource does not exist")
        rest = match.group(2)
        data = json.loads(body) if body else None
        if rest == "/query" and method == "GET":
            return self._query(parse_qs(url.query)["q"][0])
        if rest == f"/composite/sobjects/Account/{EXTERNAL}" and method == "PATCH":
            return self._collection_upsert(data)
        if rest == "/composite/sobjects/Account" and method == "GET":
            return self._collection_read(parse_qs(url.query))
        row = re.fullmatch(r"/sobjects/Account/(?:(\w+__c)/)?([^/]+)", rest)
        if not row:
            return _errors(404, "NOT_FOUND", "The requested resource does not exist")
        field, key = row.group(1), unquote(row.group(2))
        if field and field != EXTERNAL:
            return _errors(
                400,
                "NOT_FOUND",
                f"Provided external ID field does not exist "
                f"or is not accessible: {field}",
            )
        if method == "GET":
            return self._get(field, key, url)
        if method == "PATCH" and field:
            return self._upsert(key, data)
        if method == "PATCH":
            return self._update(key, data, headers.get("if-match"))
        return 405, {}, b'[{"errorCode":"METHOD_NOT_ALLOWED","message":"not allowed"}]'

    def _view(
        self, account: dict[str, Any], fields: list[str] | None
    ) -> dict[str, Any]:
        names = fields or ["Id", "SystemModstamp", *FIELDS]
        return {
            "attributes": {
                "type": "Account",
                "url": f"/services/data/v60.0/sobjects/Account/{account['Id']}",
            },
            **{n: account.get(n) for n in names},
        }

    def _get(self, field: str | None, key: str, url):
        matches = (
            [a for a in self.accounts.values() if a.get(EXTERNAL) == key]
            if field
            else [self.accounts[key]]
            if key in self.accounts
            else []
        )
        if not matches:
            code = "ENTITY_IS_DELETED" if key in self.deleted else "NOT_FOUND"
            return _errors(404, code, "The requested resource does not exist")
        if len(matches) > 1:
            return (
                300,
                {},
                json.dumps(
                    [
                        f"/services/data/v60.0/sobjects/Account/{a['Id']}"
                        for a in matches
                    ]
                ).encode(),
            )
        fields = parse_qs(url.query).get("fields", [""])[0]
        account = matches[0]
        view = self._view(account, fields.split(",") if fields else None)
        return 200, {"ETag": self.etag(account)}, json.dumps(view).encode()

    def _upsert(self, key: str, data: dict[str, Any]):
        matches = [a for a in self.accounts.values() if a.get(EXTERNAL) == key]
        if len(matches) > 1:
            return 300, {}, json.dumps([a["Id"] for a in matches]).encode()
        problem = self._validate(data, creating=not matches)
        if problem:
            return _errors(400, *problem)
        self._apply_pending_edit()
        if matches:
            self._touch(matches[0], data)
            return (
                200,
                {},
                json.dumps(
                    {
                        "id": matches[0]["Id"],
                        "success": True,
                        "errors": [],
                        "created": False,
                    }
                ).encode(),
            )
        account_id = self._insert({**data, EXTERNAL: key})
        return (
            201,
            {},
            json.dumps(
                {"id": account_id, "success": True, "errors": [], "created": True}
            ).encode(),
        )

    def _update(self, account_id: str, data: dict[str, Any], if_match: str | None):
        account = self.accounts.get(account_id)
        if account is None:
            code = "ENTITY_IS_DELETED" if account_id in self.deleted else "NOT_FOUND"
            return _errors(404, code, "The requested resource does not exist")
        problem = self._validate(data, creating=False)
        if problem:
            return _errors(400, *problem)
        self._apply_pending_edit()
        if if_match and if_match != self.etag(account):
            return _errors(
                412,
                "PRECONDITION_FAILED",
                "The If-Match header does not match the record's ETag",
            )
        key = data.get(EXTERNAL)
        if key and any(
            a.get(EXTERNAL) == key and a["Id"] != account_id
            for a in self.accounts.values()
        ):
            return _errors(
                400,
                "DUPLICATE_VALUE",
                f"duplicate value found: {EXTERNAL} duplicates value on record "
                "with id: ...",
                [EXTERNAL],
            )
        self._touch(account, data)
        return 204, {}, b""

    def _collection_upsert(self, data: dict[str, Any]):
        self.collection_calls += 1
        records = data.get("records") or []
        if len(records) > 200:
            return _errors(
                400,
                "EXCEEDED_ID_LIMIT",
                "record limit reached. cannot submit "
                "more than 200 records into this call",
            )
        all_or_none = bool(data.get("allOrNone"))
        results, plans = [], []
        for record in records:
            values = {k: v for k, v in record.items() if k != "attributes"}
            key = values.get(EXTERNAL)
            existing = self.by_key(key) if key else None
            problem = self._validate(values, creating=existing is None)
            plans.append((values, existing, problem))
        failed = any(p for _, _, p in plans)
        for values, existing, problem in plans:
            if problem or (all_or_none and failed):
                code, message, fields = problem or (
                    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                    "Record rolled back because not all "
                    "records were valid and the request "
                    "was using AllOrNone header",
                    [],
                )
                results.append(
                    {
                        "success": False,
                        "errors": [
                            {"statusCode": code, "message": message, "fields": fields}
                        ],
                    }
                )
            elif existing is not None:
                self._touch(existing, values)
                results.append(
                    {
                        "id": existing["Id"],
                        "success": True,
                        "errors": [],
                        "created": False,
                    }
                )
            else:
                account_id = self._insert(values)
                results.append(
                    {"id": account_id, "success": True, "errors": [], "created": True}
                )
        return 200, {}, json.dumps(results).encode()

    def _collection_read(self, query: dict[str, list[str]]):
        ids = query.get("ids", [""])[0].split(",")
        fields = query.get("fields", [""])[0].split(",")
        if error := _unknown_field(fields):
            return error
        rows = [
            self._view(self.accounts[i], fields) if i in self.accounts else None
            for i in ids
        ]
        return 200, {}, json.dumps(rows).encode()

    _SOQL = re.compile(
        r"SELECT (?P<fields>.+?) FROM Account WHERE (?P<where>.+?)"
        r"(?: ORDER BY SystemModstamp ASC, Id ASC)?(?: LIMIT (?P<limit>\d+))?"
    )

    def _query(self, soql: str):
        match = self._SOQL.fullmatch(soql)
        if not match:
            return _errors(400, "MALFORMED_QUERY", f"unexpected token in: {soql[:80]}")
        fields = [f.strip() for f in match.group("fields").split(",")]
        if error := _unknown_field(fields):
            return error
        rows = [
            a for a in self.accounts.values() if self._where(a, match.group("where"))
        ]
        rows.sort(key=lambda a: (a["SystemModstamp"], a["Id"]))
        if match.group("limit"):
            rows = rows[: int(match.group("limit"))]
        records = [self._view(a, fields) for a in rows]
        return (
            200,
            {},
            json.dumps(
                {"totalSize": len(records), "done": True, "records": records}
            ).encode(),
        )

    def _where(self, account: dict[str, Any], where: str) -> bool:
        if where == "Id != null":
            return True
        since = re.fullmatch(r"SystemModstamp >= (\S+)Z", where)
        if since:
            return account["SystemModstamp"][:19] >= since.group(1)
        for clause in where.split(" OR "):
            field, values = re.fullmatch(r"(\w+) IN \((.*)\)", clause).groups()
            wanted = {v.strip()[1:-1].replace("\\'", "'") for v in values.split(",")}
            if account.get(field) in wanted:
                return True
        return False
