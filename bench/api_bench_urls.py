"""The product's URLs plus `bench/bare`: a Django view that returns a small
JSON object and touches neither the database nor DRF (the baseline)."""

from django.http import JsonResponse
from django.urls import include, path


def bare(request):
    return JsonResponse({"golden_id": "GR0000000013", "status": "active"})


urlpatterns = [path("bench/bare", bare), path("", include("mdm.urls"))]
