"""Settings for bench/run_api_lookup.py: the product's settings, and a URLconf
that adds one bare Django JSON view beside the real ones, so the baseline runs
through the same server, middleware and configuration."""

from mdm.settings import *  # noqa: F401,F403

ROOT_URLCONF = "api_bench_urls"
