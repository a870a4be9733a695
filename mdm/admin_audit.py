"""Admin for the audit log (read-only, filterable) and for erasures (an
admin-only form that runs `erasure_request_execute`). Registered from
mdm/admin.py."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _

from mdm.models import AuditEvent, ErasureRecord
from mdm.services.erasure import ErasureError, ErasureRequest, erasure_request_execute


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = [
        "occurred_at",
        "actor",
        "actor_kind",
        "action",
        "object_type",
        "object_ref",
        "ip",
        "outcome",
        "detail",
    ]
    list_filter = ["outcome", "action", "actor_kind", "occurred_at"]
    search_fields = ["actor", "object_ref", "detail", "ip"]
    date_hierarchy = "occurred_at"
    list_per_page = 100
    show_full_result_count = False  # a count(*) of a long log on every page

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def _lines(text: str) -> tuple[str, ...]:
    return tuple(line.strip() for line in text.splitlines() if line.strip())


class ErasureForm(forms.Form):
    phones = forms.CharField(
        label=_("phones"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    emails = forms.CharField(
        label=_("e-mails"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    usccs = forms.CharField(
        label=_("USCC / tax IDs"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
    )
    id_numbers = forms.CharField(
        label=_("ID card numbers"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
    )
    source_keys = forms.CharField(
        label=_("source keys (system:ID)"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
    )
    golden_ids = forms.CharField(
        label=_("golden IDs"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    erase_names = forms.BooleanField(
        label=_("also erase the names (the customer is a natural person)"),
        required=False,
    )
    reason = forms.CharField(label=_("reason (the request's reference)"))
    confirm = forms.BooleanField(
        label=_("I understand that this cannot be undone"), required=True
    )

    def request(self) -> ErasureRequest:
        data = self.cleaned_data
        return ErasureRequest(
            **{
                name: _lines(data[name])
                for name in (
                    "phones",
                    "emails",
                    "usccs",
                    "id_numbers",
                    "source_keys",
                    "golden_ids",
                )
            },
            erase_names=data["erase_names"],
        )


@admin.register(ErasureRecord)
class ErasureRecordAdmin(admin.ModelAdmin):
    """The list of erasures; "add" is the erasure form, for superusers only."""

    list_display = ["executed_at", "executed_by", "reason", "golden_ids"]
    readonly_fields = [f.name for f in ErasureRecord._meta.fields]

    def has_add_permission(self, request) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ErasureForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                record = erasure_request_execute(
                    request=form.request(), reason=form.cleaned_data["reason"]
                )
            except ErasureError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("Erasure done."))
                return redirect("admin:mdm_erasurerecord_change", record.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "form": form,
            "title": _("Erase a customer's personal data"),
        }
        return render(request, "admin/mdm/erasure_form.html", context)
