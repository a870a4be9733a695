"""HTML views for people: the overview page, the review queue, golden record
pages, search and the dashboard. Each view parses, calls a selector or a
service, and renders; the rules live in services and selectors."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from mdm.selectors.dashboard import master_data_overview
from mdm.views.access import reader_required


@reader_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "mdm/home.html", {"overview": master_data_overview()})
