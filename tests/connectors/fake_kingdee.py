"""A fake Kingdee K/3 Cloud WebAPI that follows the published behaviour:

* `POST /k3cloud/<ServiceName>.common.kdsvc`, JSON bodies;
* third-party signature: the nine headers are checked exactly as Kingdee's
  SDKs compute them (X-Kd-Signature with the app secret, X-Api-Signature
  with the key decoded from the AppID, a 15-minute timestamp window, no
  nonce twice); or AuthService.LoginByAppSecret and the kdservice-sessionid
  cookie;
* answers HTTP 200 with `Result.ResponseStatus` (IsSuccess false, Errors,
  MsgCode 1 for a lost session, 11 for a taken FNumber); ExecuteBillQuery
  answers bare rows;
* BD_Customer: Save (create with FCUSTID 0, update with NeedUpDateFields),
  View, ExecuteBillQuery (the FilterString subset the connector uses:
  =, >=, > and IN joined by AND),
  Submit, Audit and ExcuteOperation Forbid.

Tests steer it: `user_edit` changes a customer as a Kingdee user would,
`expire_sessions` drops every session, and the LoopbackServer faults fail,
slow down or drop answers.
"""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import json
import re
import secrets
import time
from typing import Any

from connectors.erp.kingdee.client import decode_app_secret, kd_hmac, signed_path
from tests.connectors.fake_erp_crm_http import LoopbackServer

PREFIX = "Kingdee.BOS.WebApi.ServicesStub."
FORM = "BD_Customer"
SKEW = 15 * 60
HEADER_KEYS = {
    "FNumber",
    "FName",
    "FShortName",
    "FTaxRegisterCode",
    "FTEL",
    "FADDRESS",
    "FINVOICETITLE",
    "FCreateOrgId",
    "FUseOrgId",
}


def _status(errors: list[dict[str, Any]], msg_code: int = 0) -> dict[str, Any]:
    return {
        "Result": {
            "ResponseStatus": {
                "ErrorCode": 500,
                "IsSuccess": False,
                "Errors": errors,
                "SuccessEntitys": [],
                "SuccessMessages": [],
                "MsgCode": msg_code,
            }
        }
    }


def _error(message: str, field: str | None = None, msg_code: int = 0) -> dict[str, Any]:
    return _status([{"FieldName": field, "Message": message, "DIndex": 0}], msg_code)


SESSION_LOST = _error("会话信息已丢失，请重新登录", msg_code=1)


