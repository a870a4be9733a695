"""Inputs the fuzzer once broke a target with, replayed on every run
(tests/fuzz/regressions/<target>/; add each new crash file there)."""

from pathlib import Path

import pytest

from bench.fuzz.targets import TARGETS

REGRESSIONS = Path(__file__).parent / "regressions"
CASES = sorted(
    (target, path)
    for target in TARGETS
    for path in (REGRESSIONS / target).glob("*")
    if path.is_file()
)


@pytest.mark.parametrize("target, path", CASES, ids=[f"{t}/{p.name}" for t, p in CASES])
def test_a_former_crash_is_handled(target, path):
    TARGETS[target](path.read_bytes())
