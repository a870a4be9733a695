"""Shipped default configs, by schema name."""

from __future__ import annotations

from matching.config import MatchConfig


def preset(schema: str) -> MatchConfig:
    """The default (untrained) config for a schema.

    Args:
        schema: "person" or "company_cn".
    """
    if schema == "person":
        from matching.presets.person import PERSON

        return PERSON
    if schema == "company_cn":
        from matching.presets.company_cn import COMPANY_CN

        return COMPANY_CN
    raise ValueError(f"no preset for schema {schema!r}")
