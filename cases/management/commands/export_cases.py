import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cases.corpus import export_corpus


class Command(BaseCommand):
    help = "Export every case with its history as a case corpus (case-corpus/1)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", nargs="?", type=Path, help="Standard output by default.")

    def handle(self, *args: Any, file: Path | None, **options: Any) -> None:
        text = json.dumps(export_corpus(), ensure_ascii=False, indent=1) + "\n"
        if file is None:
            sys.stdout.write(text)
        else:
            try:
                file.write_text(text, encoding="utf-8")
            except OSError as error:
                raise CommandError(f"Cannot write {file}: {error.strerror}") from error
            self.stderr.write(f"Wrote {file}")
