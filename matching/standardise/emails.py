"""E-mail addresses."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from matching.standardise.text import normalise


@dataclass(frozen=True, slots=True)
class Email:
    """A lower-cased e-mail address.

    `is_free_provider` marks personal mailboxes (qq.com, 163.com, gmail.com …),
    whose domain says nothing about the company.
    """

    address: str
    local: str
    domain: str
    is_free_provider: bool


FREE_PROVIDERS = frozenset(
    {
        "qq.com",
        "vip.qq.com",
        "foxmail.com",
        "163.com",
        "vip.163.com",
        "126.com",
        "vip.126.com",
        "yeah.net",
        "188.com",
        "sina.com",
        "sina.cn",
        "vip.sina.com",
        "sina.com.cn",
        "sohu.com",
        "vip.sohu.com",
        "aliyun.com",
        "139.com",
        "189.cn",
        "wo.cn",
        "21cn.com",
        "tom.com",
        "263.net",
        "yahoo.com",
        "yahoo.com.cn",
        "yahoo.cn",
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "live.cn",
        "msn.com",
        "icloud.com",
        "me.com",
        "protonmail.com",
        "proton.me",
    }
)

_EMAIL_RE = re.compile(
    r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@((?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,24})"
)
_ANGLE_RE = re.compile(r"<([^<>]*@[^<>]*)>")
# Quotation marks too, but not the apostrophe, which a local part may hold.
_CANDIDATE_SEPARATORS_RE = re.compile(r"[\s,;、<>()\"“”‘’「」『』《》〈〉]+")


@lru_cache(maxsize=16384)
def email(raw: str | None) -> Email | None:
    """Normalise an e-mail address.

    Lower-cases, trims, fixes full-width characters and the ideographic full
    stop (qq。com), and strips quotation marks, "mailto:" and a display name
    ("Wang <w@x.cn>"); an apostrophe stays (o'brien@x.com).
    When a cell holds several addresses the first valid one is taken.

    Args:
        raw: The address as it appears in the source system.

    Returns:
        None when no part of the value has the shape of an e-mail address.
    """
    text = normalise(raw).lower().replace("。", ".")
    if "@" not in text:
        return None
    if match := _ANGLE_RE.search(text):
        text = match.group(1)
    for candidate in _CANDIDATE_SEPARATORS_RE.split(text):
        candidate = candidate.removeprefix("mailto:").strip(".")
        if _EMAIL_RE.fullmatch(candidate):
            local, domain = candidate.rsplit("@", 1)
            return Email(
                address=candidate,
                local=local,
                domain=domain,
                is_free_provider=domain in FREE_PROVIDERS,
            )
    return None
