"""Import and export of the case corpus (SPEC section 5)."""

import copy
import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import Organization, User
from cases.corpus import export_corpus, import_corpus
from cases.models import Case, CaseEvent, Comment, KnowledgeArticle, Release

DEMO = Path(settings.BASE_DIR) / "cases" / "fixtures" / "demo-corpus.json"
BAD = Path(__file__).parent / "data" / "bad-cases.json"

pytestmark = pytest.mark.django_db


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def snapshot() -> dict[str, Any]:
    """Return everything an import writes, keyed so that two databases can be compared."""
    cases = {}
    for case in Case.objects.select_related(
        "organization", "reporter", "assignee", "target_release", "knowledge_article"
    ):
        cases[case.external_id] = {
            "type": case.type,
            "status": case.status,
            "subject": case.subject,
            "description": case.description,
            "severity": case.severity,
            "product_version": case.product_version,
            "channel": case.channel,
            "organization": case.organization.slug,
            "reporter": case.reporter.email,
            "assignee": case.assignee.email if case.assignee else None,
            "target_release": case.target_release.version if case.target_release else None,
            "resolution": case.resolution,
            "article": case.knowledge_article.slug if case.knowledge_article else None,
            "created_at": case.created_at,
            "updated_at": case.updated_at,
            "resolved_at": case.resolved_at,
            "comments": list(
                Comment.objects.filter(case=case).values_list(
                    "author__email", "body", "is_public", "created_at"
                )
            ),
            "events": list(
                CaseEvent.objects.filter(case=case).values_list(
                    "at",
                    "actor__email",
                    "kind",
                    "transition",
                    "from_value",
                    "to_value",
                    "reason",
                    "is_public",
                    "data",
                )
            ),
        }
    return {
        "cases": cases,
        "organizations": sorted(Organization.objects.values_list("slug", "name", "domain")),
        "users": sorted(
            User.objects.values_list("email", "name", "organization__slug", "is_staff")
        ),
        "releases": sorted(Release.objects.values_list("version", "released_on")),
        "articles": sorted(KnowledgeArticle.objects.values_list("slug", "title", "body")),
    }


def test_demo_corpus_imports_seventy_cases_with_their_history() -> None:
    corpus = load(DEMO)
    report = import_corpus(corpus)
    assert report.errors == []
    assert report.imported == Case.objects.count() == 70

    for record in corpus["cases"]:
        case = Case.objects.get(external_id=record["external_id"])
        assert case.type == record["final_type"]
        assert case.subject == record["subject"]
        comments = [e for e in record["events"] if e["kind"] == "comment"]
        assert list(Comment.objects.filter(case=case).values_list("body", "is_public")) == [
            (e["body"], e["public"]) for e in comments
        ]
        reclassifications = [
            (e["to"], e["reason"]) for e in record["events"] if e["kind"] == "reclassify"
        ]
        assert (
            list(
                CaseEvent.objects.filter(case=case, kind="reclassified").values_list(
                    "to_value", "reason"
                )
            )
            == reclassifications
        )


def test_importing_twice_changes_nothing() -> None:
    import_corpus(load(DEMO))
    before = snapshot()
    report = import_corpus(load(DEMO))
    assert (report.imported, report.unchanged, report.errors) == (0, 70, [])
    assert snapshot() == before


def test_export_then_import_into_an_empty_database_reproduces_everything() -> None:
    import_corpus(load(DEMO))
    before = snapshot()
    exported = json.loads(json.dumps(export_corpus()))

    for model in (CaseEvent, Comment, Case, KnowledgeArticle, Release):
        model.objects.all().delete()
    User.objects.all().delete()
    Organization.objects.all().delete()

    report = import_corpus(exported)
    assert report.errors == []
    assert snapshot() == before


def test_dry_run_validates_and_writes_nothing() -> None:
    report = import_corpus(load(DEMO), dry_run=True)
    assert (report.ok, report.imported) == (True, 70)
    assert not Case.objects.exists()
    assert not User.objects.exists()


def bad_corpus() -> dict[str, Any]:
    return load(BAD)


@pytest.mark.parametrize("index", range(len(load(BAD)["cases"])))
def test_each_bad_record_is_refused_and_nothing_is_written(index: int) -> None:
    corpus = bad_corpus()
    record = corpus["cases"][index]
    corpus["cases"] = [*copy.deepcopy(corpus["valid_edge_cases"]), record]

    report = import_corpus(corpus)

    assert not report.ok
    assert any(error.record == record["external_id"] for error in report.errors), report.errors
    assert all(str(error).startswith(f"{error.record}: ") for error in report.errors)
    assert not Case.objects.exists()
    assert not User.objects.exists()
    assert not Release.objects.exists()


