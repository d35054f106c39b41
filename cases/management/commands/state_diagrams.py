import re
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from cases.diagrams import mermaid

README = Path(settings.BASE_DIR) / "README.md"


def readme_with_diagrams(text: str) -> str:
    """Return `text` with each diagram block between its markers redrawn from the code."""
    for field in ("type", "status"):
        block = f"```mermaid\n{mermaid(field)}\n```\n"

        def redraw(match: re.Match[str], block: str = block) -> str:
            return match[1] + block + match[2]

        text = re.sub(
            rf"(<!-- {field}-diagram:start[^\n]*-->\n).*?(<!-- {field}-diagram:end -->)",
            redraw,
            text,
            flags=re.DOTALL,
        )
    return text


class Command(BaseCommand):
    help = "Print the Mermaid state diagrams of the case type and status, drawn from the code."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--write-readme", action="store_true", help="Redraw the diagrams in README.md."
        )

    def handle(self, *args: Any, write_readme: bool, **options: Any) -> None:
        if write_readme:
            README.write_text(readme_with_diagrams(README.read_text(encoding="utf-8")), "utf-8")
            self.stdout.write(f"Redrew the diagrams in {README}")
            return
        for field in ("type", "status"):
            self.stdout.write(f"```mermaid\n{mermaid(field)}\n```")
