"""Token API: a client sees and rotates its own token; an admin token lists
and revokes any."""

from __future__ import annotations

from datetime import timedelta

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from mdm.api.authentication import ClientPrincipal
from mdm.api.permissions import HasScope
from mdm.api.serializers import ErrorOutputSerializer, StrictSerializer
from mdm.models import ApiToken
from mdm.services.api_tokens import ROTATION_GRACE, api_token_revoke, api_token_rotate

NOT_FOUND = OpenApiResponse(ErrorOutputSerializer, description="Unknown token")


class IsTokenClient(BasePermission):
    """Only a bearer token may ask about, or rotate, itself."""

    message = "Only an API token can do this."

    def has_permission(self, request, view) -> bool:
        return isinstance(request.user, ClientPrincipal)


class TokenOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    client = serializers.CharField(source="client.name")
    prefix = serializers.CharField()
    scopes = serializers.ListField(
        child=serializers.CharField(), source="client.scopes"
    )
    source_system = serializers.CharField(
        source="client.source_system.code", allow_null=True, default=None
    )
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)
    last_used_at = serializers.DateTimeField(allow_null=True)


class IssuedTokenOutputSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="The new secret; shown this once.")
    details = TokenOutputSerializer()


class TokenRotateInputSerializer(StrictSerializer):
    grace_hours = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=24 * 30,
        help_text="How long the old token keeps working (default 24).",
    )


class CurrentTokenApi(APIView):
    permission_classes = [IsTokenClient]

    @extend_schema(
        operation_id="token_current",
        summary="The calling token: its client, scopes and expiry",
        responses={200: TokenOutputSerializer},
    )
    def get(self, request):
        return Response(TokenOutputSerializer(request.auth).data)


class CurrentTokenRotateApi(APIView):
    permission_classes = [IsTokenClient]

    @extend_schema(
        operation_id="token_rotate",
        summary="Rotate the calling token",
        description="Returns a new secret; the calling token ends after `grace_hours`.",
        request=TokenRotateInputSerializer,
        responses={200: IssuedTokenOutputSerializer},
    )
    def post(self, request):
        data = TokenRotateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        hours = data.validated_data.get("grace_hours")
        grace = ROTATION_GRACE if hours is None else timedelta(hours=hours)
        issued = api_token_rotate(token=request.auth, grace=grace)
        return Response(
            {
                "token": issued.secret,
                "details": TokenOutputSerializer(issued.token).data,
            }
        )


class TokenListApi(APIView):
    permission_classes = [IsTokenClient, HasScope]
    required_scope = "admin"

    @extend_schema(
        operation_id="token_list",
        summary="Every API token (admin)",
        responses={200: TokenOutputSerializer(many=True)},
    )
    def get(self, request):
        tokens = ApiToken.objects.select_related(
            "client", "client__source_system"
        ).order_by("client__name", "pk")
        return Response(TokenOutputSerializer(tokens, many=True).data)


class TokenRevokeApi(APIView):
    permission_classes = [IsTokenClient, HasScope]
    required_scope = "admin"

    @extend_schema(
        operation_id="token_revoke",
        summary="Revoke a token now (admin)",
        request=None,
        responses={200: TokenOutputSerializer, 404: NOT_FOUND},
    )
    def post(self, request, pk: int):
        token = ApiToken.objects.select_related("client").filter(pk=pk).first()
        if token is None:
            raise NotFound("No token has this id.")
        api_token_revoke(token=token)
        return Response(TokenOutputSerializer(token).data)
