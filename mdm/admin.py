"""Admin for every model. Raw payloads and history are read-only: what a
source sent us is evidence, not something to edit."""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from mdm.models import (
    ApiClient,
    ApiToken,
    CrossReference,
    DecisionMember,
    GoldenIdAllocation,
    GoldenRecord,
    ImportJob,
    ImportProfile,
    ImportProfileUse,
    ImportRowError,
    MatchRun,
    OutboxEvent,
    ReviewTask,
    SourceRecord,
    SourceSystem,
    StewardDecision,
    SurvivorshipPolicy,
)
from mdm.services.api_tokens import (
    api_token_issue,
    api_token_revoke,
    api_token_rotate,
)


class NoAddNoDelete:
    """Rows that only services create and nobody deletes."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnly(NoAddNoDelete):
    """Append-only records: shown, never edited."""

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(SourceSystem)
class SourceSystemAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "kind", "mapping_preset", "default_trust"]
    fields = [
        "code",
        "name",
        "kind",
        "mapping_preset",
        "field_mapping",
        "trust",
        "default_trust",
    ]
    search_fields = ["code", "name"]


@admin.register(SourceRecord)
class SourceRecordAdmin(NoAddNoDelete, SimpleHistoryAdmin):
    list_display = [
        "source_system",
        "source_id",
        "name",
        "uscc",
        "uscc_valid",
        "is_active",
        "updated_at",
    ]
    list_filter = ["source_system", "is_active", "uscc_valid"]
    search_fields = ["source_id", "name", "uscc"]
    list_select_related = ["source_system"]
    readonly_fields = [
        "pretty_payload",
        *(f.name for f in SourceRecord._meta.fields if f.name != "id"),
    ]

    @admin.display(description=_("payload"))
    def pretty_payload(self, obj: SourceRecord) -> str:
        text = json.dumps(json.loads(obj.raw_payload), ensure_ascii=False, indent=2)
        return format_html("<pre>{}</pre>", text)


@admin.register(CrossReference)
class CrossReferenceAdmin(NoAddNoDelete, SimpleHistoryAdmin):
    list_display = ["source_record", "golden", "method", "score", "linked_at"]
    list_filter = ["method"]
    search_fields = ["source_record__source_id", "golden__golden_id"]
    raw_id_fields = ["source_record", "golden"]
    readonly_fields = ["source_record", "golden", "method", "score", "linked_at"]


class MemberInline(admin.TabularInline):
    model = CrossReference
    fields = ["source_record", "method", "score", "linked_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(GoldenRecord)
class GoldenRecordAdmin(NoAddNoDelete, SimpleHistoryAdmin):
    list_display = [
        "golden_id",
        "legal_name",
        "uscc",
        "status",
        "version",
        "updated_at",
    ]
    list_filter = ["status", "uscc_valid"]
    search_fields = ["golden_id", "legal_name", "short_name", "english_name", "uscc"]
    readonly_fields = ["golden_id", "status", "merged_into", "lineage", "version"]
    inlines = [MemberInline]


@admin.register(GoldenIdAllocation)
class GoldenIdAllocationAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["id", "issued_at"]


class DecisionMemberInline(admin.TabularInline):
    model = DecisionMember
    fields = ["source_record", "group"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(SurvivorshipPolicy)
class SurvivorshipPolicyAdmin(SimpleHistoryAdmin):
    list_display = ["attribute", "rules", "note", "updated_at"]
    fields = ["attribute", "rules", "note"]

    def get_readonly_fields(self, request, obj=None) -> list[str]:
        return ["attribute"] if obj else []

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        self.message_user(
            request,
            _(
                "New and changed golden records follow these rules from now on; "
                "run “manage.py recompute_golden_records” to apply them to all."
            ),
            messages.INFO,
        )


@admin.register(StewardDecision)
class StewardDecisionAdmin(NoAddNoDelete, admin.ModelAdmin):
    list_display = ["kind", "decided_by", "decided_at", "reason"]
    list_filter = ["kind"]
    readonly_fields = ["kind", "decided_by", "decided_at", "reason", "details"]
    inlines = [DecisionMemberInline]


@admin.register(ReviewTask)
class ReviewTaskAdmin(NoAddNoDelete, SimpleHistoryAdmin):
    list_display = [
        "left",
        "right",
        "score",
        "status",
        "has_uscc_conflict",
        "created_at",
    ]
    list_filter = ["status", "has_uscc_conflict"]
    raw_id_fields = ["left", "right", "assignee"]
    readonly_fields = [
        "left",
        "right",
        "score",
        "evidence",
        "has_uscc_conflict",
        "created_at",
    ]


@admin.register(ApiClient)
class ApiClientAdmin(SimpleHistoryAdmin):
    list_display = ["name", "source_system", "scopes", "is_active"]
    actions = ["issue_token"]

    @admin.action(description=_("Issue a new token (shown once)"))
    def issue_token(self, request, queryset) -> None:
        for client in queryset:
            issued = api_token_issue(client=client)
            self.message_user(
                request,
                _("Token for %(client)s: %(secret)s — copy it now, it is not stored.")
                % {"client": client.name, "secret": issued.secret},
                messages.WARNING,
            )


@admin.register(ApiToken)
class ApiTokenAdmin(NoAddNoDelete, admin.ModelAdmin):
    list_display = [
        "client",
        "prefix",
        "created_at",
        "expires_at",
        "revoked_at",
        "last_used_at",
    ]
    list_filter = ["client"]
    readonly_fields = [
        "client",
        "prefix",
        "key_hash",
        "created_at",
        "revoked_at",
        "last_used_at",
    ]
    actions = ["revoke", "rotate"]

    @admin.action(description=_("Revoke selected tokens"))
    def revoke(self, request, queryset) -> None:
        for token in queryset:
            api_token_revoke(token=token)

    @admin.action(description=_("Rotate: issue successors (old ones end in 24 h)"))
    def rotate(self, request, queryset) -> None:
        live = queryset.filter(revoked_at__isnull=True).exclude(
            expires_at__lte=timezone.now()
        )
        for token in live:
            issued = api_token_rotate(token=token)
            self.message_user(
                request,
                _("Token for %(client)s: %(secret)s — copy it now, it is not stored.")
                % {"client": token.client.name, "secret": issued.secret},
                messages.WARNING,
            )


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["id", "topic", "golden_id", "version", "created_at"]
    list_filter = ["topic"]
    search_fields = ["golden_id"]
    readonly_fields = ["topic", "golden_id", "version", "payload", "created_at"]


class ImportRowErrorInline(admin.TabularInline):
    model = ImportRowError
    fields = ["row", "column", "code", "message"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = [
        "original_name",
        "sheet",
        "source_system",
        "status",
        "created_count",
        "updated_count",
        "unchanged_count",
        "failed_count",
        "created_at",
    ]
    list_filter = ["status", "source_system"]
    exclude = ["file"]
    readonly_fields = [
        f.name for f in ImportJob._meta.fields if f.name not in ("id", "file")
    ]
    inlines = [ImportRowErrorInline]

    def has_add_permission(self, request) -> bool:
        return False


class ImportProfileUseInline(admin.TabularInline):
    model = ImportProfileUse
    fields = ["job", "how", "score", "new_columns", "missing_columns", "applied_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ImportProfile)
class ImportProfileAdmin(SimpleHistoryAdmin):
    list_display = ["name", "source_system", "mode", "updated_at", "updated_by"]
    list_filter = ["source_system"]
    search_fields = ["name"]
    fields = [
        "source_system",
        "name",
        "mapping",
        "sheet",
        "encoding",
        "mode",
        "blank_rows_continue",
    ]
    readonly_fields = ["created_by", "created_at", "updated_by", "updated_at"]
    inlines = [ImportProfileUseInline]

    def get_fields(self, request, obj=None) -> list[str]:
        return self.fields + (self.readonly_fields if obj else [])

    def save_model(self, request, obj: ImportProfile, form, change) -> None:
        # The model's clean() has checked the mapping; only who and when remain.
        obj.updated_by, obj.updated_at = request.user, timezone.now()
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(MatchRun)
class MatchRunAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "status",
        "records",
        "pairs_scored",
        "started_at",
        "finished_at",
    ]
    readonly_fields = [f.name for f in MatchRun._meta.fields if f.name != "id"]

    def has_add_permission(self, request) -> bool:
        return False


from mdm import admin_audit  # noqa: E402, F401  (audit log and erasures)
