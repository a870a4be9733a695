"""Search API: ranked fuzzy search, and "search before create"."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from mdm.api.base import ReadApi
from mdm.api.permissions import request_client
from mdm.api.serializers import (
    CandidateInputSerializer,
    ErrorOutputSerializer,
    MatchOutputSerializer,
    SearchInputSerializer,
    SearchOutputSerializer,
    golden_record_data,
)
from mdm.models import SourceSystem
from mdm.selectors.api import candidate_record_match, golden_record_search_ranked

BAD_INPUT = OpenApiResponse(ErrorOutputSerializer, description="Bad parameters")


class GoldenRecordSearchApi(ReadApi):
    throttle_scope = "search"

    @extend_schema(
        operation_id="golden_record_search",
        summary="Golden records ranked by name (fuzzy), phone and e-mail",
        parameters=[SearchInputSerializer],
        responses={200: SearchOutputSerializer, 400: BAD_INPUT},
    )
    def get(self, request):
        params = SearchInputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        query = params.validated_data
        hits = golden_record_search_ranked(
            name=query.get("name", ""),
            phone=query.get("phone", ""),
            email=query.get("email", ""),
            limit=query.get("limit", 10),
        )
        context = self.serializer_context()
        results = [
            {
                "score": hit.score,
                "matched": hit.matched,
                "source": hit.source,
                "golden": golden_record_data(hit.golden, context),
            }
            for hit in hits
        ]
        return Response({"results": results})


class CandidateMatchApi(ReadApi):
    """A read sent as POST: it stores nothing."""

    throttle_scope = "search"

    @extend_schema(
        operation_id="golden_record_match",
        summary="Search before create: the golden records a record would match",
        description="Scores the record as ingesting it would, with a per-field "
        "explanation, and stores nothing.",
        request=CandidateInputSerializer,
        responses={200: MatchOutputSerializer, 400: BAD_INPUT, 404: BAD_INPUT},
    )
    def post(self, request):
        data = CandidateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        system = None
        code = data.validated_data.get("source_system")
        if code:
            system = SourceSystem.objects.filter(code=code).first()
            if system is None:
                raise NotFound("No source system has this code.")
        else:
            client = request_client(request)
            system = client.source_system if client is not None else None
        outcome = candidate_record_match(attributes=data.attributes(), system=system)
        context = self.serializer_context()
        candidates = [
            {
                "score": round(c.score, 4),
                "source": c.record.key,
                "explanation": c.evidence,
                "golden": golden_record_data(c.golden, context),
            }
            for c in outcome.candidates
        ]
        return Response({"decision": outcome.decision, "candidates": candidates})
