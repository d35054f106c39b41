import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from notifications.inbound import ingest
from notifications.models import InboundEmail


class Command(BaseCommand):
    help = (
        "Take in one RFC 822 email (a file, or standard input): a customer's reply becomes a "
        "comment on its case, a new message files a case; anything else is refused."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", nargs="?", type=Path, help="The message (default: stdin).")

    def handle(self, *args: Any, file: Path | None, **options: Any) -> None:
        try:
            raw = file.read_bytes() if file is not None else sys.stdin.buffer.read()
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}") from error
        record = ingest(raw)
        if record.outcome == InboundEmail.Outcome.REFUSED:
            raise CommandError(f"Refused: {record.reason}", returncode=1)
        case = record.case.number if record.case else ""
        self.stdout.write(f"{record.get_outcome_display()}: {case}")
