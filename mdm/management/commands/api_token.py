"""Issue, rotate, revoke and list API tokens from the command line.

manage.py api_token issue --client kingdee
manage.py api_token rotate gr_AbC123 [--grace-hours 24]
manage.py api_token revoke gr_AbC123
manage.py api_token list [--client kingdee]
"""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from mdm.models import ApiClient, ApiToken
from mdm.services.api_tokens import (
    ROTATION_GRACE,
    api_token_issue,
    api_token_revoke,
    api_token_rotate,
)
from mdm.services.errors import DomainError


class Command(BaseCommand):
    help = "Issue, rotate, revoke or list API tokens."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        issue = actions.add_parser("issue", help="issue a new token for a client")
        issue.add_argument("--client", required=True, help="the API client's name")
        rotate = actions.add_parser("rotate", help="replace a token with a new one")
        rotate.add_argument("prefix", help="the token's prefix, e.g. gr_AbC123")
        rotate.add_argument(
            "--grace-hours",
            type=int,
            default=int(ROTATION_GRACE.total_seconds() // 3600),
            help="how long the old token keeps working (0: revoke at once)",
        )
        revoke = actions.add_parser("revoke", help="end a token now")
        revoke.add_argument("prefix")
        listing = actions.add_parser("list", help="list tokens")
        listing.add_argument("--client")

    def handle(self, *args, action: str, **options):
        if action == "issue":
            client = ApiClient.objects.filter(name=options["client"]).first()
            if client is None:
                raise CommandError(f"No API client is named {options['client']!r}.")
            self._show_secret(api_token_issue(client=client))
        elif action == "rotate":
            token = self._token(options["prefix"])
            try:
                issued = api_token_rotate(
                    token=token, grace=timedelta(hours=options["grace_hours"])
                )
            except DomainError as exc:
                raise CommandError(str(exc)) from None
            self._show_secret(issued)
        elif action == "revoke":
            token = self._token(options["prefix"])
            api_token_revoke(token=token)
            self.stdout.write(f"Revoked {token.prefix} of {token.client.name}.")
        else:
            tokens = ApiToken.objects.select_related("client").order_by(
                "client__name", "pk"
            )
            if options.get("client"):
                tokens = tokens.filter(client__name=options["client"])
            for token in tokens:
                state = (
                    "revoked"
                    if token.revoked_at
                    else (
                        f"expires {token.expires_at:%Y-%m-%d %H:%M}"
                        if token.expires_at
                        else "live"
                    )
                )
                self.stdout.write(f"{token.client.name}\t{token.prefix}\t{state}")

    def _token(self, prefix: str) -> ApiToken:
        tokens = list(ApiToken.objects.select_related("client").filter(prefix=prefix))
        if len(tokens) != 1:
            raise CommandError(
                f"{len(tokens)} tokens have the prefix {prefix!r}; need exactly one."
            )
        return tokens[0]

    def _show_secret(self, issued) -> None:
        self.stderr.write(
            f"New token for {issued.token.client.name} (copy it now; it is not stored):"
        )
        self.stdout.write(issued.secret)
