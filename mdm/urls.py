from django.contrib import admin
from django.urls import include, path

from mdm import views

urlpatterns = [
    path("", views.home, name="home"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("mdm.api.urls")),
]
