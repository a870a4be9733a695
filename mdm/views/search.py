"""Search: golden ID, source ID, USCC, phone or (fuzzy) company name."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from mdm.forms import SearchForm
from mdm.selectors import golden_record_search, user_role
from mdm.views.access import reader_required
from mdm.views.display import attribute_text, shown


@reader_required
@require_GET
def search(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.GET)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    result = golden_record_search(query)
    reveal = user_role(request.user).sees_personal_data
    hits = [
        {
            "golden": hit.golden,
            "uscc": shown("uscc", hit.golden.uscc, reveal=reveal),
            "phones": attribute_text(
                "phones", shown("phones", hit.golden.phones, reveal=reveal)
            ),
            "record": hit.record,
            "score": hit.score,
        }
        for hit in result.hits
    ]
    context = {"form": form, "query": query, "result": result, "hits": hits}
    partial = request.htmx and not request.htmx.boosted
    template = "mdm/_search_results.html" if partial else "mdm/search.html"
    return render(request, template, context)
