from typing import Any

from django.core.management.base import BaseCommand

from cases.diagrams import mermaid


class Command(BaseCommand):
    help = "Print the Mermaid state diagrams of the case type and status, drawn from the code."

    def handle(self, *args: Any, **options: Any) -> None:
        for field in ("type", "status"):
            self.stdout.write(f"```mermaid\n{mermaid(field)}\n```")
