"""
Attachments as they arrive: size, type, name, and an optional virus scan.

- Size: `LimitedUploadHandler` (first in ``FILE_UPLOAD_HANDLERS``) refuses a
  request whose declared length passes ``CASEBOOK_MAX_UPLOAD_REQUEST_BYTES``
  before reading any of it. A file over ``CASEBOOK_MAX_ATTACHMENT_BYTES`` is not
  stored: the rest of it is read and dropped, and the view receives an empty
  `OversizedUpload` carrying the real size, which the services refuse with a
  field error naming the limit (a form error on a page, a 400 in the API), so
  the person keeps what they typed. A file far over the limit (twice it, plus
  64 KB) stops the reading at once with `UploadTooLarge`, a
  ``MultiPartParserError``: Django answers it with 400 (the project's handler400
  shows its message) and DRF with a 400 ``ParseError``; never a 500.
- Type: judged from the first bytes (`sniff_content_type`), never from the
  name or what the browser claimed.
- Name: `clean_filename` keeps what a person recognises and drops path parts,
  control characters and the invisible characters that disguise an extension.
- Scan: ``CASEBOOK_ATTACHMENT_SCANNER`` may name a callable ``(file) -> str |
  None`` that returns why a file is refused; `check_uploads` calls it.
"""

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.http import FileResponse
from django.http.multipartparser import MultiPartParserError
from django.template.defaultfilters import filesizeformat
from django.utils.module_loading import import_string

MAX_NAME_LENGTH = 150
SNIFF_BYTES = 8192
OCTET_STREAM = "application/octet-stream"


class UploadTooLarge(MultiPartParserError):
    """A request or a file in it is larger than allowed; reading stopped there."""

    def __init__(self, user_message: str) -> None:
        super().__init__(user_message)
        self.user_message = user_message


def _megabytes(size: int) -> str:
    return filesizeformat(size).replace("\xa0", " ")


class OversizedUpload(SimpleUploadedFile):
    """A file that was over the limit: nothing of it is kept but its name and size."""

    def __init__(self, name: str, content_type: str, size: int) -> None:
        super().__init__(name, b"", content_type)
        self.size = size


# How far past the limit a file is still read (and dropped) for a form error.
_ABORT_SLACK = 64 * 1024


class LimitedUploadHandler(FileUploadHandler):
    """Refuse uploads over the limits while reading, before the rest of the body is read."""

    def handle_raw_input(
        self,
        input_data: Any,
        META: dict[str, Any],
        content_length: int,
        boundary: str,
        encoding: str | None = None,
    ) -> None:
        limit = settings.CASEBOOK_MAX_UPLOAD_REQUEST_BYTES
        if content_length > limit:
            raise UploadTooLarge(
                f"The files sent together may be at most {_megabytes(limit)}; "
                "send fewer or smaller files."
            )
        self.received = 0

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received += len(raw_data)
        limit = settings.CASEBOOK_MAX_ATTACHMENT_BYTES
        if self.received <= limit:
            return raw_data
        if self.received > 2 * limit + _ABORT_SLACK:
            raise UploadTooLarge(
                f"Each file may be at most {_megabytes(limit)}; "
                f"{clean_filename(self.file_name or '')} is larger."
            )
        return None  # over the limit: read the rest of this file, keep none of it

    def file_complete(self, file_size: int) -> UploadedFile | None:
        if self.received > settings.CASEBOOK_MAX_ATTACHMENT_BYTES:
            return OversizedUpload(
                self.file_name or "attachment", self.content_type or "", self.received
            )
        return None


# Characters that are invisible or reorder text (U+202E makes "gpj.exe" look
# like "exe.jpg"): every format (Cf), control (Cc), surrogate, private-use and
# unassigned character goes.
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})


def clean_filename(name: str) -> str:
    """Return `name` safe to store and show: no path, no invisible characters, not too long."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(
        " " if char.isspace() else char
        for char in name
        if unicodedata.category(char) not in _DROPPED_CATEGORIES or char.isspace()
    )
    name = " ".join(name.split()).strip(". ")
    if len(name) > MAX_NAME_LENGTH:
        stem, dot, suffix = name.rpartition(".")
        if dot and 0 < len(suffix) <= 16:
            name = stem[: MAX_NAME_LENGTH - len(suffix) - 1].rstrip(". ") + "." + suffix
        else:
            name = name[:MAX_NAME_LENGTH].rstrip(". ")
    return name or "attachment"


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        # A multi-byte character cut by the sniffing window is still text.
        return error.start >= len(head) - 3 and len(head) == SNIFF_BYTES
    return True


def sniff_content_type(upload: UploadedFile) -> str:
    """Return the media type of `upload` judged from its bytes alone."""
    upload.seek(0)
    head = upload.read(SNIFF_BYTES)
    upload.seek(0)
    if isinstance(head, str):
        head = head.encode()
    kind = filetype.guess(head)
    if kind is not None:
        return str(kind.mime)
    if head and _looks_like_text(head):
        return "text/plain"
    return OCTET_STREAM


def _scanner() -> Callable[[UploadedFile], str | None] | None:
    path = settings.CASEBOOK_ATTACHMENT_SCANNER
    if not path:
        return None
    return import_string(path) if isinstance(path, str) else path  # type: ignore[no-any-return]


@dataclass(frozen=True)
class CheckedUpload:
    file: UploadedFile
    name: str
    content_type: str
    size: int


def check_uploads(files: Sequence[UploadedFile]) -> list[CheckedUpload]:
    """Name, type and scan each file; raise one ValidationError naming every refused file."""
    scan = _scanner()
    checked, errors = [], []
    for upload in files:
        name = clean_filename(upload.name or "")
        if scan is not None:
            upload.seek(0)
            reason = scan(upload)
            upload.seek(0)
            if reason:
                errors.append(f"{name} was refused by the virus scan: {reason}")
                continue
        checked.append(
            CheckedUpload(
                file=upload,
                name=name,
                content_type=sniff_content_type(upload),
                size=upload.size or 0,
            )
        )
    if errors:
        raise ValidationError({"attachments": errors})
    return checked


def attachment_response(file: Any, *, name: str, content_type: str) -> FileResponse:
    """Return a download of a stored attachment that no browser renders or sniffs."""
    response = FileResponse(
        file, as_attachment=True, filename=name, content_type=content_type or OCTET_STREAM
    )
    response["X-Content-Type-Options"] = "nosniff"
    # Opened by mistake in the browser, it still runs nothing.
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
