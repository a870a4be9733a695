"""Lookup API: "which customer is this?" by golden ID, source key or USCC,
one key or up to 1,000 mixed keys, and a golden record with its members."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from mdm.api.base import ReadApi
from mdm.api.serializers import (
    BatchLookupInputSerializer,
    BatchLookupOutputSerializer,
    ErrorOutputSerializer,
    GoldenDetailOutputSerializer,
    GoldenLookupOutputSerializer,
    UsccLookupOutputSerializer,
    golden_record_data,
    redirect_of,
)
from mdm.golden_ids import PATTERN as GOLDEN_ID_PATTERN
from mdm.models import CrossReference, GoldenRecord
from mdm.selectors.api import (
    USCC_PATTERN,
    GoldenAnswer,
    LookupKey,
    golden_record_get,
    golden_record_get_by_source,
    golden_record_list_by_uscc,
    golden_record_lookup_many,
    uscc_clean,
)
from mdm.selectors.golden_records import golden_record_members

ERRORS = {
    400: OpenApiResponse(ErrorOutputSerializer, description="Malformed key"),
    404: OpenApiResponse(ErrorOutputSerializer, description="Unknown key"),
}
GOLDEN_ID = OpenApiParameter(
    "golden_id",
    location=OpenApiParameter.PATH,
    pattern=GOLDEN_ID_PATTERN,
    description="A golden ID, e.g. GR0000000013; its last digit is a check "
    "digit, so a mistyped ID answers 400.",
)
USCC = OpenApiParameter(
    "uscc",
    location=OpenApiParameter.PATH,
    pattern=USCC_PATTERN,
    description="A unified social credit code or older tax ID.",
)


def _golden(golden_id: str) -> GoldenAnswer:
    try:
        return golden_record_get(golden_id)
    except GoldenRecord.DoesNotExist:
        raise NotFound("No golden record has this ID.") from None


class GoldenRecordApi(ReadApi):
    @extend_schema(
        operation_id="golden_record_get",
        parameters=[GOLDEN_ID],
        summary="A golden record by golden ID",
        description="A merged-away ID answers with the live survivor; `redirect` "
        "shows the chain of merges.",
        responses={200: GoldenLookupOutputSerializer, **ERRORS},
    )
    def get(self, request, golden_id: str):
        answer = _golden(golden_id)
        return Response(
            GoldenLookupOutputSerializer(answer, context=self.serializer_context()).data
        )


class GoldenRecordMembersApi(ReadApi):
    @extend_schema(
        operation_id="golden_record_members",
        parameters=[GOLDEN_ID],
        summary="A golden record with its member source records and lineage",
        responses={200: GoldenDetailOutputSerializer, **ERRORS},
    )
    def get(self, request, golden_id: str):
        answer = _golden(golden_id)
        context = self.serializer_context()
        data = GoldenDetailOutputSerializer(
            {
                "golden": answer.golden,
                "redirect": redirect_of(answer.chain),
                "members": golden_record_members(answer.golden),
                "lineage": answer.golden.lineage,
            },
            context=context,
        ).data
        return Response(data)


class SourceKeyLookupApi(ReadApi):
    @extend_schema(
        operation_id="golden_record_by_source",
        summary="The golden record of a source record (cross-reference)",
        responses={200: GoldenLookupOutputSerializer, **ERRORS},
    )
    def get(self, request, system: str, source_id: str):
        try:
            answer = golden_record_get_by_source(system, source_id)
        except CrossReference.DoesNotExist:
            raise NotFound("No linked source record has this key.") from None
        return Response(
            GoldenLookupOutputSerializer(answer, context=self.serializer_context()).data
        )


class UsccLookupApi(ReadApi):
    @extend_schema(
        operation_id="golden_record_by_uscc",
        parameters=[USCC],
        summary="Active golden records with a USCC / tax ID",
        description="Usually one; several mean a steward should look at them. "
        "An empty list when none.",
        responses={200: UsccLookupOutputSerializer, 400: ERRORS[400]},
    )
    def get(self, request, uscc: str):
        answers = golden_record_list_by_uscc(uscc)
        context = self.serializer_context()
        return Response(
            {
                "uscc": uscc_clean(uscc),
                "results": [golden_record_data(a.golden, context) for a in answers],
            }
        )


class BatchLookupApi(ReadApi):
    """A read sent as POST: up to 1,000 keys do not fit in a URL."""

    @extend_schema(
        operation_id="golden_record_lookup_batch",
        summary="Look up to 1,000 keys of mixed kinds at once",
        request=BatchLookupInputSerializer,
        responses={200: BatchLookupOutputSerializer, 400: ERRORS[400]},
    )
    def post(self, request):
        data = BatchLookupInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        keys = [
            LookupKey(
                kind=item["kind"],
                golden_id=item.get("golden_id", ""),
                system=item.get("source_system", ""),
                source_id=item.get("source_id", ""),
                uscc=item.get("uscc", ""),
            )
            for item in data.validated_data["keys"]
        ]
        context = self.serializer_context()
        results = []
        for item, result in zip(
            data.validated_data["keys"], golden_record_lookup_many(keys), strict=True
        ):
            answer = result.answer
            results.append(
                {
                    "key": {k: v for k, v in item.items() if k != "kind"},
                    "found": answer is not None,
                    "golden": golden_record_data(answer.golden, context)
                    if answer
                    else None,
                    "redirect": redirect_of(answer.chain) if answer else None,
                    "others": answer.others if answer else [],
                    "error": result.error or None,
                }
            )
        return Response({"results": results})
