"""Delivery operations: how each ERP/CRM/webhook target is doing, the recent
deliveries with their attempts, and replay of dead letters. Stewards and
admins only: delivery errors can quote what the targets answered."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from mdm.models import Delivery, DeliveryTarget
from mdm.selectors.deliveries import delivery_list, delivery_target_health
from mdm.services.deliveries import delivery_replay
from mdm.views.access import steward_required

PAGE_SIZE = 50


class DeliveryFilterForm(forms.Form):
    target = forms.ModelChoiceField(
        queryset=DeliveryTarget.objects.order_by("name"),
        required=False,
        label=gettext_lazy("Target"),
        empty_label=gettext_lazy("all"),
    )
    state = forms.ChoiceField(
        choices=[("", gettext_lazy("all")), *Delivery.State.choices],
        required=False,
        label=gettext_lazy("State"),
    )


@steward_required
@require_GET
def deliveries(request: HttpRequest) -> HttpResponse:
    form = DeliveryFilterForm(request.GET)
    # An unknown target or state filters nothing rather than failing.
    chosen = form.cleaned_data if form.is_valid() else {}
    target = chosen.get("target")
    rows = delivery_list(
        target_id=target.pk if target else None, state=chosen.get("state") or None
    )
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "health": delivery_target_health(now=timezone.now()),
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "dead_state": Delivery.State.DEAD,
    }
    return render(request, "mdm/deliveries.html", context)


@steward_required
@require_POST
def delivery_replay_one(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = get_object_or_404(Delivery, pk=pk)
    if delivery.state == Delivery.State.DEAD and delivery_replay(deliveries=[delivery]):
        messages.success(
            request,
            _("Delivery of %(golden)s v%(version)s to %(target)s queued again.")
            % {
                "golden": delivery.golden_id,
                "version": delivery.version,
                "target": delivery.target.name,
            },
        )
    else:
        messages.warning(
            request, _("Only a dead delivery can be replayed; nothing was queued.")
        )
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        back = reverse("deliveries")
    return redirect(back)
