"""Bearer-token authentication for API clients (ERP, CRM, other services)."""

from __future__ import annotations

from rest_framework import authentication, exceptions

from mdm.models import ApiClient
from mdm.services.api_tokens import api_token_authenticate


class ClientPrincipal:
    """The `request.user` of a token request: the API client, not a person."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False

    def __init__(self, client: ApiClient) -> None:
        self.client = client

    def __str__(self) -> str:
        return f"api:{self.client.name}"

    def get_username(self) -> str:
        return str(self)


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        keyword, _, secret = header.partition(" ")
        if keyword != self.keyword:
            return None
        token = api_token_authenticate(secret.strip())
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid, revoked or expired token.")
        return ClientPrincipal(token.client), token

    def authenticate_header(self, request) -> str:
        return f'{self.keyword} realm="golden-record"'
