"""Ingest API: source systems push customer records, one or up to 1,000."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from mdm.api import idempotency
from mdm.api.idempotency import idempotent
from mdm.api.permissions import HasScope, OwnsSourceSystem
from mdm.models import SourceSystem
from mdm.services.ingestion import IngestResult, record_ingest, record_ingest_batch
from mdm.services.source_records import source_record_mark_deleted

MAX_BATCH = 1000


class IngestOutputSerializer(serializers.Serializer):
    source_system = serializers.CharField(source="record.source_system.code")
    source_id = serializers.CharField(source="record.source_id")
    outcome = serializers.CharField()
    golden_id = serializers.CharField(source="golden.golden_id")
    active = serializers.BooleanField(source="record.is_active")
    match = serializers.DictField(source="match_summary", allow_null=True)


def _system(code: str) -> SourceSystem:
    return get_object_or_404(SourceSystem, code=code)


def _shape(result: IngestResult) -> dict:
    return IngestOutputSerializer(result).data


class SourceRecordUpsertApi(APIView):
    """PUT a payload object as record `source_id`; DELETE marks it deleted."""

    permission_classes = [HasScope, OwnsSourceSystem]

    @extend_schema(
        operation_id="source_record_put",
        summary="Create or update a source record and match it at once",
        request={"application/json": OpenApiTypes.OBJECT},
        parameters=[idempotency.PARAMETER],
        responses={
            200: IngestOutputSerializer,
            201: IngestOutputSerializer,
            **idempotency.RESPONSES,
        },
    )
    @idempotent
    def put(self, request, system: str, source_id: str):
        if not isinstance(request.data, dict):
            return Response(
                {"error": "PayloadError", "detail": "The body must be a JSON object."},
                status=status.HTTP_400_BAD_REQUEST,
            )
        result = record_ingest(
            system=_system(system), source_id=source_id, payload=request.data
        )
        code = (
            status.HTTP_201_CREATED
            if result.outcome == "created"
            else status.HTTP_200_OK
        )
        return Response(_shape(result), status=code)

    @extend_schema(
        operation_id="source_record_delete",
        summary="Mark a source record deleted in the source (nothing is deleted)",
        parameters=[idempotency.PARAMETER],
        responses={
            200: inline_serializer(
                "SourceRecordDeleted",
                {
                    "source_system": serializers.CharField(),
                    "source_id": serializers.CharField(),
                    "active": serializers.BooleanField(),
                },
            ),
            **idempotency.RESPONSES,
        },
    )
    @idempotent
    def delete(self, request, system: str, source_id: str):
        record = source_record_mark_deleted(system=_system(system), source_id=source_id)
        return Response(
            {"source_system": system, "source_id": record.source_id, "active": False}
        )


class SourceRecordBatchApi(APIView):
    """POST {"records": [{"source_id": ..., "payload": {...}}, ...]} (≤ 1,000).

    Each record is ingested on its own: one broken record gets an error entry
    and the others still go in.
    """

    permission_classes = [HasScope, OwnsSourceSystem]

    class InputSerializer(serializers.Serializer):
        class Item(serializers.Serializer):
            source_id = serializers.CharField(max_length=255)
            payload = serializers.JSONField()

        records = Item(many=True, allow_empty=False, max_length=MAX_BATCH)

    @extend_schema(
        operation_id="source_record_batch",
        summary="Create or update up to 1,000 source records",
        request=InputSerializer,
        parameters=[idempotency.PARAMETER],
        responses={
            200: inline_serializer(
                "SourceRecordBatchResults",
                {"results": serializers.ListField(child=serializers.DictField())},
            ),
            **idempotency.RESPONSES,
        },
    )
    @idempotent
    def post(self, request, system: str):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        results = record_ingest_batch(
            system=_system(system), items=data.validated_data["records"]
        )
        body = [
            _shape(r) if isinstance(r, IngestResult) else {"error": "PayloadError", **r}
            for r in results
        ]
        return Response({"results": body}, status=status.HTTP_200_OK)
