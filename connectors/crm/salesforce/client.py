"""Salesforce REST API: OAuth 2.0 and the calls the Account connector makes.

Tokens come from `{login_url}/services/oauth2/token`, with the refresh-token
flow when a refresh token is configured, else the client-credentials flow.
A 401 `INVALID_SESSION_ID` (the access token expired or was revoked) gets
one fresh token and one retry; a second 401, or a token endpoint that
answers `invalid_grant` / `invalid_client`, is AuthExpiredError.

Errors are a JSON array `[{"errorCode", "message", "fields"}]` (sObject
Collections use `statusCode` per record). `REQUEST_LIMIT_EXCEEDED` (HTTP
403: the org's rolling 24-hour API limit or the concurrent long-request
limit) and HTTP 429 are back-pressure: RateLimitedError, with Retry-After
when Salesforce sends one. 412 on a conditional write (If-Match with the
record's ETag) is a conflict; 404 `NOT_FOUND` / `ENTITY_IS_DELETED` on a
record means it was deleted; 300 on an external-ID upsert means the key is
on several records.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx

from connectors.base import (
    AuthExpiredError,
    ConflictError,
    ConnectorError,
    PermanentError,
    RateLimitedError,
    RemoteDeletedError,
    RetryableError,
    retry_after_seconds,
)
from connectors.http import http_error

RATE_LIMIT_PAUSE = 60.0  # Salesforce sends no Retry-After with REQUEST_LIMIT_EXCEEDED
DELETED = {"NOT_FOUND", "ENTITY_IS_DELETED"}
CONFLICTS = {
    "DUPLICATE_VALUE",
    "DUPLICATES_DETECTED",
    "PRECONDITION_FAILED",
    "DUPLICATE_EXTERNAL_ID",
}
TRANSIENT = {
    "UNABLE_TO_LOCK_ROW",
    "SERVER_UNAVAILABLE",
    "REQUEST_RUNNING_TOO_LONG",
    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "QUERY_TIMEOUT",
}


def classify_code(
    code: str,
    message: str,
    *,
    status: int | None = None,
    retry_after: float | None = None,
    detail: str = "",
) -> ConnectorError:
    """The connector error for one Salesforce error code."""
    text = f"Salesforce {code}: {message}"
    if code == "REQUEST_LIMIT_EXCEEDED":
        return RateLimitedError(
            text,
            status=status,
            detail=detail,
            retry_after=retry_after or RATE_LIMIT_PAUSE,
        )
    if code in DELETED:
        return RemoteDeletedError(text, status=status, detail=detail)
    if code in CONFLICTS:
        return ConflictError(text, status=status, detail=detail)
    if code in TRANSIENT:
        return RetryableError(
            text, status=status, retry_after=retry_after, detail=detail
        )
    if code == "INVALID_SESSION_ID":
        return AuthExpiredError(text, status=status, detail=detail)
    return PermanentError(text, status=status, detail=detail)


def classify_response(response: httpx.Response) -> ConnectorError:
    status = response.status_code
    retry_after = retry_after_seconds(response.headers.get("retry-after"))
    detail = response.text[:2000]
    try:
        body = response.json()
    except ValueError:
        body = None
    first = (
        body[0] if isinstance(body, list) and body and isinstance(body[0], dict) else {}
    )
    code = str(first.get("errorCode") or first.get("statusCode") or "")
    message = str(first.get("message") or "")
    if status == 429:
        return RateLimitedError(
            "Salesforce: too many requests",
            status=status,
            retry_after=retry_after or RATE_LIMIT_PAUSE,
            detail=detail,
        )
    if status == 300:
        return ConflictError(
            "Salesforce: the external ID is on several records",
            status=status,
            detail=detail,
        )
    if status == 412:
        return ConflictError(
            "Salesforce: record modified since it was read (412)",
            status=status,
            detail=detail,
        )
    if status >= 500 and code not in DELETED:
        return RetryableError(
            f"Salesforce HTTP {status} {code}".strip(),
            status=status,
            retry_after=retry_after,
            detail=detail,
        )
    if code:
        return classify_code(
            code, message, status=status, retry_after=retry_after, detail=detail
        )
    if status == 401:
        return AuthExpiredError(
            "Salesforce: unauthorised", status=status, detail=detail
        )
    return PermanentError(f"Salesforce HTTP {status}", status=status, detail=detail)


class SalesforceClient:
    """An OAuth session on one Salesforce org."""

    def __init__(
        self,
        *,
        http: httpx.Client,
        login_url: str,
        client_id: str,
        client_secret: str,
        refresh_token: str = "",
        api_version: str = "60.0",
    ) -> None:
        self.http = http
        self.login_url = login_url.rstrip("/")
        self.client_id, self.client_secret = client_id, client_secret
        self.refresh_token = refresh_token
        self.api_version = api_version
        self.access_token: str | None = None
        self.instance_url: str | None = None

    @property
    def base(self) -> str:
        return f"/services/data/v{self.api_version}"

    def authenticate(self) -> None:
        form = {"client_id": self.client_id, "client_secret": self.client_secret}
        if self.refresh_token:
            form |= {"grant_type": "refresh_token", "refresh_token": self.refresh_token}
        else:
            form |= {"grant_type": "client_credentials"}
        try:
            response = self.http.post(
                f"{self.login_url}/services/oauth2/token", data=form
            )
        except Exception as exc:
            raise http_error(exc) from exc
        if response.status_code in (400, 401, 403):
            raise AuthExpiredError(
                f"Salesforce refused a token: {response.text[:300]}",
                status=response.status_code,
                detail=response.text,
            )
        if response.status_code != 200:
            raise classify_response(response)
        token = response.json()
        self.access_token = token["access_token"]
        self.instance_url = token.get("instance_url", self.login_url).rstrip("/")

    def _send(
        self,
        method: str,
        path: str,
        body: Any,
        headers: Mapping[str, str],
        params: Mapping[str, str] | None,
    ) -> httpx.Response:
        url = path if path.startswith("http") else f"{self.instance_url}{path}"
        all_headers = {
            "Authorization": f"Bearer {self.access_token}",
            "Accept": "application/json",
            **headers,
        }
        content = None
        if body is not None:
            content = json.dumps(body, ensure_ascii=False).encode()
            all_headers["Content-Type"] = "application/json"
        try:
            return self.http.request(
                method, url, content=content, headers=all_headers, params=params
            )
        except Exception as exc:  # classified: time-outs and resets retry
            raise http_error(exc) from exc

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        ok: tuple[int, ...] = (),
    ) -> httpx.Response:
        """Send one call; a non-2xx answer (other than `ok`) raises."""
        if self.access_token is None:
            self.authenticate()
        response = self._send(method, path, body, headers or {}, params)
        if response.status_code == 401:
            self.authenticate()
            response = self._send(method, path, body, headers or {}, params)
        if response.status_code < 300 or response.status_code in ok:
            return response
        raise classify_response(response)

    def query(self, soql: str) -> list[dict[str, Any]]:
        """All records of a SOQL query, following nextRecordsUrl."""
        data = self.request("GET", f"{self.base}/query", params={"q": soql}).json()
        records = list(data["records"])
        while not data.get("done", True):
            data = self.request("GET", data["nextRecordsUrl"]).json()
            records.extend(data["records"])
        return records


def soql_literal(value: str) -> str:
    """A SOQL string literal (backslash and quote escaped)."""
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"
