"""Which matching model is in force: the one trained by the latest batch run,
or, before any run, the default shipped with the product.

The default was trained without labels on synthetic customers that are not
the benchmark's (regenerate it with the command in docs/matching.md); the
first batch run over real data replaces it.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache, lru_cache
from pathlib import Path

import matching
from mdm.models import MatchRun

DEFAULT_MODEL = Path(__file__).resolve().parents[1] / "data" / "company_cn_model.json"


@cache
def match_config_default() -> matching.MatchConfig:
    return matching.MatchConfig.from_json(DEFAULT_MODEL.read_text(encoding="utf-8"))


def match_config_current() -> matching.MatchConfig:
    """The config of the latest successful batch run, else the shipped default.

    Called on every real-time match: only the run's key is read each time; a
    run's config (with its term-frequency tables) is parsed once per process.
    """
    latest = (
        MatchRun.objects.filter(status=MatchRun.Status.DONE)
        .exclude(config={})
        .order_by("-finished_at")
        .values_list("pk", "finished_at")
        .first()
    )
    if latest is None:
        return match_config_default()
    return _run_config(*latest)


@lru_cache(maxsize=4)
def _run_config(pk: int, finished_at: datetime) -> matching.MatchConfig:
    return matching.MatchConfig.from_dict(MatchRun.objects.get(pk=pk).config)
