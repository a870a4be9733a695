"""The OpenAPI schema and the interactive API page: public, so integrators
can read them before they hold a token; the page's assets come from
drf-spectacular-sidecar, served by the app (no CDN)."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny


class PublicSchemaMixin:
    permission_classes = [AllowAny]
    authentication_classes: list = []
    # Still limited (per IP): generating the schema is not free.
    throttle_scope = "search"


class SchemaApi(PublicSchemaMixin, SpectacularAPIView):
    pass


class DocsPage(PublicSchemaMixin, SpectacularSwaggerView):
    pass


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "mdm.api.authentication.BearerTokenAuthentication"
    name = "bearerToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API client's token, `gr_…`. Scopes: read, write, "
            "admin (all), pii (unmasked personal data).",
        }


# Errors any operation can answer with, besides those it documents itself.
_COMMON_ERRORS = {
    "400": "Malformed key, parameters or body",
    "401": "No token, or an invalid, revoked or expired one",
    "403": "The token lacks the scope or the source system",
    "429": "Rate limit exceeded; see the Retry-After header",
}
_BODY_ERRORS = {
    "400": "Malformed JSON or invalid fields",
    "413": "Body too large",
    "415": "Not application/json",
}


def add_error_responses(result, generator, request, public):
    """drf-spectacular post-processing hook: document the error bodies every
    endpoint shares, so clients (and schemathesis) know them."""
    error = {"$ref": "#/components/schemas/ErrorOutput"}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if path.endswith(("/schema", "/docs/")):
                continue
            extra = dict(_COMMON_ERRORS)
            if method in ("post", "put", "patch"):
                extra.update(_BODY_ERRORS)
            if "{" in path:
                extra.setdefault("404", "Unknown record")
                extra.setdefault("400", "Malformed key")
            responses = operation.setdefault("responses", {})
            for status, description in extra.items():
                responses.setdefault(
                    status,
                    {
                        "description": description,
                        "content": {"application/json": {"schema": error}},
                    },
                )
    result.setdefault("components", {}).setdefault("schemas", {}).setdefault(
        "ErrorOutput",
        {
            "type": "object",
            "properties": {
                "error": {"type": "string"},
                "detail": {},
            },
            "required": ["error", "detail"],
        },
    )
    return result
