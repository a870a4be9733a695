from django.urls import path

from connectors import views

urlpatterns = [
    path("<slug:name>/", views.inbound_webhook, name="inbound_webhook"),
]
