from django.urls import path

from mdm.api import exports, ingest

urlpatterns = [
    path(
        "exports/golden-records",
        exports.GoldenRecordExportApi.as_view(),
        name="api-export-golden",
    ),
    path(
        "exports/cross-reference",
        exports.CrossReferenceExportApi.as_view(),
        name="api-export-xref",
    ),
    path(
        "systems/<slug:system>/records/batch",
        ingest.SourceRecordBatchApi.as_view(),
        name="api-record-batch",
    ),
    path(
        "systems/<slug:system>/records/<path:source_id>",
        ingest.SourceRecordUpsertApi.as_view(),
        name="api-record",
    ),
]
