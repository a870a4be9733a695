"""Export API: golden records (.xlsx or CSV) and the cross-reference (CSV)."""

from __future__ import annotations

from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.views import APIView

from mdm.api.permissions import HasScope
from mdm.api.serializers import StrictSerializer
from mdm.services.exports import golden_records_csv, golden_records_xlsx, xref_csv

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ExportInputSerializer(StrictSerializer):
    # "as" is a Python keyword, so the field is declared by name.
    pass


ExportInputSerializer._declared_fields["as"] = serializers.ChoiceField(
    choices=["csv", "xlsx"], required=False
)


def _attachment(response, filename: str):
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class GoldenRecordExportApi(APIView):
    """GET ?as=csv (default) or ?as=xlsx."""

    permission_classes = [HasScope]

    @extend_schema(
        operation_id="export_golden_records",
        summary="Active golden records as CSV or .xlsx",
        parameters=[ExportInputSerializer],
        responses={
            (200, "text/csv"): OpenApiTypes.BINARY,
            (200, XLSX): OpenApiTypes.BINARY,
        },
    )
    def get(self, request):
        params = ExportInputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        if params.validated_data.get("as") == "xlsx":
            response = HttpResponse(golden_records_xlsx(), content_type=XLSX)
            return _attachment(response, "golden-records.xlsx")
        response = StreamingHttpResponse(
            golden_records_csv(), content_type="text/csv; charset=utf-8"
        )
        return _attachment(response, "golden-records.csv")


class CrossReferenceExportApi(APIView):
    permission_classes = [HasScope]

    @extend_schema(
        operation_id="export_cross_reference",
        summary="The cross-reference as CSV",
        responses={(200, "text/csv"): OpenApiTypes.BINARY},
    )
    def get(self, request):
        response = StreamingHttpResponse(
            xref_csv(), content_type="text/csv; charset=utf-8"
        )
        return _attachment(response, "cross-reference.csv")
