from django.contrib import admin
from django.urls import include, path

from mdm import views
from mdm.operations import metrics, probes
from mdm.views import auth, dashboard, deliveries, golden, queue, search

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", auth.login, name="login"),
    path("accounts/logout/", auth.logout, name="logout"),
    path("queue/", queue.queue_list, name="queue"),
    path("queue/bulk/", queue.queue_bulk, name="queue_bulk"),
    path("queue/<int:pk>/", queue.task_detail, name="task"),
    path("queue/<int:pk>/preview/", queue.task_preview, name="task_preview"),
    path("queue/<int:pk>/claim/", queue.task_claim, name="task_claim"),
    path("queue/<int:pk>/release/", queue.task_release, name="task_release"),
    path("queue/<int:pk>/assign/", queue.task_assign, name="task_assign"),
    path("queue/<int:pk>/merge/", queue.task_merge, name="task_merge"),
    path(
        "queue/<int:pk>/not-a-match/", queue.task_not_a_match, name="task_not_a_match"
    ),
    path("queue/<int:pk>/skip/", queue.task_skip, name="task_skip"),
    path("queue/<int:pk>/defer/", queue.task_defer, name="task_defer"),
    path("queue/<int:pk>/reopen/", queue.task_reopen, name="task_reopen"),
    path("golden/<str:golden_id>/", golden.golden_detail, name="golden"),
    path(
        "golden/<str:golden_id>/unmerge/<int:decision>/",
        golden.golden_unmerge,
        name="golden_unmerge",
    ),
    path("golden/<str:golden_id>/split/", golden.golden_split, name="golden_split"),
    path(
        "golden/<str:golden_id>/split/<int:decision>/undo/",
        golden.golden_split_undo,
        name="golden_split_undo",
    ),
    path("golden/<str:golden_id>/unpin/", golden.golden_unpin, name="golden_unpin"),
    path("golden/<str:golden_id>/pin/", golden.golden_pin, name="golden_pin"),
    path("source/<int:pk>/", golden.source_record_detail, name="source_record"),
    path("search/", search.search, name="search"),
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("deliveries/", deliveries.deliveries, name="deliveries"),
    path(
        "deliveries/<int:pk>/replay/",
        deliveries.delivery_replay_one,
        name="delivery_replay",
    ),
    path("i18n/setlang/", auth.set_language, name="set_language"),
    path("healthz", probes.healthz, name="healthz"),
    path("readyz", probes.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("mdm.api.urls")),
    path("imports/", include("mdm.import_urls")),
    path("sync-conflicts/", include("mdm.sync_conflict_urls")),
    path("inbound/webhooks/", include("connectors.urls")),
]
