"""HTML views for people: the overview page (the steward UI grows here)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from mdm.selectors import master_data_overview


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "mdm/home.html", {"overview": master_data_overview()})
