"""Attachments: size refused while reading, type from the bytes, clean names, virus scan."""

import io
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
from django.core.handlers.wsgi import WSGIRequest
from django.test import Client
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from accounts.models import User
from cases import services, uploads
from cases.models import Attachment, Case

PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452") + b"\x00" * 64
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"
EICAR_MARKER = b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE"


def refuse_eicar(upload: UploadedFile) -> str | None:
    """A tiny virus scanner: refuses files carrying the EICAR test marker."""
    return "test signature EICAR found" if EICAR_MARKER in upload.read() else None


class CountingStream(io.BytesIO):
    """A request body that remembers how much of it was read."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.consumed = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.consumed += len(chunk)
        return chunk

    def readline(self, size: int | None = -1) -> bytes:
        chunk = super().readline(size)
        self.consumed += len(chunk)
        return chunk


def multipart_request(files: dict[str, Any], content_length: int | None = None) -> WSGIRequest:
    body = encode_multipart(BOUNDARY, files)
    stream = CountingStream(body)
    return WSGIRequest(
        {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/cases/CASE-000001/",
            "CONTENT_TYPE": MULTIPART_CONTENT,
            "CONTENT_LENGTH": str(content_length if content_length is not None else len(body)),
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "80",
            "wsgi.input": stream,
            "wsgi.url_scheme": "http",
        }
    )


# Size ------------------------------------------------------------------------


def test_a_file_over_the_limit_is_refused_before_the_body_is_read(settings: Any) -> None:
    settings.CASEBOOK_MAX_ATTACHMENT_BYTES = 64 * 1024
    big = SimpleUploadedFile("core.dump", b"\x01" * (8 * 1024 * 1024))
    request = multipart_request({"body": "see attached", "attachments": big})

    with pytest.raises(uploads.UploadTooLarge) as refused:
        request.FILES  # noqa: B018
    assert "core.dump is larger" in refused.value.user_message
    assert "at most 64.0 KB" in refused.value.user_message
    stream = request.environ["wsgi.input"]
    assert stream.consumed < 1024 * 1024


def test_a_request_declaring_too_many_bytes_is_refused_before_reading(settings: Any) -> None:
    settings.CASEBOOK_MAX_UPLOAD_REQUEST_BYTES = 1024 * 1024
    request = multipart_request(
        {"attachments": SimpleUploadedFile("a.txt", b"x")}, content_length=50 * 1024 * 1024
    )
    with pytest.raises(uploads.UploadTooLarge, match="sent together"):
        request.FILES  # noqa: B018
    assert request.environ["wsgi.input"].consumed == 0


def test_files_within_the_limit_arrive_whole(settings: Any) -> None:
    settings.CASEBOOK_MAX_ATTACHMENT_BYTES = 64 * 1024
    data = b"log line\n" * 5000
    request = multipart_request({"attachments": SimpleUploadedFile("app.log", data)})
    upload = request.FILES["attachments"]
    assert isinstance(upload, UploadedFile)
    assert upload.read() == data


@pytest.mark.django_db
def test_a_too_large_upload_is_a_clean_400_naming_the_limit(client: Client, settings: Any) -> None:
    settings.CASEBOOK_MAX_ATTACHMENT_BYTES = 16 * 1024
    response = client.post(
        "/admin/login/",
        {"username": "x", "password": "y", "file": SimpleUploadedFile("big.bin", b"0" * 262144)},
    )
    assert response.status_code == 400
    assert "big.bin is larger" in response.content.decode()


@pytest.mark.django_db
def test_a_too_large_upload_to_the_api_is_a_json_400(client: Client, settings: Any) -> None:
    settings.CASEBOOK_MAX_ATTACHMENT_BYTES = 16 * 1024
    response = client.post(
        "/admin/login/",
        {"file": SimpleUploadedFile("big.bin", b"0" * 262144)},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"
    assert "big.bin is larger" in response.json()["detail"]


# Type -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "claimed", "judged"),
    [
        ("screenshot.png", PNG, "image/png", "image/png"),
        ("manual.pdf", PDF, "application/pdf", "application/pdf"),
        ("innocent.pdf", PNG, "application/pdf", "image/png"),
        ("page.png", b"<html><script>alert(1)</script></html>", "image/png", "text/plain"),
        ("server.log", "Fehler: Verbindung unterbrochen für Jürgen\n".encode(), "", "text/plain"),
        ("blob.bin", b"\x00\x01\x02\xff" * 10, "text/plain", "application/octet-stream"),
        ("empty.txt", b"", "text/plain", "application/octet-stream"),
    ],
)
def test_content_type_is_judged_from_the_bytes(
    name: str, data: bytes, claimed: str, judged: str
) -> None:
    upload = SimpleUploadedFile(name, data, content_type=claimed)
    assert uploads.sniff_content_type(upload) == judged
    assert upload.read() == data


# Names -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\jo\\Desktop\\trace.har", "trace.har"),
        ("invoice\u202egpj.exe", "invoicegpj.exe"),
        ("zero\u200bwidth\u2066.txt", "zerowidth.txt"),
        ("tab\tand\nnewline\x00.log", "tab and newline.log"),
        ("Überweisung - Jürgen Weiß 東京.pdf", "Überweisung - Jürgen Weiß 東京.pdf"),
        ("...hidden", "hidden"),
        ("", "attachment"),
        ("\u202e", "attachment"),
    ],
)
def test_file_names_are_cleaned(raw: str, clean: str) -> None:
    assert uploads.clean_filename(raw) == clean


def test_long_file_names_are_cut_keeping_the_extension() -> None:
    cleaned = uploads.clean_filename("a" * 400 + ".tar.gz")
    assert len(cleaned) == uploads.MAX_NAME_LENGTH
    assert cleaned.endswith("a.gz")


# Through the service --------------------------------------------------------------


@pytest.mark.django_db
def test_a_comment_stores_the_cleaned_name_and_judged_type(case: Case, customer: User) -> None:
    upload = SimpleUploadedFile("../shot\u202egnp.exe", PNG, content_type="application/x-msdos")
    comment = services.add_comment(case=case, by=customer, body="See.", attachments=[upload])

    attachment = Attachment.objects.get(comment=comment)
    assert attachment.name == "shotgnp.exe"
    assert attachment.content_type == "image/png"
    assert attachment.size == len(PNG)
    with attachment.file.open("rb") as stored:
        assert stored.read() == PNG
    assert "shot" not in str(attachment.file.name)


@pytest.mark.django_db
def test_the_virus_scan_hook_refuses_an_infected_file_and_writes_nothing(
    case: Case, customer: User, settings: Any
) -> None:
    settings.CASEBOOK_ATTACHMENT_SCANNER = f"{__name__}.refuse_eicar"
    infected = SimpleUploadedFile("eicar.com", b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + EICAR_MARKER)
    clean = SimpleUploadedFile("notes.txt", b"all good")

    with pytest.raises(ValidationError) as refused:
        services.add_comment(case=case, by=customer, body="Files", attachments=[clean, infected])

    assert refused.value.message_dict == {
        "attachments": ["eicar.com was refused by the virus scan: test signature EICAR found"]
    }
    assert case.comments.count() == 0
    assert Attachment.objects.count() == 0


@pytest.mark.django_db
def test_the_virus_scan_hook_lets_clean_files_through(
    case: Case, customer: User, settings: Any
) -> None:
    settings.CASEBOOK_ATTACHMENT_SCANNER = f"{__name__}.refuse_eicar"
    clean = SimpleUploadedFile("notes.txt", b"all good")
    comment = services.add_comment(case=case, by=customer, body="File", attachments=[clean])
    with Attachment.objects.get(comment=comment).file.open("rb") as stored:
        assert stored.read() == b"all good"


def test_attachments_are_served_as_downloads_that_are_never_sniffed() -> None:
    response = uploads.attachment_response(
        io.BytesIO(b"<script>alert(1)</script>"), name="page.html", content_type="text/plain"
    )
    assert response["Content-Disposition"] == 'attachment; filename="page.html"'
    assert response["Content-Type"] == "text/plain"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
