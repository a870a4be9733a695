from django.urls import path, re_path

from mdm.api import changes, exports, ingest, lookups, schema, search, tokens
from mdm.api.exceptions import api_not_found

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
    path(
        "golden-records/lookup",
        lookups.BatchLookupApi.as_view(),
        name="api-golden-lookup",
    ),
    path(
        "golden-records/search",
        search.GoldenRecordSearchApi.as_view(),
        name="api-golden-search",
    ),
    path(
        "golden-records/match",
        search.CandidateMatchApi.as_view(),
        name="api-golden-match",
    ),
    path(
        "golden-records/changes",
        changes.GoldenChangeListApi.as_view(),
        name="api-golden-changes",
    ),
    path(
        "golden-records/by-source/<slug:system>/<path:source_id>",
        lookups.SourceKeyLookupApi.as_view(),
        name="api-golden-by-source",
    ),
    path(
        "golden-records/by-uscc/<str:uscc>",
        lookups.UsccLookupApi.as_view(),
        name="api-golden-by-uscc",
    ),
    path(
        "golden-records/<str:golden_id>",
        lookups.GoldenRecordApi.as_view(),
        name="api-golden",
    ),
    path(
        "golden-records/<str:golden_id>/members",
        lookups.GoldenRecordMembersApi.as_view(),
        name="api-golden-members",
    ),
    path(
        "golden-records/<str:golden_id>/history",
        changes.GoldenRecordHistoryApi.as_view(),
        name="api-golden-history",
    ),
    path("token", tokens.CurrentTokenApi.as_view(), name="api-token"),
    path(
        "token/rotate", tokens.CurrentTokenRotateApi.as_view(), name="api-token-rotate"
    ),
    path("tokens", tokens.TokenListApi.as_view(), name="api-tokens"),
    path(
        "tokens/<int:pk>/revoke",
        tokens.TokenRevokeApi.as_view(),
        name="api-token-revoke",
    ),
    path(
        "schema",
        schema.SchemaApi.as_view(),
        name="api-schema",
    ),
    path(
        "docs/",
        schema.DocsPage.as_view(url_name="api-schema"),
        name="api-docs",
    ),
    # Anything else under /api/v1/ is a JSON 404, like every other API error.
    re_path(r"^[\s\S]*", api_not_found),  # [\s\S]: a path may hold a newline
]
