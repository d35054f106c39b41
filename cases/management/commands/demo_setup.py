from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from accounts.models import Organization, User

DEMO_CORPUS = Path(settings.BASE_DIR) / "cases" / "fixtures" / "demo-corpus.json"
DEMO_PASSWORD = "casebook-demo"
ADMIN_EMAIL = "admin@casebook.example.com"


class Command(BaseCommand):
    help = "Load the demo corpus (once) and give the demo accounts a known password."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--address", default="127.0.0.1:8000", help="where the server will listen"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("import_cases", str(DEMO_CORPUS), stdout=self.stdout, stderr=self.stderr)

        demo: list[tuple[str, User]] = []
        for org in Organization.objects.order_by("name"):
            customer = org.members.filter(is_active=True).order_by("pk").first()
            if customer is not None:
                demo.append((f"customer, {org.name}", customer))
        for role in ("support", "engineering"):
            staff = User.objects.filter(groups__name=role, is_active=True).order_by("pk").first()
            if staff is not None:
                demo.append((role, staff))
        admin = User.objects.filter(email=ADMIN_EMAIL).first()
        if admin is None:
            admin = User.objects.create_superuser(ADMIN_EMAIL, name="Casebook Admin")
        demo.append(("administrator", admin))

        for _, user in demo:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])

        width = max(len(user.email) for _, user in demo)
        address = options["address"]
        self.stdout.write(f"\nCasebook is ready at http://{address}/ (staff: /admin/)")
        self.stdout.write(f"Demo sign-ins, all with the password {DEMO_PASSWORD!r}:")
        for role, user in demo:
            self.stdout.write(f"  {user.email:<{width}}  {role}")
        self.stdout.write("")
