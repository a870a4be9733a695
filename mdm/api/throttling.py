"""Per-token rate limits, counted in the shared Django cache.

DRF's sliding-window throttle, keyed by the API token (a client's tokens are
limited one by one, so a rotated-in successor starts fresh), by the user of a
session, or by the client IP for anything else. The IP comes from
REMOTE_ADDR unless `NUM_PROXIES` (env API_TRUSTED_PROXIES) says how many
proxies in front of the app may be believed in X-Forwarded-For.
"""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from mdm.models import ApiToken


class TokenRateThrottle(SimpleRateThrottle):
    """The view's `throttle_scope` ("lookup", "search", "write") picks the
    rate; a view without one is limited as a lookup (reads) or a write."""

    def __init__(self) -> None:
        # The scope, hence the rate, is known only per request.
        pass

    def allow_request(self, request, view) -> bool:
        self.scope = getattr(view, "throttle_scope", None) or (
            "lookup" if request.method in SAFE_METHODS else "write"
        )
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_rate(self) -> str:
        # Read per request, not at import, so settings overrides take effect.
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]

    def get_cache_key(self, request, view) -> str:
        if isinstance(request.auth, ApiToken):
            ident = f"token:{request.auth.pk}"
        elif request.user is not None and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return f"throttle:{self.scope}:{ident}"
