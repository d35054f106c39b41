from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import ApiToken, User


class Command(BaseCommand):
    help = "Create an API token for the user with EMAIL and print it (it is shown only once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("--name", required=True, help="What the token is for, e.g. 'CRM'.")

    def handle(self, *args: Any, email: str, name: str, **options: Any) -> None:
        user = User.objects.filter(email__iexact=email.strip()).first()
        if user is None:
            raise CommandError(f"No user has the email address {email}.")
        if not user.is_active:
            raise CommandError(f"{user.email} is not active; an API token would not work.")
        if not name.strip():
            raise CommandError("Give the token a name (--name).")
        token, key = ApiToken.issue(user=user, name=name.strip())
        self.stderr.write(
            f"Token {token.name!r} for {user.email} created. It is shown only this once:"
        )
        self.stdout.write(key)
