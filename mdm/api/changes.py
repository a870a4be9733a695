"""Change feed for polling systems, and the history of one golden record."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response

from mdm.api.base import ReadApi
from mdm.api.lookups import ERRORS, GOLDEN_ID, _golden
from mdm.api.serializers import (
    ChangePageOutputSerializer,
    ChangesInputSerializer,
    ErrorOutputSerializer,
    HistoryInputSerializer,
    HistoryPageOutputSerializer,
    golden_record_data,
    masked,
)
from mdm.selectors.api import golden_change_list
from mdm.selectors.timeline import golden_record_timeline

_CHANGE = {"+": "created", "~": "changed", "-": "deleted"}


class GoldenChangeListApi(ReadApi):
    @extend_schema(
        operation_id="golden_record_changes",
        summary="Golden-record changes after a cursor or since a time",
        description="Oldest first. Keep `next_cursor` and pass it as `cursor` "
        "next time; `since` (ISO 8601) starts a new poller. Changes are served "
        "5 seconds after they are written, so no late commit is skipped.",
        parameters=[ChangesInputSerializer],
        responses={
            200: ChangePageOutputSerializer,
            400: OpenApiResponse(ErrorOutputSerializer),
        },
    )
    def get(self, request):
        params = ChangesInputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        query = params.validated_data
        page = golden_change_list(
            since=query.get("since"),
            cursor=query.get("cursor", ""),
            limit=query.get("limit", 100),
        )
        context = self.serializer_context()
        results = [
            {
                "cursor": change.cursor,
                "change": _CHANGE.get(change.row.history_type, "changed"),
                "changed_at": change.row.history_date,
                "reason": change.row.history_change_reason or "",
                "merged_into": change.row.merged_into.golden_id
                if change.row.merged_into_id
                else None,
                "golden": golden_record_data(change.row, context),
            }
            for change in page.changes
        ]
        return Response(
            {
                "results": results,
                "next_cursor": page.next_cursor,
                "has_more": page.has_more,
            }
        )


class GoldenRecordHistoryApi(ReadApi):
    @extend_schema(
        operation_id="golden_record_history",
        summary="What happened to a golden record, newest first",
        parameters=[GOLDEN_ID, HistoryInputSerializer],
        responses={200: HistoryPageOutputSerializer, **ERRORS},
    )
    def get(self, request, golden_id: str):
        params = HistoryInputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        limit = params.validated_data.get("limit", 50)
        offset = params.validated_data.get("offset", 0)
        answer = _golden(golden_id)
        reveal = self.serializer_context()["reveal_pii"]
        events = golden_record_timeline(answer.golden)
        results = [
            {
                "at": event.at,
                "kind": event.kind,
                "who": event.who,
                "reason": event.reason,
                "changes": [
                    {
                        "attribute": attribute,
                        "before": masked(attribute, before, reveal=reveal),
                        "after": masked(attribute, after, reveal=reveal),
                    }
                    for attribute, before, after in event.changes
                ],
                "source": event.source,
                "other_golden": event.other_golden,
                "method": event.method,
            }
            for event in events[offset : offset + limit]
        ]
        return Response(
            HistoryPageOutputSerializer({"count": len(events), "results": results}).data
        )
