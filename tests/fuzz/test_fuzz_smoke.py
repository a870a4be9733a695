"""RELIABILITY B9, the CI part: a short atheris run of each fuzz target
(bench/fuzz/). The targets touch no database, so they run once, in the
SQLite pass of CI; the long runs are in bench/ (docs/benchmarks.md)."""

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection

from bench.fuzz.targets import TARGETS

# 90 s per target in CI (3 minutes in all), 10 s locally.
SECONDS = int(os.environ.get("FUZZ_SECONDS", "90" if os.environ.get("CI") else "10"))

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
            f"--seconds={SECONDS}",
            f"--corpus={corpus}",
        ],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=SECONDS + 300,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert "Done" in result.stderr
    assert len(list(corpus.iterdir())) >= 3  # seeds, plus what coverage added
