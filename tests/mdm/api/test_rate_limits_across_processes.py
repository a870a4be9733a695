"""RELIABILITY W6 across processes: two real app processes (gunicorn with
deploy/gunicorn.conf.py, on two ports) share one database and one cache, and
a client's limit is counted once for both, not once per process.

Run against the cache production uses when REDIS_URL is set (Redis at
CI_REDIS_URL: skipped locally without it, a failure in CI, where .ci/run
starts Redis) and against the DatabaseCache fallback (always). The processes
use the test database (a file on SQLite too).
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from bench.gunicorn_server import GunicornServer
from mdm.models import ApiClient
from mdm.services.api_tokens import api_token_issue
from tests.conftest import scan_process_log

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

# Per day, so that no window edge falls inside a test (the windows are fixed).
LOOKUPS_PER_DAY = 40  # ±5 % is ±2 requests
SEARCHES_PER_DAY = 3


def redis_url() -> str:
    url = os.environ.get("CI_REDIS_URL")
    if url:
        return url
    if os.environ.get("CI") == "true":
        pytest.fail("CI_REDIS_URL is not set: .ci/run starts Redis for this test")
    pytest.skip("needs a Redis server: set CI_REDIS_URL (CI does)")


@pytest.fixture(scope="module")
def database_url(django_db_setup) -> str:
    """The test database, which the app processes open too."""
    s = connection.settings_dict
    if connection.vendor == "postgresql":
        auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
        return f"postgres://{auth}@{s['HOST']}:{s['PORT']}/{s['NAME']}"
    return f"sqlite:///{s['NAME']}"


def app_env(database_url: str, cache: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("REDIS_URL", "DATABASE_URL")
    }
    env.update(
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="mdm.settings",
        SECRET_KEY="tests-only-secret-key-not-for-production",
        DEBUG="false",
        SECURE_SSL_REDIRECT="false",
        ALLOWED_HOSTS="127.0.0.1",
        API_RATE_LOOKUP=f"{LOOKUPS_PER_DAY}/day",
        API_RATE_SEARCH=f"{SEARCHES_PER_DAY}/day",
        API_TRUSTED_PROXIES="0",
        LOG_LEVEL="WARNING",
        # Counters of earlier tests (same Redis, same SQLite file) stay apart.
        CACHE_KEY_PREFIX=f"w6-{uuid.uuid4().hex}",
    )
    if cache == "redis":
        env["REDIS_URL"] = redis_url()
    return env


def issue_token() -> str:
    """A new read token, committed, so that the app processes accept it."""
    client = ApiClient.objects.create(
        name=f"w6-{uuid.uuid4().hex[:8]}", scopes=["read"]
    )
    return api_token_issue(client=client).secret


@pytest.fixture(scope="module", params=["database", "redis"])
def two_apps(request, database_url, tmp_path_factory):
    """Two gunicorn servers, one sync worker each, started once per cache for
    the module (each test uses its own token or its own scope); yields their
    base URLs."""
    tmp_path = tmp_path_factory.mktemp(f"w6-{request.param}")
    env = app_env(database_url, request.param)
    env.update(REALTIME_INDEX_WARM="false")
    servers = []
    try:
        for n in range(2):
            servers.append(
                GunicornServer.start(env, workers=1, log=tmp_path / f"app{n}.log")
            )
        for server in servers:
            server.wait_answering("/healthz", timeout=120)
        yield [server.url for server in servers]
    finally:
        for server in servers:
            server.stop()
            scan_process_log(server.log)


def get(url: str, headers: dict[str, str]) -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers)


def lookup(base: str, secret: str, **headers: str) -> tuple[int, dict[str, str]]:
    # An unknown source key: the throttle counts the request before the view
    # looks, and a 404 needs no data.
    return get(
        f"{base}/api/v1/golden-records/by-source/erp/W6-UNKNOWN",
        {"Authorization": f"Bearer {secret}", **headers},
    )


def test_a_token_limit_holds_across_two_processes(two_apps):
    secret = issue_token()
    answers = [lookup(two_apps[i % 2], secret) for i in range(2 * LOOKUPS_PER_DAY)]
    codes = [code for code, _ in answers]
    assert codes == [404] * LOOKUPS_PER_DAY + [429] * LOOKUPS_PER_DAY
    for _, headers in answers[LOOKUPS_PER_DAY:]:
        assert 0 < int(headers["Retry-After"]) <= 86400
    # A spoofed client address changes nothing: the key is the token.
    for i in range(4):
        spoofed = {"X-Forwarded-For": f"203.0.113.{i}", "X-Real-IP": f"10.9.9.{i}"}
        assert lookup(two_apps[i % 2], secret, **spoofed)[0] == 429


def test_an_address_limit_holds_across_processes_and_spoofed_headers(two_apps):
    # Anonymous callers are counted by address; with API_TRUSTED_PROXIES=0
    # X-Forwarded-For is not believed, so a new value per request resets
    # nothing.
    codes = [
        get(
            f"{two_apps[i % 2]}/api/v1/schema",
            {"X-Forwarded-For": f"198.51.100.{i}, 10.0.0.{i}"},
        )[0]
        for i in range(2 * SEARCHES_PER_DAY)
    ]
    assert codes == [200] * SEARCHES_PER_DAY + [429] * SEARCHES_PER_DAY


def test_concurrent_requests_to_both_processes_stay_within_five_percent(
    two_apps, request
):
    secret = issue_token()
    sent = 4 * LOOKUPS_PER_DAY
    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(
            pool.map(lambda i: lookup(two_apps[i % 2], secret)[0], range(sent))
        )
    allowed = sum(code != 429 for code in codes)
    assert set(codes) <= {404, 429}
    if request.node.callspec.params["two_apps"] == "redis":
        # INCR is atomic: exact, whatever the interleaving.
        assert allowed == LOOKUPS_PER_DAY
    else:
        assert LOOKUPS_PER_DAY <= allowed <= LOOKUPS_PER_DAY * 1.05