def test_valid_edge_cases_are_stored_byte_for_byte() -> None:
    corpus = bad_corpus()
    corpus["cases"] = corpus["valid_edge_cases"]
    report = import_corpus(corpus)
    assert report.errors == []
    for record in corpus["valid_edge_cases"]:
        case = Case.objects.get(external_id=record["external_id"])
        assert case.subject == record["subject"]
        assert case.description == record["description"]
        assert case.type == record["final_type"]
        bodies = [e["body"] for e in record["events"] if e["kind"] == "comment"]
        assert list(Comment.objects.filter(case=case).values_list("body", flat=True)) == bodies


def test_bad_record_messages_name_the_field() -> None:
    corpus = bad_corpus()
    corpus["cases"] = [*corpus["valid_edge_cases"], *corpus["cases"]]
    errors = {str(error) for error in import_corpus(corpus).errors}
    expected_prefixes = [
        "AVI-910201: events[",  # question -> issue
        "AVI-910204: initial_type: ",
        "AVI-910205: organization: ",
        "AVI-910206: reporter: ",
        "AVI-910207: subject: ",
        "AVI-910208: subject: ",
        "AVI-910209: opened_at: ",
        "AVI-910210: events[",
        "AVI-900101: external_id: ",
        "AVI-910212: events[",
    ]
    for prefix in expected_prefixes:
        assert any(error.startswith(prefix) for error in errors), (prefix, errors)


def test_replay_errors_are_reported_after_the_structure_is_valid() -> None:
    corpus = bad_corpus()
    records = {c["external_id"]: c for c in corpus["cases"]}
    for external_id, field in [
        ("AVI-910201", "events[0].to"),
        ("AVI-910202", "events[0].to"),
        ("AVI-910203", "events[0].to"),
        ("AVI-910213", "events["),
        ("AVI-910214", "events["),
        ("AVI-910215", "final_type"),
    ]:
        corpus["cases"] = [records[external_id]]
        errors = import_corpus(corpus).errors
        assert [e.record for e in errors] == [external_id]
        assert errors[0].field.startswith(field.split("[")[0]), errors


def test_command_prints_every_error_and_exits_with_status_one(tmp_path: Path) -> None:
    corpus = bad_corpus()
    corpus["cases"] = [*corpus["valid_edge_cases"], *corpus["cases"]]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(corpus), encoding="utf-8")
    stderr = io.StringIO()
    with pytest.raises(CommandError) as error:
        call_command("import_cases", str(path), stderr=stderr)
    assert error.value.returncode == 1
    lines = stderr.getvalue().splitlines()
    assert len(lines) >= 15
    assert all(line.split(": ")[0].startswith("AVI-") for line in lines)
    assert not Case.objects.exists()


def test_command_dry_run_reports_without_writing() -> None:
    out = io.StringIO()
    call_command("import_cases", str(DEMO), "--dry-run", stdout=out)
    assert "Would import 70 case(s)" in out.getvalue()
    assert not Case.objects.exists()


def test_command_refuses_a_file_that_is_not_json(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(CommandError, match="not valid UTF-8 JSON"):
        call_command("import_cases", str(path))


def test_export_command_writes_the_corpus_format(tmp_path: Path) -> None:
    import_corpus(load(DEMO))
    path = tmp_path / "export.json"
    call_command("export_cases", str(path), stderr=io.StringIO())
    exported = load(path)
    assert exported["format"] == "case-corpus/1"
    assert len(exported["cases"]) == 70
    by_id = {c["external_id"]: c for c in exported["cases"]}
    for record in load(DEMO)["cases"]:
        assert by_id[record["external_id"]]["final_type"] == record["final_type"]
        assert by_id[record["external_id"]]["initial_type"] == record["initial_type"]


@pytest.mark.parametrize(
    "data",
    [
        [],
        None,
        "a string",
        {"format": "case-corpus/1"},
        {"format": "case-corpus/1", "cases": ["x", 5, None]},
        {"format": "case-corpus/1", "cases": [{"subject": "no external id"}]},
        {"format": "case-corpus/1", "users": ["bob"], "cases": []},
        {"format": "case-corpus/1", "organizations": [None], "cases": []},
    ],
)
def test_malformed_files_are_refused_with_errors_not_exceptions(data: Any) -> None:
    report = import_corpus(data)
    assert not report.ok
    assert all(str(error).count(": ") >= 2 for error in report.errors)
    assert not Case.objects.exists()


def test_nul_characters_are_refused_naming_the_field() -> None:
    corpus = bad_corpus()
    record = copy.deepcopy(corpus["valid_edge_cases"][0])
    record["subject"] = "before\x00after"
    corpus["cases"] = [record]
    errors = [str(error) for error in import_corpus(corpus).errors]
    assert errors == [f"{record['external_id']}: subject: Must not contain NUL characters."]


def test_final_type_mismatch_names_the_types_plainly() -> None:
    corpus = bad_corpus()
    corpus["cases"] = [c for c in corpus["cases"] if c["external_id"] == "AVI-910215"]
    [error] = import_corpus(corpus).errors
    assert str(error) == (
        "AVI-910215: final_type: The history makes the case 'bug', but the file says 'issue'."
    )


def test_export_to_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="Cannot write"):
        call_command("export_cases", str(tmp_path / "missing" / "x.json"))
