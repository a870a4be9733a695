"""Kingdee K/3 Cloud (金蝶云星空) WebAPI.

Every operation is `POST {server}/{ServiceName}.common.kdsvc` with a JSON
body. Two ways in, both from Kingdee's published SDKs:

* signed (the default, "第三方系统登录授权"): no session; every request
  carries X-Api-ClientID, X-Api-Auth-Version 2.0, x-api-timestamp,
  x-api-nonce, x-api-signheaders, X-Api-Signature, X-Kd-Appkey,
  X-Kd-Appdata and X-Kd-Signature (see `signed_headers`);
* session: AuthService.LoginByAppSecret returns LoginResultType 1 and the
  `kdservice-sessionid` cookie, sent back on later calls.

Business failures come back as HTTP 200 with
`Result.ResponseStatus.IsSuccess = false` (sometimes the string "false"),
`Errors[{FieldName, Message, DIndex}]` and a `MsgCode`: 1 means the
session is gone, 11 a unique-field violation ("违反字段唯一性要求").
ExecuteBillQuery answers a bare array of rows, or `[[{"Result": ...}]]`
on failure. Kingdee publishes no stable error-code table, so anything else
with IsSuccess false is a permanent (validation) failure.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from connectors.base import (
    AuthExpiredError,
    ConflictError,
    ConnectorError,
    PermanentError,
    RetryableError,
)
from connectors.http import http_error, response_error

SERVICE = "Kingdee.BOS.WebApi.ServicesStub"
LOGIN_BY_APP_SECRET = f"{SERVICE}.AuthService.LoginByAppSecret"
SAVE = f"{SERVICE}.DynamicFormService.Save"
VIEW = f"{SERVICE}.DynamicFormService.View"
QUERY = f"{SERVICE}.DynamicFormService.ExecuteBillQuery"
SUBMIT = f"{SERVICE}.DynamicFormService.Submit"
AUDIT = f"{SERVICE}.DynamicFormService.Audit"
OPERATION = f"{SERVICE}.DynamicFormService.ExcuteOperation"  # sic: Kingdee's spelling
SESSION_COOKIE = "kdservice-sessionid"
MSG_SESSION_LOST = 1
MSG_UNIQUE = 11
# The fixed seed Kingdee's SDKs XOR the second half of the AppID with to
# obtain the X-Api-Signature key (rot13 of the SDK's generated code).
APP_SECRET_XOR = b"0054f397c6234378b09ca7d3e5debce7"


def kd_hmac(content: str, key: str) -> str:
    """Kingdee's HmacSHA256: base64 of the *lower-case hex* digest."""
    digest = hmac.new(key.encode(), content.encode(), hashlib.sha256).hexdigest()
    return base64.b64encode(digest.encode()).decode()


def decode_app_secret(encoded: str) -> str:
    """The X-Api-Signature key hidden in the AppID (`<clientId>_<32 chars>`)."""
    if len(encoded) != 32:
        return ""
    raw = base64.b64decode(encoded)
    return base64.b64encode(
        bytes(b ^ APP_SECRET_XOR[i] for i, b in enumerate(raw))
    ).decode()


def signed_path(url: str) -> str:
    """The path as signed: URL-quoted with `/` quoted too."""
    return quote(urlsplit(url).path, encoding="utf-8").replace("/", "%2F")


def signed_headers(
    *,
    url: str,
    acct_id: str,
    username: str,
    app_id: str,
    app_secret: str,
    lcid: int,
    org_num: int | str,
    timestamp: int,
    nonce: str,
) -> dict[str, str]:
    """The nine headers of Kingdee's third-party-login signature."""
    client_id, _, encoded = app_id.partition("_")
    client_secret = decode_app_secret(encoded)
    to_sign = (
        f"POST\n{signed_path(url)}\n\n"
        f"x-api-nonce:{nonce}\nx-api-timestamp:{timestamp}\n"
    )
    app_data = f"{acct_id},{username},{lcid},{org_num}"
    return {
        "X-Api-ClientID": client_id,
        "X-Api-Auth-Version": "2.0",
        "x-api-timestamp": str(timestamp),
        "x-api-nonce": nonce,
        "x-api-signheaders": "x-api-timestamp,x-api-nonce",
        "X-Api-Signature": kd_hmac(to_sign, client_secret),
        "X-Kd-Appkey": app_id,
        "X-Kd-Appdata": base64.b64encode(app_data.encode()).decode(),
        "X-Kd-Signature": kd_hmac(app_id + app_data, app_secret),
    }


