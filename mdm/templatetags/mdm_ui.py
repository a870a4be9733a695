"""Small template helpers of the steward UI."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString, mark_safe

from mdm.masking import mask_text
from mdm.selectors.roles import Role, user_role

register = template.Library()

HIGH_SCORE = 0.85
MID_SCORE = 0.65


@register.simple_tag
def role_of(user: Any) -> Role:
    return user_role(user)


@register.filter
def score_class(score: float) -> str:
    if score >= HIGH_SCORE:
        return "high"
    return "mid" if score >= MID_SCORE else "low"


@register.filter
def distinct_sources(origins: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Lineage origins with each source record once (a list attribute has one
    origin per item)."""
    seen: dict[Any, dict[str, Any]] = {}
    for origin in origins:
        key = origin.get("source_record") or origin.get("steward")
        seen.setdefault(key, origin)
    return list(seen.values())


@register.simple_tag(takes_context=True)
def current(context: template.Context, *names: str) -> SafeString:
    """aria-current="page" on the navigation link of the page shown."""
    match = getattr(context.get("request"), "resolver_match", None)
    return mark_safe('aria-current="page"' if match and match.url_name in names else "")


@register.filter
def mask_unless(text: str, reveal: bool) -> str:
    """Free text (a reason, a comment) with personal data masked unless
    the reader may see it."""
    return text if reveal or not text else mask_text(str(text))