class FakeKingdee:
    def __init__(
        self,
        *,
        acct_id: str,
        username: str,
        app_id: str,
        app_secret: str,
        orgs: tuple[str, ...] = ("100",),
    ) -> None:
        self.acct_id, self.username = acct_id, username
        self.app_id, self.app_secret = app_id, app_secret
        self.orgs = orgs
        self.customers: dict[int, dict[str, Any]] = {}
        self.sessions: set[str] = set()
        self.nonces: set[str] = set()
        self.saves = 0
        self._ids = itertools.count(100001)
        self._clock = itertools.count(1)
        self.server = LoopbackServer(self.handle)

    # Test controls

    def start(self) -> FakeKingdee:
        self.server.start()
        return self

    @property
    def url(self) -> str:
        return f"{self.server.url}/k3cloud"

    def stop(self) -> None:
        self.server.stop()

    def expire_sessions(self) -> None:
        self.sessions.clear()

    def by_number(self, number: str) -> dict[str, Any] | None:
        return next(
            (c for c in self.customers.values() if c["FNumber"] == number), None
        )

    def user_edit(self, number: str, **values: Any) -> None:
        customer = self.by_number(number)
        customer.update(values)
        customer["FModifyDate"] = self._now()

    def user_create(self, number: str, name: str) -> int:
        return self._insert(
            {
                "FNumber": number,
                "FName": name,
                "FCreateOrgId": {"FNumber": self.orgs[0]},
                "FUseOrgId": {"FNumber": self.orgs[0]},
            }
        )

    # Protocol

    def _now(self) -> str:
        # Strictly increasing, millisecond text as Kingdee's datetimes.
        base = dt.datetime(2026, 1, 5, 9, 0, 0)
        return (base + dt.timedelta(milliseconds=10 * next(self._clock))).isoformat(
            timespec="milliseconds"
        )

    def _authorised(self, path: str, headers: dict[str, str]) -> bool:
        cookie = headers.get("cookie", "")
        match = re.search(r"kdservice-sessionid=([^;]+)", cookie)
        if match:
            return match.group(1) in self.sessions
        if "x-kd-appkey" not in headers:
            return False
        app_data = base64.b64decode(headers.get("x-kd-appdata", "")).decode()
        if app_data.split(",")[:2] != [self.acct_id, self.username]:
            return False
        if headers["x-kd-appkey"] != self.app_id or headers.get(
            "x-kd-signature"
        ) != kd_hmac(self.app_id + app_data, self.app_secret):
            return False
        timestamp, nonce = (
            headers.get("x-api-timestamp", ""),
            headers.get("x-api-nonce", ""),
        )
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > SKEW:
            return False
        if nonce in self.nonces or headers.get("x-api-auth-version") != "2.0":
            return False
        client_id, _, encoded = self.app_id.partition("_")
        to_sign = (
            f"POST\n{signed_path('http://h' + path)}\n\n"
            f"x-api-nonce:{nonce}\nx-api-timestamp:{timestamp}\n"
        )
        if headers.get("x-api-clientid") != client_id or headers.get(
            "x-api-signature"
        ) != kd_hmac(to_sign, decode_app_secret(encoded)):
            return False
        self.nonces.add(nonce)
        return True

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes):
        match = re.fullmatch(r"/k3cloud/(.+)\.common\.kdsvc", path)
        if method != "POST" or not match or not match.group(1).startswith(PREFIX):
            return 404, {"Content-Type": "text/html"}, b"<html>404</html>"
        service = match.group(1)[len(PREFIX) :]
        request = json.loads(body or b"{}")
        if service == "AuthService.LoginByAppSecret":
            return self._json(self._login(request), login=True)
        if not self._authorised(path, headers):
            return self._json(SESSION_LOST)
        handler = {
            "DynamicFormService.Save": self._save,
            "DynamicFormService.View": self._view,
            "DynamicFormService.ExecuteBillQuery": self._query,
            "DynamicFormService.Submit": self._submit,
            "DynamicFormService.Audit": self._audit,
            "DynamicFormService.ExcuteOperation": self._operation,
        }.get(service)
        if handler is None:
            return self._json(_error(f"服务 {service} 不存在"))
        return self._json(handler(request))

    def _json(self, data: Any, login: bool = False):
        headers = {}
        if login and isinstance(data, dict) and data.get("LoginResultType") == 1:
            headers["Set-Cookie"] = (
                f"kdservice-sessionid={data['KDSVCSessionId']}; path=/"
            )
        return 200, headers, json.dumps(data, ensure_ascii=False).encode()

    def _login(self, request: dict[str, Any]) -> dict[str, Any]:
        acct, user, app_id, secret, _lcid = request.get("parameters", [None] * 5)
        if (acct, user, app_id, secret) != (
            self.acct_id,
            self.username,
            self.app_id,
            self.app_secret,
        ):
            return {
                "Message": "应用程序ID或密钥错误",
                "LoginResultType": 0,
                "Context": None,
                "KDSVCSessionId": None,
            }
        session = secrets.token_hex(16)
        self.sessions.add(session)
        return {
            "Message": None,
            "MessageCode": "CheckPasswordPolicy",
            "LoginResultType": 1,
            "KDSVCSessionId": session,
            "Context": {"UserName": user, "DBid": acct, "SessionId": session},
        }

    def _insert(self, model: dict[str, Any]) -> int:
        cust_id = next(self._ids)
        record = {key: "" for key in HEADER_KEYS}
        record.update({k: v for k, v in model.items() if k in HEADER_KEYS})
        record.update(
            FCUSTID=cust_id,
            FModifyDate=self._now(),
            FForbidStatus="A",
            FDocumentStatus="A",
        )
        self.customers[cust_id] = record
        return cust_id

    def _save(self, request: dict[str, Any]) -> dict[str, Any]:
        if request.get("formid") != FORM:
            return _error(f"业务对象 {request.get('formid')} 不支持")
        data = request["data"]
        data = json.loads(data) if isinstance(data, str) else data
        model = data["Model"]
        cust_id = int(model.get("FCUSTID") or 0)
        unknown = set(model) - HEADER_KEYS - {"FCUSTID"}
        if unknown:
            return _error(f"字段 {sorted(unknown)[0]} 不存在", sorted(unknown)[0])
        if cust_id:
            record = self.customers.get(cust_id)
            if record is None:
                return _error("数据不存在或已被删除")
            keys = data.get("NeedUpDateFields") or list(model)
            changes = {k: model[k] for k in keys if k in model and k != "FCUSTID"}
        else:
            record, changes = None, model
            for required in ("FName", "FCreateOrgId", "FUseOrgId"):
                if not model.get(required):
                    return _error(f"字段“{required}”是必填项", required)
        number = changes.get("FNumber")
        if number and any(
            c["FNumber"] == number and c["FCUSTID"] != cust_id
            for c in self.customers.values()
        ):
            return _status(
                [
                    {
                        "FieldName": "FNumber",
                        "DIndex": 0,
                        "Message": "违反字段唯一性要求：编码唯一。"
                        f"[{number}]在当前系统中已经被使用。",
                    }
                ],
                msg_code=11,
            )
        org = (changes.get("FCreateOrgId") or {}).get("FNumber")
        if org and org not in self.orgs:
            return _error(f"组织编码[{org}]不存在", "FCreateOrgId")
        self.saves += 1
        if record is None:
            cust_id = self._insert(changes)
            record = self.customers[cust_id]
        else:
            record.update(changes)
            record["FModifyDate"] = self._now()
        entity = {"Id": cust_id, "Number": record["FNumber"], "DIndex": 0}
        return {
            "Result": {
                "ResponseStatus": {
                    "IsSuccess": True,
                    "Errors": [],
                    "SuccessEntitys": [entity],
                    "SuccessMessages": [],
                    "MsgCode": 0,
                },
                "Id": cust_id,
                "Number": record["FNumber"],
                "NeedReturnData": [{}],
            }
        }

    def _view(self, request: dict[str, Any]) -> dict[str, Any]:
        data = request["data"]
        record = None
        if data.get("Id"):
            record = self.customers.get(int(data["Id"]))
        elif data.get("Number"):
            record = self.by_number(data["Number"])
        if record is None:
            return _error("单据不存在或已被删除")

        def lang(value: str) -> list[dict[str, Any]]:
            return [{"Key": 2052, "Value": value}]

        def org(ref: dict[str, Any]) -> dict[str, Any]:
            return {"Id": 1, "Number": ref.get("FNumber", ""), "Name": lang("总公司")}

        return {
            "Result": {
                "ResponseStatus": None,
                "Result": {
                    "Id": record["FCUSTID"],
                    "Number": record["FNumber"],
                    "Name": lang(record["FName"]),
                    "ShortName": lang(record["FShortName"]),
                    "TaxRegisterCode": record["FTaxRegisterCode"],
                    "TEL": record["FTEL"],
                    "ADDRESS": record["FADDRESS"],
                    "INVOICETITLE": record["FINVOICETITLE"],
                    "CreateOrgId": org(record["FCreateOrgId"] or {}),
                    "UseOrgId": org(record["FUseOrgId"] or {}),
                    "ModifyDate": record["FModifyDate"],
                    "ForbidStatus": record["FForbidStatus"],
                    "DocumentStatus": record["FDocumentStatus"],
                },
            }
        }

    _LITERAL = r"'(?:[^']|'')*'|\d+"
    _CLAUSE = re.compile(rf"\s*(\w+)\s*(=|>=|>)\s*({_LITERAL})\s*")
    _IN = re.compile(
        rf"\s*(\w+)\s+IN\s*\(((?:\s*(?:{_LITERAL})\s*,)*\s*(?:{_LITERAL})\s*)\)\s*",
        re.I,
    )

    @staticmethod
    def _literal(text: str) -> Any:
        text = text.strip()
        return text[1:-1].replace("''", "'") if text.startswith("'") else int(text)

    def _query(self, request: dict[str, Any]) -> Any:
        data = request["data"]
        if data.get("FormId") != FORM:
            return [[_error(f"业务对象 {data.get('FormId')} 不存在")]]
        rows = list(self.customers.values())
        for clause in filter(
            None, re.split(r"\s+AND\s+", data.get("FilterString") or "", flags=re.I)
        ):
            within = self._IN.fullmatch(clause)
            if within:
                key, literals = within.groups()
                wanted = {
                    self._literal(m.group())
                    for m in re.finditer(self._LITERAL, literals)
                }
                rows = [r for r in rows if r.get(key) in wanted]
                continue
            match = self._CLAUSE.fullmatch(clause)
            if not match:
                return [[_error(f"过滤条件错误：{clause}")]]
            key, op, literal = match.groups()
            value: Any = self._literal(literal)
            compare = {
                "=": lambda a, b: a == b,
                ">=": lambda a, b: a >= b,
                ">": lambda a, b: a > b,
            }[op]
            rows = [r for r in rows if compare(r.get(key), value)]
        if data.get("OrderString"):
            rows.sort(key=lambda r: (r["FModifyDate"], r["FCUSTID"]))
        start, limit = int(data.get("StartRow") or 0), int(data.get("Limit") or 2000)
        keys = data["FieldKeys"].split(",")

        def get(row: dict[str, Any], key: str) -> Any:
            head, _, tail = key.partition(".")
            value = row.get(head)
            return (value or {}).get(tail, "") if tail else value

        return [[get(r, k) for k in keys] for r in rows[start : start + limit]]

    def _set_status(self, request, status: str, expect: str) -> dict[str, Any]:
        numbers = request["data"].get("Numbers") or []
        for number in numbers:
            record = self.by_number(number)
            if record is None or record["FDocumentStatus"] != expect:
                return _error(f"编码为[{number}]的客户状态不允许此操作")
            record["FDocumentStatus"] = status
            record["FModifyDate"] = self._now()
        return {
            "Result": {
                "ResponseStatus": {
                    "IsSuccess": True,
                    "Errors": [],
                    "SuccessEntitys": [],
                    "MsgCode": 0,
                }
            }
        }

    def _submit(self, request):
        return self._set_status(request, "B", "A")

    def _audit(self, request):
        return self._set_status(request, "C", "B")

    def _operation(self, request: dict[str, Any]) -> dict[str, Any]:
        if request.get("opNumber") != "Forbid":
            return _error(f"操作 {request.get('opNumber')} 不存在")
        for number in request["data"].get("Numbers") or []:
            record = self.by_number(number)
            if record is None:
                return _error(f"编码为[{number}]的客户不存在")
            record["FForbidStatus"] = "B"
            record["FModifyDate"] = self._now()
        return {
            "Result": {
                "ResponseStatus": {
                    "IsSuccess": True,
                    "Errors": [],
                    "SuccessEntitys": [],
                    "MsgCode": 0,
                }
            }
        }
