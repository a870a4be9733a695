"""Test sizes per tier of ../shared/RELIABILITY.md: the default suite runs
the CI sizes; `scripts/nightly` sets RELIABILITY_TIER=nightly for the
nightly ones (10,000 merge transactions for D1, 1,000 golden IDs for D5)."""

import os

NIGHTLY = os.environ.get("RELIABILITY_TIER") == "nightly"


def tier_size(ci: int, nightly: int) -> int:
    return nightly if NIGHTLY else ci
