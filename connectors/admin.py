"""Admin for delivery: targets (with due/delivered/dead/conflict counts and
resume), deliveries (state filters, dead letters, attempts, replay) and the
link table. Registered from the connectors app; the rows are mdm's."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from mdm.models import (
    Delivery,
    DeliveryAttempt,
    DeliveryTarget,
    InboundWebhook,
    RemoteLink,
    SyncConflict,
)
from mdm.services.deliveries import delivery_replay, delivery_target_resume

RUNTIME_FIELDS = (
    "breaker_state",
    "consecutive_failures",
    "breaker_open_until",
    "paused_until",
    "rate_tat",
    "suspended_at",
    "suspended_reason",
    "last_error",
    "last_success_at",
    "inbound_cursor",
    "created_at",
)


@admin.register(DeliveryTarget)
class DeliveryTargetAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "kind",
        "enabled",
        "due",
        "delivered",
        "dead",
        "conflicts",
        "breaker_state",
        "suspended_at",
        "last_success_at",
    ]
    list_filter = ["kind", "enabled", "breaker_state"]
    readonly_fields = RUNTIME_FIELDS
    actions = ["resume"]

    def get_queryset(self, request):
        states = Delivery.State
        return (
            super()
            .get_queryset(request)
            .annotate(
                n_due=Count(
                    "deliveries",
                    filter=Q(deliveries__state__in=Delivery.OPEN_STATES),
                ),
                n_delivered=Count(
                    "deliveries", filter=Q(deliveries__state=states.DELIVERED)
                ),
                n_dead=Count("deliveries", filter=Q(deliveries__state=states.DEAD)),
                n_conflicts=Count(
                    "deliveries", filter=Q(deliveries__state=states.CONFLICT)
                ),
            )
        )

    @admin.display(description=_("due"), ordering="n_due")
    def due(self, obj):
        return obj.n_due

    @admin.display(description=_("delivered"), ordering="n_delivered")
    def delivered(self, obj):
        return obj.n_delivered

    @admin.display(description=_("dead letters"), ordering="n_dead")
    def dead(self, obj):
        return obj.n_dead

    @admin.display(description=_("conflicts"), ordering="n_conflicts")
    def conflicts(self, obj):
        return obj.n_conflicts

    @admin.action(description=_("Resume (lift suspension, close circuit)"))
    def resume(self, request, queryset):
        for target in queryset:
            delivery_target_resume(target=target)
        self.message_user(request, _("Resumed."), messages.SUCCESS)


class AttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = [
        "attempted_at",
        "outcome",
        "status_code",
        "duration_ms",
        "error",
        "worker",
    ]
    readonly_fields = fields
    ordering = ["-attempted_at"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "pk",
        "target",
        "golden_id",
        "version",
        "topic",
        "state",
        "attempts",
        "next_attempt_at",
        "last_status",
        "short_error",
    ]
    list_filter = ["state", "target", "topic"]
    search_fields = ["golden_id", "idempotency_key"]
    list_select_related = ["target"]
    inlines = [AttemptInline]
    actions = ["replay"]
    readonly_fields = [f.name for f in Delivery._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("last error"))
    def short_error(self, obj):
        return obj.last_error[:80]

    @admin.action(
        description=_("Replay (dead letters and conflicts, same event id)"),
        permissions=["change"],
    )
    def replay(self, request, queryset):
        count = delivery_replay(deliveries=queryset)
        self.message_user(
            request,
            ngettext(
                "%(count)d delivery queued again.",
                "%(count)d deliveries queued again.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )


@admin.register(RemoteLink)
class RemoteLinkAdmin(admin.ModelAdmin):
    list_display = [
        "golden_id",
        "target",
        "remote_id",
        "remote_version",
        "state",
        "last_version",
        "updated_at",
    ]
    list_filter = ["state", "target"]
    search_fields = ["golden_id", "remote_id"]
    readonly_fields = [f.name for f in RemoteLink._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(SyncConflict)
class SyncConflictAdmin(admin.ModelAdmin):
    """Read-only: stewards resolve conflicts on their own pages (/sync-conflicts/),
    where every decision is audited and re-queues the delivery."""

    list_display = ["golden_id", "target", "kind", "state", "created_at"]
    list_filter = ["state", "kind", "target"]
    search_fields = ["golden_id", "remote_id"]
    readonly_fields = [f.name for f in SyncConflict._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(InboundWebhook)
class InboundWebhookAdmin(admin.ModelAdmin):
    list_display = ["webhook_id", "target", "received_at"]
    list_filter = ["target"]
    readonly_fields = [f.name for f in InboundWebhook._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
