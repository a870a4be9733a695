"""Tryton's JSON-RPC over HTTP.

trytond answers `POST /<database>/rpc/` with `{"id", "method", "params"}`
bodies; `common.db.login` returns `[user_id, session, bus_url]` and every
other call carries `Authorization: Session base64(login:user_id:session)`.
Model methods are `model.<model name>.<method>` and take the context as
their last positional argument. Dates travel as `{"__class__": "datetime",
...}` objects.

Failures come back as HTTP 200 with `"error": [exception type, args]`
(UserError, ConcurrencyException, ...) or as a plain HTTP status (401 for
an expired session, 429 when login is rate limited, 5xx). The client maps
both onto the connector error classes; it never retries on its own, except
one fresh login when the session has expired.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import httpx

from connectors.base import (
    AuthExpiredError,
    ConflictError,
    ConnectorError,
    PermanentError,
    RateLimitedError,
    RetryableError,
)
from connectors.http import http_error, response_error


def _decode(obj: dict[str, Any]) -> Any:
    kind = obj.get("__class__")
    if kind == "datetime":
        return dt.datetime(
            obj["year"],
            obj["month"],
            obj["day"],
            obj["hour"],
            obj["minute"],
            obj["second"],
            obj["microsecond"],
        )
    if kind == "date":
        return dt.date(obj["year"], obj["month"], obj["day"])
    if kind == "Decimal":
        return Decimal(obj["decimal"])
    if kind == "bytes":
        return base64.decodebytes(obj["base64"].encode())
    return obj


def _encode(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {
            "__class__": "datetime",
            "year": value.year,
            "month": value.month,
            "day": value.day,
            "hour": value.hour,
            "minute": value.minute,
            "second": value.second,
            "microsecond": value.microsecond,
        }
    if isinstance(value, dt.date):
        return {
            "__class__": "date",
            "year": value.year,
            "month": value.month,
            "day": value.day,
        }
    if isinstance(value, Decimal):
        return {"__class__": "Decimal", "decimal": str(value)}
    raise TypeError(f"cannot send {type(value).__name__} to Tryton")


def classify_rpc_error(error: Any) -> ConnectorError:
    """The connector error for a JSON-RPC `error` member."""
    kind, args = (
        (error[0], error[1:]) if isinstance(error, list) and error else ("", [])
    )
    text = json.dumps(error, ensure_ascii=False, default=str)
    message = f"Tryton {kind}"
    if kind == "UserError" and args and isinstance(args[0], list) and args[0]:
        message = f"Tryton refused the change: {args[0][0]}"
    if kind == "ConcurrencyException":
        return ConflictError("Tryton record modified in the meantime", detail=text)
    if kind in ("UserError", "UserWarning", "AccessError"):
        return PermanentError(message, detail=text)
    if kind == "LoginException":
        return AuthExpiredError(message, detail=text)
    if kind == "RateLimitException":
        return RateLimitedError(message, detail=text)
    # Anything else is a server-side exception (a locked SQLite database,
    # a lost connection to PostgreSQL): report and let the worker retry.
    return RetryableError(f"Tryton server error: {str(kind)[:200]}", detail=text)


class TrytonClient:
    """A session on one Tryton database."""

    def __init__(
        self,
        *,
        http: httpx.Client,
        url: str,
        database: str,
        username: str,
        password: str,
        language: str = "en",
        rpc_path: str = "rpc/",
    ) -> None:
        self.http = http
        self.endpoint = f"{url.rstrip('/')}/{database}/{rpc_path}"
        self.username = username
        self.password = password
        self.language = language
        self._auth: str | None = None
        self._ids = 0

    def _post(self, method: str, params: Sequence[Any]) -> httpx.Response:
        self._ids += 1
        body = json.dumps(
            {"id": self._ids, "method": method, "params": list(params)},
            default=_encode,
        )
        headers = {"Content-Type": "application/json"}
        if self._auth and method != "common.db.login":
            headers["Authorization"] = self._auth
        try:
            return self.http.post(self.endpoint, content=body, headers=headers)
        except Exception as exc:  # classified: time-outs and resets retry
            raise http_error(exc) from exc

    @staticmethod
    def _result(response: httpx.Response) -> Any:
        if response.status_code != 200:
            raise response_error(response)
        try:
            data = json.loads(response.text, object_hook=_decode)
        except ValueError as exc:
            raise RetryableError(
                "Tryton answered with something that is not JSON",
                status=200,
                detail=response.text[:500],
            ) from exc
        if "error" in data:
            raise classify_rpc_error(data["error"])
        return data.get("result")

    def login(self) -> None:
        response = self._post(
            "common.db.login",
            [self.username, {"password": self.password}, self.language],
        )
        if response.status_code in (401, 403):
            raise AuthExpiredError(
                f"Tryton refused the login of {self.username!r}",
                status=response.status_code,
            )
        user_id, session = self._result(response)[:2]
        token = f"{self.username}:{user_id}:{session}".encode()
        self._auth = "Session " + base64.b64encode(token).decode()

    def logout(self) -> None:
        if self._auth:
            try:
                self._post("common.db.logout", [])
            except ConnectorError:
                pass
            self._auth = None

    def call(self, method: str, *params: Any) -> Any:
        """Call `method`; log in first, and once more if the session expired."""
        if self._auth is None:
            self.login()
        response = self._post(method, params)
        if response.status_code == 401:
            self.login()
            response = self._post(method, params)
            if response.status_code == 401:
                raise AuthExpiredError(
                    "Tryton session refused after a fresh login", status=401
                )
        return self._result(response)

    # Model helpers: the context is always the last argument.

    def search_read(
        self,
        model: str,
        domain: list[Any],
        fields: Sequence[str],
        *,
        offset: int = 0,
        limit: int | None = None,
        order: list[list[str]] | None = None,
        context: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        return self.call(
            f"model.{model}.search_read",
            domain,
            offset,
            limit,
            order,
            list(fields),
            context or {},
        )

    def read(
        self,
        model: str,
        ids: Sequence[int],
        fields: Sequence[str],
        context: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        return self.call(f"model.{model}.read", list(ids), list(fields), context or {})

    def create(
        self,
        model: str,
        values: Sequence[dict[str, Any]],
        context: dict[str, Any] | None = None,
    ) -> list[int]:
        return self.call(f"model.{model}.create", list(values), context or {})

    def write(
        self,
        model: str,
        ids: Sequence[int],
        values: dict[str, Any],
        context: dict[str, Any] | None = None,
    ) -> None:
        self.call(f"model.{model}.write", list(ids), values, context or {})
