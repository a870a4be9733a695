"""Search: golden ID, source ID, USCC, phone or (fuzzy) company name."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from mdm.forms import SearchForm
from mdm.selectors.search import golden_record_search
from mdm.services.pii_access import personal_data_shown
from mdm.views.access import reader_required
from mdm.views.display import attribute_text, shown


@reader_required
@require_GET
def search(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.GET)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    result = golden_record_search(query)
    reveal = personal_data_shown(
        user=request.user,
        object_type="golden",
        object_refs=[hit.golden.golden_id for hit in result.hits],
        where="search",
    )
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
