"""What a technician records besides the responses (notes, overrides, undone taps, voided
sessions) reaches the investigator: as text on the animal page, appended columns of the
stimuli file and workbook sheet, and the all-taps file with who, when and why."""

import csv
import io
import zipfile

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from analysis import exports
from sessions import services
from sessions.importing import import_study_csv
from sessions.models import Stimulus
from tests.worlds import HEADER, base_rows, counts, tap, to_csv

HOSTILE_NOTE = '=HYPERLINK("http://evil.example","x") <script>alert(1)</script>'


@pytest.fixture
def recorded(bench, client_for, people):
    """R03 at T3: three taps by the technician through the bench (the second a chosen
    filament with a hostile note, the third undone); R01's session voided with a reason."""
    client = client_for("technician")
    first = tap(client, bench, withdrew=False, size="4.31")
    assert first.status_code == 200
    session = services.TestSession.objects.get(animal=bench.animals["R03"])
    url = reverse(
        "bench_tap", args=[bench.study.slug, bench.animals["R03"].pk, bench.tp.pk, "right"]
    )
    response = client.post(
        url,
        {
            "client_uuid": "6f1f0d0e-0000-4000-8000-000000000001",
            "withdrew": "1",
            "filament": "4.56",
            "pick": "4.74",  # another filament than the suggested one: an override
            "session": session.pk,
            "note_pick": ["licking"],
            "note": HOSTILE_NOTE,
        },
        HTTP_HX_REQUEST="true",
    )
    assert response["X-Bench-Result"] == "created"
    tap(client, bench, withdrew=False, size="4.56", session=session.pk)
    services.undo_tap(session=session, user=people["technician"])
    tap(client, bench, withdrew=True, size="4.31", code="R01")
    voided = services.TestSession.objects.get(animal=bench.animals["R01"])
    services.void_session(session=voided, user=people["technician"], reason="wrong paw tested")
    return bench


def table(study, what: str) -> list[dict[str, str]]:
    text = "".join(exports.StudyExport(study).csv_chunks(what))
    return list(csv.DictReader(io.StringIO(text)))


def test_the_animal_page_says_notes_overrides_and_undos_in_words(recorded, client_for):
    study, animal = recorded.study, recorded.animals["R03"]
    html = (
        client_for("investigator")
        .get(reverse("dashboard_animal", args=[study.slug, animal.pk]))
        .content.decode()
    )
    details = html[html.index('class="tap-details') :]
    details = details[: details.index("</ul>")]
    assert "#2 4.74 (6 g) withdrawal · <strong>override</strong>" in details
    assert "note: “licking; =HYPERLINK(&quot;http://evil.example&quot;,&quot;x&quot;)" in details
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in details
    assert "#3 4.56 (4 g) no response · <strong>undone</strong> by tess at" in details
    assert "— tapped by tess at" in details
    assert "#1 4.31" not in details  # a plain tap needs no line of its own


def test_the_animal_page_says_who_voided_a_session_and_why(recorded, client_for):
    study, animal = recorded.study, recorded.animals["R01"]
    html = (
        client_for("investigator")
        .get(reverse("dashboard_animal", args=[study.slug, animal.pk]))
        .content.decode()
    )
    assert "voided by tess on " in html and ": wrong paw tested</span>" in html


def test_stimuli_file_appends_override_note_and_who_tapped(recorded):
    rows = table(recorded.study, "stimuli")
    assert list(rows[0])[-4:] == ["animal_status", "override", "note", "recorded_by"]
    r03 = [r for r in rows if r["animal"] == "R03"]
    assert [(r["filament_size"], r["override"], r["note"]) for r in r03] == [
        ("4.31", "0", ""),
        ("4.74", "1", "licking; " + HOSTILE_NOTE),  # starts with a letter: not a formula
    ]
    assert {r["recorded_by"] for r in r03} == {"tess"}
    assert not [r for r in rows if r["animal"] == "R01"]  # the voided session stays out


def test_a_note_that_starts_like_a_formula_is_guarded_in_csv_and_workbook(bench, client_for):
    client = client_for("technician")
    response = client.post(
        reverse(
            "bench_tap", args=[bench.study.slug, bench.animals["R03"].pk, bench.tp.pk, "right"]
        ),
        {
            "client_uuid": "6f1f0d0e-0000-4000-8000-000000000002",
            "withdrew": "0",
            "filament": "4.31",
            "note": "=1+1",
        },
        HTTP_HX_REQUEST="true",
    )
    assert response["X-Bench-Result"] == "created"
    assert table(bench.study, "stimuli")[0]["note"] == "'=1+1"
    taps = table(bench.study, "taps_all")
    assert taps[0]["note"] == "'=1+1"
    target = io.BytesIO()
    exports.StudyExport(bench.study).write_workbook(target)
    book = load_workbook(io.BytesIO(target.getvalue()))
    for sheet in ("stimuli", "taps_all"):
        header = [c.value for c in book[sheet][1]]
        cell = book[sheet].cell(row=2, column=header.index("note") + 1)
        assert cell.value == "'=1+1" and cell.data_type == "s", sheet  # text, not a formula


