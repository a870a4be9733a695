from django.urls import path

from mdm.views import sync_conflicts

urlpatterns = [
    path("", sync_conflicts.conflict_list, name="sync_conflicts"),
    path("<int:pk>/", sync_conflicts.conflict_detail, name="sync_conflict"),
    path(
        "<int:pk>/decide/",
        sync_conflicts.conflict_decide,
        name="sync_conflict_decide",
    ),
    path(
        "<int:pk>/recreate/",
        sync_conflicts.conflict_recreate,
        name="sync_conflict_recreate",
    ),
    path(
        "<int:pk>/unlink/",
        sync_conflicts.conflict_unlink,
        name="sync_conflict_unlink",
    ),
]
