"""Export API: golden records (.xlsx or CSV) and the cross-reference (CSV)."""

from __future__ import annotations

from django.http import HttpResponse, StreamingHttpResponse
from rest_framework.views import APIView

from mdm.api.permissions import HasScope
from mdm.services.exports import golden_records_csv, golden_records_xlsx, xref_csv

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _attachment(response, filename: str):
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class GoldenRecordExportApi(APIView):
    """GET ?as=csv (default) or ?as=xlsx."""

    permission_classes = [HasScope]

    def get(self, request):
        if request.query_params.get("as") == "xlsx":
            response = HttpResponse(golden_records_xlsx(), content_type=XLSX)
            return _attachment(response, "golden-records.xlsx")
        response = StreamingHttpResponse(
            golden_records_csv(), content_type="text/csv; charset=utf-8"
        )
        return _attachment(response, "golden-records.csv")


class CrossReferenceExportApi(APIView):
    permission_classes = [HasScope]

    def get(self, request):
        response = StreamingHttpResponse(
            xref_csv(), content_type="text/csv; charset=utf-8"
        )
        return _attachment(response, "cross-reference.csv")
