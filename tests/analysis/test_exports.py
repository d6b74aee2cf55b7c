"""Exports against a small study built by hand: every value below was worked out on paper.

The study: groups control (A1, A2) and K10 (B1, B2); timepoints T0 (day 7, baseline),
T1 (day 14), T2 (day 21); target-force thresholds (first_response), cut-off 300 g,
Stoelting 20, start 4.31 (2 g). Each series is what the up-down stepping gives a rat
that withdraws from every filament of at least `true_g` grams, so the target force is
the lightest filament of at least `true_g`:

    animal  group    T0   T1   T2
    A1      control  26   15   26
    A2      control  15   15   10
    B1      K10      26  100  300 (never withdrew: cut-off)
    B2      K10      15   60  180

A1 at T0: 4.31 O, 4.56 O, 4.74 O, 4.93 O, 5.07 O, 5.18 O, 5.46 X, 5.18 O, 5.46 X,
5.18 O, 5.46 X: the first change is at stimulus 7, so stimuli 6-11 are the six critical
responses; the lowest withdrawal is 26 g (5.46), pattern OOOOOOXOXOX.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import zipfile

import pytest
from django.utils import timezone

from analysis import exports, thresholds
from animals.models import Animal
from sessions import services as session_services
from tests.worlds import (
    TRUE_G,
    as_dicts,
    build_small_study,
    export_text,
    responder_series,
)


def read_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


# ----------------------------------------------------------------------------- the world


def _what_the_small_study_holds(study) -> dict:
    """Every export table but the audit log (its times and keys are the moment's), with
    session keys counted from the first and no recording times; and how many rows (history
    rows too) each model has."""
    from django.apps import apps

    tables = {}
    for what in exports.TABLE_KEYS:
        if what == "audit_log":
            continue
        rows = as_dicts(export_text(study, what))
        if rows and "session" in rows[0]:
            first = min(int(r["session"]) for r in rows)
            for r in rows:
                r["session"] = int(r["session"]) - first
        for r in rows:  # the moment a tap was made or stored: the build's, or the snapshot's
            r.pop("tested_at", None)
            r.pop("recorded_at", None)
        tables[what] = rows
    counts = {
        m._meta.label: m._base_manager.count()
        for m in apps.get_models(include_auto_created=True)
        if m._meta.managed and not m._meta.proxy
    }
    return {"tables": tables, "counts": counts}


@pytest.mark.django_db
def test_the_small_study_snapshot_holds_what_the_builder_writes(people, small_snapshot):
    """`small_study` is written from a snapshot taken once per worker (tests/conftest.py):
    the files it exports and the rows it leaves are those of a fresh build."""
    from django.db import transaction

    from labstudy.models import Study

    with transaction.atomic():
        built = _what_the_small_study_holds(build_small_study(people))
        transaction.set_rollback(True)
    small_snapshot.install()
    written = _what_the_small_study_holds(Study.objects.get(slug="small"))
    assert written == built
    assert len(built["tables"]["stimuli"]) > 50 and built["counts"]["vf_sessions.Stimulus"] > 50


# ----------------------------------------------------------------------------- series


def test_hand_series_are_what_the_bench_would_record():
    assert "".join("X" if x else "O" for _, x in responder_series(26)) == "OOOOOOXOXOX"
    assert [s for s, _ in responder_series(26)][:7] == [
        "4.31", "4.56", "4.74", "4.93", "5.07", "5.18", "5.46",
    ]  # fmt: skip
    assert len(responder_series(15)) == 10
    assert len(responder_series(10)) == 9
    assert len(responder_series(math.inf)) == 11  # 4.31 up to 6.65, all O


# ----------------------------------------------------------------------------- names


def test_file_names_carry_study_method_and_cutoff(small_study):
    export = exports.StudyExport(small_study)
    assert export.file_name("stimuli") == "small_stimuli_target_force_300g.csv"
    assert export.stem == "small_publication_target_force_300g"
    small_study.cutoff_g = 60.0
    assert exports.StudyExport(small_study, method="up_down").file_name("thresholds") == (
        "small_thresholds_up_down_60g.csv"
    )


# ----------------------------------------------------------------------------- stimuli


def test_stimuli_export_header_and_first_series(small_study):
    rows = read_csv(export_text(small_study, "stimuli"))
    assert rows[0] == [
        "animal", "group", "timepoint", "day", "paw", "order", "filament_size", "filament_g",
        "response", "tested_at", "tester", "cage", "sex", "session", "animal_status",
        "override", "note", "recorded_by",
    ]  # fmt: skip
    assert {r[14] for r in rows[1:]} == {"active"}
    a1_t0 = [r for r in rows[1:] if r[0] == "A1" and r[2] == "T0"]
    assert [r[:9] for r in a1_t0[:2]] == [
        ["A1", "control", "T0", "7", "right", "1", "4.31", "2", "0"],
        ["A1", "control", "T0", "7", "right", "2", "4.56", "4", "0"],
    ]
    assert [(r[6], r[7], r[8]) for r in a1_t0[5:]] == [
        ("5.18", "15", "0"), ("5.46", "26", "1"), ("5.18", "15", "0"), ("5.46", "26", "1"),
        ("5.18", "15", "0"), ("5.46", "26", "1"),
    ]  # fmt: skip
    assert {r[10] for r in rows[1:]} == {"tess"}
    assert a1_t0[0][11:13] == ["C1", "male"]
    dt.datetime.fromisoformat(a1_t0[0][9])  # ISO 8601
    # rows by day, animal, paw, order; 4 animals x 3 timepoints
    assert [r[0] for r in rows[1:] if r[5] == "1"] == ["A1", "A2", "B1", "B2"] * 3
    total = sum(len(responder_series(g)) for _, values in TRUE_G.values() for g in values)
    assert len(rows) == 1 + total


def test_stimuli_export_leaves_out_voided_taps(small_study, people):
    session = small_study.animals.get(code="A1").test_sessions.get(timepoint__label="T2")
    session_services.undo_last_stimulus(session=session, user=people["technician"])
    rows = read_csv(export_text(small_study, "stimuli"))
    kept = [r for r in rows if r[0] == "A1" and r[2] == "T2"]
    assert [r[5] for r in kept] == [str(n) for n in range(1, len(responder_series(26)))]


# ----------------------------------------------------------------------------- thresholds


def test_thresholds_export_values(small_study):
    text = export_text(small_study, "thresholds")
    assert text.splitlines()[0] == (
        "animal,group,timepoint,day,method,threshold_g,status,pattern,pct_mpe,"
        "paw,n_stimuli,source,reason,mpe_reason"
    )
    rows = {(r["animal"], r["timepoint"]): r for r in as_dicts(text)}
    assert len(rows) == 12
    a1 = rows[("A1", "T0")]
    assert (a1["group"], a1["day"], a1["method"], a1["threshold_g"], a1["status"]) == (
        "control", "7", "target_force", "26", "ok",
    )  # fmt: skip
    assert a1["pattern"] == "OOOOOOXOXOX"
    assert (a1["pct_mpe"], a1["paw"], a1["n_stimuli"], a1["source"]) == (
        "0",
        "right",
        "11",
        "stimuli",
    )
    expected_g = {
        ("A1", "T1"): "15", ("A1", "T2"): "26", ("A2", "T0"): "15", ("A2", "T2"): "10",
        ("B1", "T1"): "100", ("B1", "T2"): "300", ("B2", "T1"): "60", ("B2", "T2"): "180",
    }  # fmt: skip
    assert {key: rows[key]["threshold_g"] for key in expected_g} == expected_g
    assert rows[("B1", "T2")]["status"] == "cutoff_high"
    assert rows[("B1", "T2")]["reason"]  # says why
    # %MPE = (post - baseline) / (300 - baseline) x 100
    assert float(rows[("A1", "T1")]["pct_mpe"]) == pytest.approx((15 - 26) / 274 * 100)
    assert float(rows[("A2", "T2")]["pct_mpe"]) == pytest.approx(-5 / 285 * 100)
    assert float(rows[("B1", "T1")]["pct_mpe"]) == pytest.approx(74 / 274 * 100)
    assert float(rows[("B1", "T2")]["pct_mpe"]) == pytest.approx(100.0)
    assert float(rows[("B2", "T2")]["pct_mpe"]) == pytest.approx(165 / 285 * 100)


def test_thresholds_export_with_another_method_says_so(small_study):
    text = export_text(small_study, "thresholds", method="up_down")
    rows = as_dicts(text)
    assert {r["method"] for r in rows} == {"up_down"}
    a1 = next(r for r in rows if r["animal"] == "A1" and r["timepoint"] == "T0")
    # OXOXOX after five O: Xf = 5.46, last six OXOXOX... computed by the engine, not 26
    expected = thresholds.up_down_threshold(responder_series(26)).grams
    assert float(a1["threshold_g"]) == pytest.approx(expected)


# ----------------------------------------------------------------------------- summary


def test_summary_export_values(small_study):
    text = export_text(small_study, "summary")
    assert text.splitlines()[0] == (
        "group,timepoint,day,n,mean,sd,sem,median,q1,q3,mpe_mean,mpe_sem,n_legacy,"
        "n_at_cutoff,n_at_lowest"
    )
    rows = as_dicts(text)
    assert [(r["group"], r["timepoint"]) for r in rows] == [
        ("control", "T0"), ("control", "T1"), ("control", "T2"),
        ("K10", "T0"), ("K10", "T1"), ("K10", "T2"),
    ]  # fmt: skip
    c0, c1, c2, k0, k1, k2 = rows
    # control T0: 26 and 15
    assert (c0["n"], c0["mean"], c0["sem"], c0["median"], c0["q1"], c0["q3"]) == (
        "2", "20.5", "5.5", "20.5", "17.75", "23.25",
    )  # fmt: skip
    assert float(c0["sd"]) == pytest.approx(11 / math.sqrt(2))
    assert (c0["mpe_mean"], c0["mpe_sem"], c0["n_legacy"]) == ("0", "0", "0")
    # control T1: 15 and 15; %MPE -4.01 and 0
    assert (c1["mean"], c1["sd"], c1["sem"]) == ("15", "0", "0")
    assert float(c1["mpe_mean"]) == pytest.approx(-11 / 274 * 100 / 2)
    assert float(c1["mpe_sem"]) == pytest.approx(11 / 274 * 100 / 2)
    # control T2: 26 and 10
    assert (c2["mean"], c2["sem"], c2["q1"], c2["q3"]) == ("18", "8", "14", "22")
    # K10: T1 100 and 60, T2 300 and 180
    assert (k0["mean"], k0["sem"]) == ("20.5", "5.5")
    assert (k1["mean"], k1["sem"], k1["median"], k1["q1"], k1["q3"]) == (
        "80", "20", "80", "70", "90",
    )  # fmt: skip
    assert (k2["mean"], k2["sem"]) == ("240", "60")
    # K10 T2: the 300 g value is the cut-off, a bound and not a measurement; 180 g is not
    assert (k2["n_at_cutoff"], k2["n_at_lowest"]) == ("1", "0")
    assert {r["n_at_cutoff"] for r in (c0, c1, c2, k0, k1)} == {"0"}
    assert float(k1["mpe_mean"]) == pytest.approx((74 / 274 + 45 / 285) * 100 / 2)
    assert float(k2["mpe_mean"]) == pytest.approx((1 + 165 / 285) * 100 / 2)
    assert float(k2["mpe_sem"]) == pytest.approx((1 - 165 / 285) * 100 / 2)


# ----------------------------------------------------------------------------- stats


def test_stats_export_contract_and_hand_values(small_study):
    text = export_text(small_study, "stats")
    header = text.splitlines()[0].split(",")
    assert header[:8] == ["test", "group", "timepoint", "a", "b", "statistic", "df", "p"]
    # `outcome` keeps its place; the comparison family and effect size (issue 13) were
    # appended after it, as the CSV contract allows.
    assert header[-6:] == ["outcome", "family", "estimate", "ci_low", "ci_high", "estimate_name"]
    rows = as_dicts(text)
    assert {r["outcome"] for r in rows} == {"threshold_g", "pct_mpe"}
    thr = [r for r in rows if r["outcome"] == "threshold_g"]
    # K10 rises at every step in both rats: ranks 1, 2, 3 twice, so
    # chi2 = 12 / (2*3*4) * (2^2 + 4^2 + 6^2) - 3*2*4 = 4, df 2, p = exp(-2)
    friedman = next(r for r in thr if r["test"] == "friedman" and r["group"] == "K10")
    assert float(friedman["statistic"]) == pytest.approx(4.0)
    assert friedman["df"] == "2"
    assert float(friedman["p"]) == pytest.approx(math.exp(-2))
    assert friedman["timepoint"] == "" and friedman["a"] == ""
    # two groups: Mann-Whitney at each timepoint; at T2 the groups separate completely,
    # exact two-sided p = 2 / C(4, 2) = 1/3
    mw = next(r for r in thr if r["test"] == "mann_whitney" and r["timepoint"] == "T2")
    assert float(mw["p"]) == pytest.approx(1 / 3)
    assert mw["group"] == ""
    assert {r["test"] for r in thr} >= {"friedman", "rm_anova", "mann_whitney", "mixed_model"}


# ----------------------------------------------------------------------------- prism


def prism_tables(text: str) -> list[dict]:
    """Read the prism export as a person pasting it into Prism would: each table is the
    run of rows from a group-title row (first cell empty: the row-title column) to the
    next blank line; the row above it, before a blank line, is its title. Checks what a
    Prism grouped table needs: every data set spans the same number of subcolumns,
    every data row is as wide as the title row, every cell a number or empty."""
    rows = read_csv(text)
    tables = []
    i = 0
    while i < len(rows):
        row = rows[i]
        if len(row) > 1 and row[0] == "" and any(row[1:]):
            title = rows[i - 2][0] if i >= 2 and rows[i - 1] == [] else None
            starts = [j for j, cell in enumerate(row) if cell]
            assert starts[0] == 1, "the first data set starts in the second column"
            widths = {b - a for a, b in zip(starts, [*starts[1:], len(row)], strict=True)}
            assert len(widths) == 1, f"data sets of unequal width: {row}"
            width = widths.pop()
            data = []
            i += 1
            while i < len(rows) and rows[i]:
                assert len(rows[i]) == len(row), f"row {rows[i]} is not {len(row)} cells wide"
                assert rows[i][0], "every data row has its row title"
                for cell in rows[i][1:]:
                    if cell:
                        float(cell)  # a number (raises otherwise)
                data.append(rows[i])
                i += 1
            groups = {row[a]: [[r[a + k] for r in data] for k in range(width)] for a in starts}
            tables.append(
                {
                    "title": title,
                    "groups": groups,
                    "row_titles": [r[0] for r in data],
                    "rows": data,
                    "note": rows[i + 1][0] if i + 1 < len(rows) and rows[i + 1] else "",
                }
            )
        i += 1
    return tables


def test_prism_export_is_one_grouped_table_per_measure(small_study):
    text = export_text(small_study, "prism")
    tables = prism_tables(text)
    assert [t["title"] for t in tables] == [
        "threshold (g): target force (lowest withdrawal force), cut-off 300 g",
        "%MPE: target force (lowest withdrawal force), cut-off 300 g",
    ]
    threshold, mpe = tables
    for table in tables:
        assert table["row_titles"] == ["T0", "T1", "T2"]  # no day column, no ID row
        assert list(table["groups"]) == ["control", "K10"]
        assert [len(columns) for columns in table["groups"].values()] == [2, 2]  # n animals
        assert table["note"] == (
            "Rows: T0 = day 7, T1 = day 14, T2 = day 21. "
            "Subcolumns, in order: control: A1, A2; K10: B1, B2"
        )
    # target forces as on the filament set; the cut-off (300) where nothing withdrew
    assert threshold["rows"] == [
        ["T0", "26", "15", "26", "15"],
        ["T1", "15", "15", "100", "60"],
        ["T2", "26", "10", "300", "180"],
    ]
    # %MPE to 0.1: A1 T1 (15 - 26) / (300 - 26) = -4.01 %, A2 T2 (10 - 15) / 285 = -1.75 %,
    # B1 T1 74 / 274 = 27.01 %, B2 T1 45 / 285 = 15.79 %, B2 T2 165 / 285 = 57.89 %
    assert mpe["rows"] == [
        ["T0", "0", "0", "0", "0"],
        ["T1", "-4", "0", "27", "15.8"],
        ["T2", "0", "-1.8", "100", "57.9"],
    ]
    lines = text.splitlines()
    assert lines[1] == "" and lines[2] == ",control,,K10,"


def test_prism_pads_a_smaller_group_and_rounds_computed_thresholds(small_study, people):
    """Prism gives every data set the same subcolumns: control's third animal makes K10
    end in an empty subcolumn. Up-down thresholds come out to 3 significant figures."""
    a3 = Animal.objects.create(
        study=small_study,
        code="A3",
        cage="C9",
        group=small_study.groups.get(code="control"),
        sex="male",
    )
    t0 = small_study.timepoints.get(label="T0")
    session = session_services.start_session(
        animal=a3, timepoint=t0, paw="right", user=people["technician"]
    )
    for size, withdrew in responder_series(26):
        session_services.record_stimulus(
            session=session, filament_size=size, withdrew=withdrew, user=people["technician"]
        )
    tables = prism_tables(export_text(small_study, "prism"))
    threshold = tables[0]
    assert [len(c) for c in threshold["groups"].values()] == [3, 3]
    assert threshold["groups"]["K10"][2] == ["", "", ""]  # the padding subcolumn
    assert threshold["groups"]["control"][2] == ["26", "", ""]  # A3: T0 only
    assert threshold["note"].endswith("control: A1, A2, A3; K10: B1, B2")

    tables = prism_tables(export_text(small_study, "prism", method="up_down"))
    assert tables[0]["title"].startswith("threshold (g): up-down 50% threshold")
    values = [c for row in tables[0]["rows"] for c in row[1:] if c]
    export = exports.StudyExport(small_study, method="up_down")
    exact = export.sessions.query("animal == 'A1' and timepoint == 'T0'")["threshold_g"].iloc[0]
    assert tables[0]["rows"][0][1] == f"{float(f'{exact:.3g}'):g}"
    for cell in values:
        digits = cell.lstrip("-0.").replace(".", "")
        assert len(digits.rstrip("0") or "0") <= 3, cell


def test_prism_cell_precision():
    # prism_cell gives a number (or ""), which the CSV writer formats.
    assert exports.csv_cell(exports.prism_cell(0.008, "threshold_g", "first_response")) == "0.008"
    assert exports.csv_cell(exports.prism_cell(300.0, "threshold_g", "first_response")) == "300"
    assert exports.csv_cell(exports.prism_cell(0.87662, "threshold_g", "up_down")) == "0.877"
    assert exports.csv_cell(exports.prism_cell(1234.5, "threshold_g", "up_down")) == "1230"
    assert exports.csv_cell(exports.prism_cell(-0.04, "pct_mpe", "up_down")) == "0"
    assert exports.csv_cell(exports.prism_cell(float("nan"), "pct_mpe", "up_down")) == ""


# ----------------------------------------------------------------------------- others


def test_dictionary_describes_every_column_of_every_table(small_study):
    rows = as_dicts(export_text(small_study, "dictionary"))
    described = {(r["table"], r["column"]) for r in rows}
    export = exports.StudyExport(small_study)
    for spec in exports.TABLES:
        header = export.header(spec.key)
        if header is None:
            assert (spec.key, "(block)") in described
            continue
        for column in header:
            assert (spec.key, column) in described, (spec.key, column)
    units = {(r["table"], r["column"]): r["unit"] for r in rows}
    assert units[("thresholds", "threshold_g")] == "g"
    assert units[("summary", "mpe_mean")] == "%"


def test_doses_weights_observations_exports(small_study):
    doses = as_dicts(export_text(small_study, "doses"))
    assert doses == [
        {
            "animal": "B1", "group": "K10", "study_day": "7", "scheduled_date": "2026-09-08",
            "planned_dose_mg_kg": "10", "dose_mg_kg": "10", "volume_ml": "0.25", "route": "i.p.",
            "status": "missed", "given_at": "", "given_by": "",
            "reason": "escaped during restraint",
        }
    ]  # fmt: skip
    assert as_dicts(export_text(small_study, "weights")) == [
        {"animal": "B1", "group": "K10", "date": "2026-09-01", "day": "0", "grams": "251.5"}
    ]
    obs = as_dicts(export_text(small_study, "observations"))
    assert [(o["animal"], o["day"], o["kind"], o["term"], o["severity"]) for o in obs] == [
        ("B1", "15", "adverse_event", "hematuria", "mild")
    ]


def test_audit_log_lists_changes_with_user_and_reason(small_study, people):
    session = small_study.animals.get(code="A1").test_sessions.get(timepoint__label="T1")
    session_services.void_session(session=session, user=people["data_manager"], reason="wrong rat")
    rows = as_dicts(export_text(small_study, "audit_log"))
    assert list(rows[0]) == ["when", "model", "object_id", "action", "user", "reason", "record"]
    when = [dt.datetime.fromisoformat(r["when"]) for r in rows]
    assert when == sorted(when)
    models = {r["model"] for r in rows}
    assert {"Study", "TreatmentGroup", "Timepoint", "Animal", "TestSession", "Stimulus"} <= models
    voided = [r for r in rows if r["model"] == "TestSession" and r["reason"] == "wrong rat"]
    assert len(voided) == 1 and voided[0]["action"] == "changed"
    assert "status=voided" in voided[0]["record"]
    # a voided session leaves every derived export
    assert ("A1", "T1") not in {
        (r["animal"], r["timepoint"]) for r in as_dicts(export_text(small_study, "thresholds"))
    }


def test_methods_paragraph_has_the_studys_numbers(small_study):
    text = exports.StudyExport(small_study).methods_text()
    flat = " ".join(text.split())
    assert "Stoelting 20-filament von Frey set" in flat
    assert "target force" in flat and "cut-off of 300 g" in flat
    assert "%MPE = (post-treatment threshold − baseline threshold) / (300 g" in flat
    assert "4 male Wistar rats were studied in 2 groups" in flat
    assert "Control (PSNL only) (control, n = 2) and Ketamine 10 mg/kg (K10, n = 2)" in flat
    assert "12 test sessions with" in flat
    assert "Friedman" in flat and "Kruskal–Wallis" in flat and "p < 0.05" in flat
    assert "scikit-posthocs" in flat and "SciPy" in flat


# ----------------------------------------------------------------------------- package


def test_publication_package_opens_and_holds_every_file(small_study):
    target = io.BytesIO()
    names = exports.StudyExport(small_study).write_package(target)
    target.seek(0)
    with zipfile.ZipFile(target) as archive:
        assert archive.testzip() is None
        listed = archive.namelist()
        folder = "small_publication_target_force_300g/"
        expected = {f"{folder}small_{key}_target_force_300g.csv" for key in exports.TABLE_KEYS}
        expected |= {
            f"{folder}README.txt",
            f"{folder}small_tables_target_force_300g.xlsx",
            f"{folder}small_methods_target_force_300g.txt",
        }
        assert set(listed) == expected == set(names)
        readme = archive.read(f"{folder}README.txt").decode()
        assert "Small hand-made study (small)" in readme
        assert "Threshold method: target_force" in readme
        assert "Cut-off:          300 g" in readme
        for name in listed:
            assert name.split("/")[-1] in readme or name.endswith("README.txt")
        thresholds_csv = archive.read(f"{folder}small_thresholds_target_force_300g.csv")
        assert thresholds_csv.decode() == export_text(small_study, "thresholds")
        book_bytes = archive.read(f"{folder}small_tables_target_force_300g.xlsx")
        assert archive.getinfo(f"{folder}README.txt").date_time[0] >= 2026
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(book_bytes), read_only=True)
    assert book.sheetnames == ["README", "methods", *exports.TABLE_KEYS]
    sheet = book["thresholds"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:9] == (
        "animal", "group", "timepoint", "day", "method", "threshold_g", "status", "pattern",
        "pct_mpe",
    )  # fmt: skip
    a1 = next(r for r in rows if r[0] == "A1" and r[2] == "T0")
    assert a1[5] == 26 and isinstance(a1[5], (int, float))  # numbers stay numbers
    stimuli = list(book["stimuli"].iter_rows(values_only=True))
    assert len(stimuli) == len(read_csv(export_text(small_study, "stimuli")))
    book.close()


def test_csv_stream_yields_before_reading_everything():
    def endless():
        n = 0
        while True:
            n += 1
            yield (n, 0.5, None)

    chunks = exports.csv_chunks(["n", "x", "y"], endless())
    first = next(chunks)
    assert first.startswith("n,x,y\n1,0.5,\n")
    assert first.count("\n") == exports.CHUNK_ROWS + 1


def test_cells_are_tidy():
    assert exports.csv_cell(26.0) == "26"
    assert exports.csv_cell(float("nan")) == ""
    assert exports.csv_cell(None) == ""
    assert exports.csv_cell(0.1 + 0.2) == "0.3"
    assert exports.csv_cell(-0.0) == "0"
    aware = timezone.make_aware(dt.datetime(2026, 9, 8, 9, 0))
    assert exports.csv_cell(aware) == "2026-09-08T09:00:00+01:00"
