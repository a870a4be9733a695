"""The base of the read endpoints: scope `read`, a rate-limit scope, and
ETag / If-None-Match on every successful GET."""

from __future__ import annotations

import hashlib

from django.http import HttpResponseNotModified
from django.utils.cache import patch_vary_headers
from django.utils.http import parse_etags
from rest_framework.views import APIView

from mdm.api.permissions import HasScope, request_sees_pii


class ReadApi(APIView):
    permission_classes = [HasScope]
    required_scope = "read"
    throttle_scope = "lookup"

    def serializer_context(self) -> dict:
        return {"request": self.request, "reveal_pii": request_sees_pii(self.request)}

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if request.method not in ("GET", "HEAD") or response.status_code != 200:
            return response
        # The ETag is a digest of the body as this caller sees it (masked or
        # not), so it changes whenever anything in the answer does.
        response.render()
        etag = f'"{hashlib.sha256(response.content).hexdigest()[:32]}"'
        response["ETag"] = etag
        response["Cache-Control"] = "private, no-cache"
        patch_vary_headers(response, ["Authorization", "Cookie"])
        match = request.META.get("HTTP_IF_NONE_MATCH")
        if match and (etag in parse_etags(match) or match.strip() == "*"):
            not_modified = HttpResponseNotModified()
            for header in ("ETag", "Cache-Control", "Vary"):
                not_modified[header] = response[header]
            return not_modified
        return response
