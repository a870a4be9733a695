from django.urls import path

from mdm.api import ingest

urlpatterns = [
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
