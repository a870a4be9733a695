"""Which matching model is in force: the one trained by the latest batch run,
or the shipped default before any run."""

from __future__ import annotations

import matching
from mdm.models import MatchRun

SCHEMA = "company_cn"


def match_config_current() -> matching.MatchConfig:
    """The config of the latest successful batch run, else the shipped preset."""
    run = (
        MatchRun.objects.filter(status=MatchRun.Status.DONE)
        .exclude(config={})
        .order_by("-finished_at")
        .only("config")
        .first()
    )
    if run is not None:
        return matching.MatchConfig.from_dict(run.config)
    return matching.preset(SCHEMA)
