"""Which matching model is in force: the one trained by the latest batch run,
or, before any run, the default shipped with the product.

The default was trained without labels on synthetic customers that are not
the benchmark's (regenerate it with the command in docs/matching.md); the
first batch run over real data replaces it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import matching
from mdm.models import MatchRun

DEFAULT_MODEL = Path(__file__).resolve().parents[1] / "data" / "company_cn_model.json"


@cache
def match_config_default() -> matching.MatchConfig:
    return matching.MatchConfig.from_json(DEFAULT_MODEL.read_text(encoding="utf-8"))


def match_config_current() -> matching.MatchConfig:
    """The config of the latest successful batch run, else the shipped default."""
    run = (
        MatchRun.objects.filter(status=MatchRun.Status.DONE)
        .exclude(config={})
        .order_by("-finished_at")
        .only("config")
        .first()
    )
    if run is not None:
        return matching.MatchConfig.from_dict(run.config)
    return match_config_default()
