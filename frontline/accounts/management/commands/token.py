"""`frontline token create --email EMAIL [--name NAME]`: issue a personal API token;
`frontline token revoke --email EMAIL [--prefix PREFIX]`: revoke them.

Only the token is printed on standard output (so `TOKEN=$(frontline token create …)` works);
it is shown this once, and only its hash is stored. An unknown e-mail address exits with 2."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from frontline.accounts import selectors, services
from frontline.core.access import Actor


class Command(BaseCommand):
    help = "Manage personal API tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        create = actions.add_parser("create", help="Create a token and print it (shown once).")
        create.add_argument("--email", required=True, help="E-mail address of the token's owner.")
        create.add_argument("--name", default="API token", help="A label for the token.")
        revoke = actions.add_parser("revoke", help="Revoke a user's tokens (all, or one prefix).")
        revoke.add_argument("--email", required=True, help="E-mail address of the token's owner.")
        revoke.add_argument("--prefix", default=None, help="Only the token starting with this.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "create":
            self._create(email=options["email"], name=options["name"])
        elif options["action"] == "revoke":
            self._revoke(email=options["email"], prefix=options["prefix"])

    def _user(self, actor: Actor, email: str) -> Any:
        address = email.strip().lower()
        user = selectors.user_list(actor=actor).filter(email=address).first()
        if user is None:
            raise CommandError(f"No user with e-mail address {address!r}.", returncode=2)
        return user

    def _revoke(self, *, email: str, prefix: str | None) -> None:
        actor = Actor.system(label="frontline token revoke")
        count = services.token_revoke(actor=actor, user=self._user(actor, email), prefix=prefix)
        if prefix and not count:
            raise CommandError(f"No active token starting with {prefix!r}.", returncode=2)
        self.stdout.write(f"Revoked {count} token(s).")

    def _create(self, *, email: str, name: str) -> None:
        actor = Actor.system(label="frontline token create")
        address = email.strip().lower()
        user = selectors.user_list(actor=actor).filter(email=address).first()
        if user is None:
            raise CommandError(f"No user with e-mail address {address!r}.", returncode=2)
        if not user.is_active:
            raise CommandError(f"The user {address!r} is deactivated.", returncode=2)
        _, raw = services.token_create(actor=actor, user=user, name=name)
        self.stdout.write(raw)
