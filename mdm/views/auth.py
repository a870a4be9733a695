"""Log in and out with Django's auth views and our templates."""

from __future__ import annotations

from django.contrib.auth import views as auth_views

login = auth_views.LoginView.as_view(
    template_name="registration/login.html",
    redirect_authenticated_user=True,
    next_page="home",
)
logout = auth_views.LogoutView.as_view(next_page="login")
