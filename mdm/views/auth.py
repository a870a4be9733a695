"""Log in and out with Django's auth views and our templates, and switch
the language with Django's view; each only by the methods it is meant for
(Django's LoginView takes a PUT as a POST)."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.views.decorators.http import require_http_methods
from django.views.i18n import set_language as django_set_language

login = require_http_methods(["GET", "POST"])(
    auth_views.LoginView.as_view(
        template_name="registration/login.html",
        redirect_authenticated_user=True,
        next_page="home",
    )
)
set_language = require_http_methods(["GET", "POST"])(django_set_language)
logout = auth_views.LogoutView.as_view(next_page="login")
