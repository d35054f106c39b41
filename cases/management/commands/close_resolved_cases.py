from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from cases.services import close_resolved_cases


class Command(BaseCommand):
    help = "Close the cases resolved more than CASEBOOK_AUTO_CLOSE_DAYS days ago."

    def handle(self, *args: Any, **options: Any) -> None:
        closed = close_resolved_cases()
        self.stdout.write(
            f"Closed {closed} case(s) resolved over {settings.CASEBOOK_AUTO_CLOSE_DAYS} days ago."
        )
