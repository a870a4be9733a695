"""The rate-limit cache is unreachable: the API answers 503 with Retry-After
(as when the database is away), not 500, and does not let requests through
uncounted."""

import pytest

from tests.builders import make_golden

pytestmark = pytest.mark.django_db

DEAD_REDIS = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        # Port 1 on loopback: nothing listens, the connection is refused.
        "LOCATION": "redis://127.0.0.1:1/0",
    }
}


def test_an_unreachable_redis_gives_503_with_retry_after(settings, read_api):
    golden = make_golden()
    settings.CACHES = DEAD_REDIS
    response = read_api.get(f"/api/v1/golden-records/{golden.golden_id}")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["error"] == "RateLimitStoreUnavailable"