def _is_true(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def response_status(data: Any) -> dict[str, Any] | None:
    """The ResponseStatus of a Kingdee answer, wherever it sits."""
    if (
        isinstance(data, list)
        and data
        and isinstance(data[0], list)
        and data[0]
        and isinstance(data[0][0], dict)
    ):
        data = data[0][0]  # ExecuteBillQuery's failure shape
    if isinstance(data, dict):
        result = data.get("Result")
        if isinstance(result, dict):
            return result.get("ResponseStatus")
    return None


def classify_status(status: dict[str, Any]) -> ConnectorError:
    """The connector error for an unsuccessful ResponseStatus."""
    errors = status.get("Errors") or []
    messages = "; ".join(str(e.get("Message", "")) for e in errors) or "no message"
    detail = json.dumps(status, ensure_ascii=False)
    code = status.get("MsgCode")
    if code == MSG_SESSION_LOST:
        return AuthExpiredError(f"Kingdee session lost: {messages}", detail=detail)
    if code == MSG_UNIQUE or "唯一性" in messages:
        return ConflictError(f"Kingdee unique field taken: {messages}", detail=detail)
    return PermanentError(f"Kingdee refused: {messages}", detail=detail)


class KingdeeClient:
    """One account set (账套) on one K/3 Cloud server."""

    def __init__(
        self,
        *,
        http: httpx.Client,
        server_url: str,
        acct_id: str,
        username: str,
        app_id: str,
        app_secret: str,
        lcid: int = 2052,
        org_num: int | str = 0,
        auth: str = "signed",
        clock: Callable[[], float] = time.time,
    ) -> None:
        if auth not in ("signed", "session"):
            raise PermanentError(f"unknown Kingdee auth mode {auth!r}")
        self.http = http
        self.server_url = server_url.rstrip("/")
        self.acct_id, self.username = acct_id, username
        self.app_id, self.app_secret = app_id, app_secret
        self.lcid, self.org_num = lcid, org_num
        self.auth = auth
        self.clock = clock
        self.session_id: str | None = None

    def url(self, service: str) -> str:
        return f"{self.server_url}/{service}.common.kdsvc"

    def _post(self, service: str, body: Any) -> Any:
        url = self.url(service)
        headers = {"Content-Type": "application/json", "Accept-Charset": "utf-8"}
        if self.auth == "signed":
            headers |= signed_headers(
                url=url,
                acct_id=self.acct_id,
                username=self.username,
                app_id=self.app_id,
                app_secret=self.app_secret,
                lcid=self.lcid,
                org_num=self.org_num,
                timestamp=int(self.clock()),
                nonce=uuid.uuid4().hex,
            )
        elif self.session_id and service != LOGIN_BY_APP_SECRET:
            headers["Cookie"] = f"{SESSION_COOKIE}={self.session_id}"
        content = json.dumps(body, ensure_ascii=False).encode()
        try:
            response = self.http.post(url, content=content, headers=headers)
        except Exception as exc:  # classified: time-outs and resets retry
            raise http_error(exc) from exc
        if response.status_code != 200:
            raise response_error(response)
        try:
            return response.json() if response.content else None
        except ValueError as exc:
            raise RetryableError(
                "Kingdee answered with something that is not JSON",
                status=200,
                detail=response.text[:500],
            ) from exc

    def login(self) -> None:
        data = self._post(
            LOGIN_BY_APP_SECRET,
            {
                "parameters": [
                    self.acct_id,
                    self.username,
                    self.app_id,
                    self.app_secret,
                    self.lcid,
                ]
            },
        )
        if not isinstance(data, dict) or data.get("LoginResultType") != 1:
            message = (data or {}).get("Message") if isinstance(data, dict) else data
            raise AuthExpiredError(
                f"Kingdee login refused: {message}",
                detail=json.dumps(data, ensure_ascii=False)[:2000],
            )
        self.session_id = data.get("KDSVCSessionId") or (data.get("Context") or {}).get(
            "SessionId"
        )

    def call(self, service: str, body: Any) -> Any:
        """Call `service`; in session mode log in first and once more when
        Kingdee reports the session lost (MsgCode 1)."""
        if self.auth == "session" and self.session_id is None:
            self.login()
        data = self._post(service, body)
        status = response_status(data)
        if (
            status
            and not _is_true(status.get("IsSuccess"))
            and status.get("MsgCode") == MSG_SESSION_LOST
            and self.auth == "session"
        ):
            self.login()
            data = self._post(service, body)
            status = response_status(data)
        if status and not _is_true(status.get("IsSuccess")):
            raise classify_status(status)
        return data

    def save(
        self,
        form_id: str,
        model: dict[str, Any],
        *,
        need_update_fields: Sequence[str] = (),
    ) -> dict[str, Any]:
        """Save one record (FCUSTID-style id 0 or absent creates); returns
        the success entity {"Id", "Number", "DIndex"}."""
        data = {
            "NeedUpDateFields": list(need_update_fields),
            "NeedReturnFields": [],
            "IsDeleteEntry": "false",
            "IsVerifyBaseDataField": "false",
            "IsAutoSubmitAndAudit": "false",
            "Model": model,
        }
        result = self.call(SAVE, {"formid": form_id, "data": data})
        return result["Result"]["ResponseStatus"]["SuccessEntitys"][0]

    def view(self, form_id: str, *, id: str = "", number: str = "") -> dict[str, Any]:
        result = self.call(
            VIEW,
            {
                "formid": form_id,
                "data": {
                    "CreateOrgId": 0,
                    "Number": number,
                    "Id": id,
                    "IsSortBySeq": "false",
                },
            },
        )
        return result["Result"]["Result"]

    def query(
        self,
        form_id: str,
        field_keys: Sequence[str],
        *,
        filter: str = "",
        order: str = "",
        start: int = 0,
        limit: int = 2000,
    ) -> list[list[Any]]:
        rows = self.call(
            QUERY,
            {
                "data": {
                    "FormId": form_id,
                    "FieldKeys": ",".join(field_keys),
                    "FilterString": filter,
                    "OrderString": order,
                    "TopRowCount": 0,
                    "StartRow": start,
                    "Limit": limit,
                    "SubSystemId": "",
                }
            },
        )
        return rows or []

    def submit_and_audit(self, form_id: str, numbers: Sequence[str]) -> None:
        for service in (SUBMIT, AUDIT):
            self.call(
                service,
                {
                    "formid": form_id,
                    "data": {"CreateOrgId": 0, "Numbers": list(numbers), "Ids": ""},
                },
            )

    def operation(self, form_id: str, op_number: str, numbers: Sequence[str]) -> None:
        self.call(
            OPERATION,
            {
                "formid": form_id,
                "opNumber": op_number,
                "data": {"CreateOrgId": 0, "Numbers": list(numbers), "Ids": ""},
            },
        )


def filter_literal(value: str) -> str:
    """A string literal for a FilterString (quotes doubled)."""
    return "'" + str(value).replace("'", "''") + "'"
