"""
Backup and restore, as docs/deploy.md describes them.

The full-fidelity path is PostgreSQL's own: ``pg_dump`` of the database plus a
copy of the media folder, restored into an empty database. The corpus export
(``export_cases``) is the portable path: it carries every organization, person,
case, comment and event, but not attachments, whose files travel with the media
folder copy.
"""

import filecmp
import shutil
import subprocess
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection

from accounts.models import User
from cases import services
from cases.corpus import export_corpus, import_corpus
from cases.models import Attachment, Case, CaseEvent, Comment
from tests import factories


def fill(customer: User, support: User) -> None:
    """File a few cases with comments, a reclassification and attachments."""
    for n in range(3):
        case = factories.file_case(reporter=customer, subject=f"Backup case {n}")
        services.add_comment(
            case=case,
            by=customer,
            body=f"Logs for case {n}",
            attachments=[
                SimpleUploadedFile(f"trace-{n}.log", f"line {n}\n".encode() * 200),
                SimpleUploadedFile(f"shot-{n}.bin", bytes(range(256)) * (n + 1)),
            ],
        )
        services.add_comment(case=case, by=support, body=f"Answer {n}")
        services.reclassify_case(case=case, by=support, to="bug", reason="A defect.")


def media_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.mark.django_db(transaction=True)
def test_corpus_export_and_media_copy_restore_into_an_empty_database(
    customer: User, support: User, tmp_path: Path
) -> None:
    fill(customer, support)
    media = Path(settings.MEDIA_ROOT)
    before: dict[str, Any] = {
        "cases": sorted(Case.objects.values_list("subject", "type", "status")),
        "comments": sorted(Comment.objects.values_list("case__subject", "body", "is_public")),
        "events": CaseEvent.objects.count(),
        "attachments": sorted(Attachment.objects.values_list("file", "name", "size")),
    }
    corpus = export_corpus()
    backup_media = tmp_path / "media-backup"
    shutil.copytree(media, backup_media)

    call_command("flush", interactive=False, verbosity=0)
    shutil.rmtree(media)
    assert not Case.objects.exists()

    report = import_corpus(corpus)
    shutil.copytree(backup_media, media)

    assert report.ok, report.errors
    assert sorted(Case.objects.values_list("subject", "type", "status")) == before["cases"]
    assert (
        sorted(Comment.objects.values_list("case__subject", "body", "is_public"))
        == before["comments"]
    )
    assert CaseEvent.objects.count() == before["events"]
    # Attachment rows are not in the corpus; their files come back byte for byte.
    restored = media_files(media)
    assert restored == sorted(str(file) for file, _, _ in before["attachments"])
    match, mismatch, errors = filecmp.cmpfiles(backup_media, media, restored, shallow=False)
    assert (len(match), mismatch, errors) == (6, [], [])


def _pg(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(args, check=True, capture_output=True, timeout=120, **kwargs)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_pg_dump_and_media_copy_restore_every_case_comment_and_attachment(
    customer: User, support: User, tmp_path: Path
) -> None:
    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed")
    fill(customer, support)
    params = connection.get_connection_params()
    server = ["-h", params.get("host") or "127.0.0.1", "-p", str(params.get("port") or 5432)]
    server += ["-U", params.get("user") or "postgres"]
    source = settings.DATABASES["default"]["NAME"]
    target = f"{source}_restore"
    dump = tmp_path / "casebook.dump"
    media = Path(settings.MEDIA_ROOT)

    _pg(["pg_dump", *server, "--format=custom", "--no-owner", f"--file={dump}", source])
    shutil.copytree(media, tmp_path / "media-backup")

    _pg(["dropdb", *server, "--if-exists", target])
    _pg(["createdb", *server, target])
    try:
        _pg(
            [
                "pg_restore",
                *server,
                "--no-owner",
                "--exit-on-error",
                f"--dbname={target}",
                str(dump),
            ]
        )
        with (
            psycopg.connect(
                host=server[1], port=server[3], user=server[5], dbname=target
            ) as restored,
            restored.cursor() as cursor,
        ):
            cursor.execute("SELECT subject, type, status, version FROM cases_case ORDER BY id")
            cases = cursor.fetchall()
            cursor.execute("SELECT body, is_public FROM cases_comment ORDER BY id")
            comments = cursor.fetchall()
            cursor.execute("SELECT file, name, size FROM cases_attachment ORDER BY id")
            attachments = cursor.fetchall()
            cursor.execute("SELECT count(*) FROM cases_caseevent")
            row = cursor.fetchone()
            assert row is not None
            events = row[0]
        restored.close()
    finally:
        _pg(["dropdb", *server, "--if-exists", target])

    assert cases == list(
        Case.objects.order_by("id").values_list("subject", "type", "status", "version")
    )
    assert comments == list(Comment.objects.order_by("id").values_list("body", "is_public"))
    assert events == CaseEvent.objects.count()
    assert len(attachments) == 6
    backup = tmp_path / "media-backup"
    for file, name, size in attachments:
        original = Attachment.objects.get(file=file)
        assert (name, size) == (original.name, original.size)
        assert (backup / file).read_bytes() == (media / file).read_bytes()
        assert (backup / file).stat().st_size == size
