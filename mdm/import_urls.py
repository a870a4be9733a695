from django.urls import path

from mdm.views import imports

urlpatterns = [
    path("", imports.import_list, name="imports"),
    path("<int:pk>/", imports.import_detail, name="import_detail"),
    path("<int:pk>/confirm/", imports.import_confirm, name="import_confirm"),
    path("<int:pk>/sheet/", imports.import_sheet, name="import_sheet"),
    path("<int:pk>/import/", imports.import_checked_run, name="import_checked_run"),
    path("<int:pk>/progress/", imports.import_progress, name="import_progress"),
    path("<int:pk>/errors.xlsx", imports.import_errors, name="import_errors"),
    path("profiles/", imports.import_profile_list, name="import_profiles"),
    path(
        "profiles/<int:pk>/delete/",
        imports.import_profile_remove,
        name="import_profile_delete",
    ),
]
