"""RELIABILITY B9, the CI part: a short atheris run of each fuzz target
(bench/fuzz/). The targets touch no database, so they run once, in the
SQLite pass of CI; the long runs are in bench/ (docs/benchmarks.md).

The CI run is repeatable: a fixed seed and a fixed number of inputs per
target, so it fails when a change breaks one of those inputs' handling, not
because a random run happened upon an old bug. New bugs are the nightly
runs' job (their crash files go to tests/fuzz/regressions/)."""

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection

from bench.fuzz.targets import TARGETS

# Inputs per target: about a minute each in CI, a few seconds locally.
RUNS = {"import_file": 60_000, "ingest_json": 200_000}
SCALE = float(os.environ.get("FUZZ_SCALE", "1" if os.environ.get("CI") else "0.1"))
SEED = 20261126

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        connection.vendor != "sqlite", reason="database-free; runs in the SQLite pass"
    ),
]


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_a_fuzz_run_finds_no_undeclared_exception(target, tmp_path):
    pytest.importorskip("atheris")
    corpus = tmp_path / "corpus"
    result = subprocess.run(
        [
            sys.executable,
            "bench/fuzz/run.py",
            target,
            "--seconds=900",
            f"--runs={int(RUNS[target] * SCALE)}",
            f"--seed={SEED}",
            f"--corpus={corpus}",
            f"--artifacts={tmp_path}",
        ],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert "Done" in result.stderr
    assert len(list(corpus.iterdir())) >= 3  # seeds, plus what coverage added