def test_all_taps_file_keeps_undone_and_voided_taps_with_who_when_and_why(recorded):
    rows = table(recorded.study, "taps_all")
    assert list(rows[0]) == exports.TAPS_ALL_COLUMNS
    got = [
        (r["animal"], r["order"], r["filament_size"], r["response"], r["override"], r["state"],
         r["void_reason"], r["voided_by"], r["session_status"], r["session_void_reason"],
         r["session_voided_by"])
        for r in rows
    ]  # fmt: skip
    assert sorted(got) == [
        ("R01", "1", "4.31", "1", "0", "session_voided", "", "", "voided", "wrong paw tested",
         "tess"),
        ("R03", "1", "4.31", "0", "0", "live", "", "", "in_progress", "", ""),
        ("R03", "2", "4.74", "1", "1", "live", "", "", "in_progress", "", ""),
        ("R03", "3", "4.56", "0", "0", "undone", "undo", "tess", "in_progress", "", ""),
    ]  # fmt: skip
    undone = next(r for r in rows if r["state"] == "undone")
    assert undone["voided_at"] >= undone["recorded_at"] > ""
    session_voided = next(r for r in rows if r["state"] == "session_voided")
    assert session_voided["session_voided_at"] and not session_voided["voided_at"]
    assert {r["group"] for r in rows} == {"control", "K10"}  # the investigator's file


def test_all_taps_is_offered_on_the_export_page_in_the_package_and_the_dictionary(
    recorded, client_for
):
    client = client_for("data_manager")
    page = client.get(reverse("export_index", args=[recorded.study.slug])).content.decode()
    name = exports.file_name(recorded.study, "taps_all")
    assert name in page and "All taps" in page
    response = client.get(reverse("export_table", args=[recorded.study.slug, "taps_all"]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"animal,group,timepoint")
    response = client.get(reverse("export_package", args=[recorded.study.slug]))
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert any(n.endswith("/" + name) for n in archive.namelist())
    described = {(r["table"], r["column"]) for r in table(recorded.study, "dictionary")}
    for column in exports.TAPS_ALL_COLUMNS:
        assert ("taps_all", column) in described
    for column in ("override", "note", "recorded_by"):
        assert ("stimuli", column) in described


def test_a_blinded_technician_gets_no_all_taps_file(recorded, client_for):
    response = client_for("technician").get(
        reverse("export_table", args=[recorded.study.slug, "taps_all"])
    )
    assert response.status_code in (403, 404)


def test_the_copy_path_writes_the_appended_columns_as_the_row_path_does(recorded):
    """On PostgreSQL the stimuli file comes from COPY; elsewhere both are the row path."""
    export = exports.StudyExport(recorded.study)
    by_rows = "".join(exports.csv_chunks(export.header("stimuli"), export.rows("stimuli")))
    assert "".join(export.csv_chunks("stimuli")) == by_rows
    assert "4.74,6,1," in by_rows and ',1,"licking; =HYPERLINK(' in by_rows


# ----------------------------------------------------------------------------- import


def _with_columns(extra: dict[str, str]) -> bytes:
    rows = base_rows()
    header = HEADER + "," + ",".join(extra)
    return to_csv([r + list(extra.values()) for r in rows], header=header)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"override": "2"}, "line 2, override: '2' is not 0 or 1"),
        ({"override": "=1+1"}, "override: '=1+1' is not 0 or 1"),
        ({"note": "x" * 201}, ", note: '" + "x" * 200 + "…' is longer than 200 characters"),
        ({"recorded_by": "y" * 151}, ", recorded_by: 'yyy"),
    ],
)
@pytest.mark.django_db
def test_import_refuses_bad_override_note_or_tapper_naming_line_and_column(extra, message):
    before = counts()
    result = import_study_csv(data=_with_columns(extra), slug="imported", source_name="x.csv")
    assert not result.written
    assert any(message in line for line in result.error_lines()), result.error_lines()[:2]
    assert counts() == before  # nothing half-written


@pytest.mark.django_db
def test_import_keeps_a_files_note_and_override(people):
    data = _with_columns({"override": "1", "note": "'=HYPERLINK(1)", "recorded_by": "tess"})
    result = import_study_csv(data=data, slug="imported", source_name="x.csv")
    assert result.written, result.error_lines()
    taps = Stimulus.objects.filter(session__animal__study__slug="imported")
    assert set(taps.values_list("is_override", "note", "recorded_by__username")) == {
        (True, "=HYPERLINK(1)", "tess")  # the export's guard ' is taken off again
    }
