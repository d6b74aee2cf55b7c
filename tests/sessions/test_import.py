"""The import service: every bad-input case names its line and column and writes nothing;
every spreadsheet dialect the issue lists is read. Files are written out by hand here.

The base file has two rats at T0: A1 (control; withdraws from 26 g, 11 stimuli on lines
2-12) and A2 (K10; withdraws from 15 g, 10 stimuli on lines 13-22).
"""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from labstudy.models import Study, Timepoint, TreatmentGroup
from sessions.importing import import_study_csv
from sessions.models import LegacyThreshold, Stimulus, TestSession
from tests.worlds import (
    GRAMS,
    HEADER,
    as_dicts,
    base_rows,
    counts,
    export_text,
    rows_for,
    to_csv,
)


def run(data: bytes, **kwargs):
    kwargs.setdefault("slug", "imported")
    kwargs.setdefault("source_name", "rats.csv")
    return import_study_csv(data=data, **kwargs)


# ----------------------------------------------------------------------------- good files


@pytest.mark.django_db
def test_good_file_creates_study_groups_animals_sessions_and_stimuli():
    before = counts()
    result = run(to_csv(base_rows()), title="Old rats")
    assert result.ok and result.written, result.error_lines()
    assert (result.kind, result.data_rows, result.sessions, result.stimuli) == (
        "stimuli",
        21,
        2,
        21,
    )
    assert result.new_groups == ["control", "K10"]
    assert result.new_animals == ["A1", "A2"]
    after = counts()
    assert after["Stimulus"] - before["Stimulus"] == 21
    assert after["TestSession"] - before["TestSession"] == 2
    study = Study.objects.get(slug="imported")
    assert (study.title, study.threshold_method, study.cutoff_g) == (
        "Old rats",
        "first_response",
        300,
    )
    assert study.groups.get(code="control").is_control
    assert study.timepoints.get(label="T0").is_baseline
    rows = {r["animal"]: r for r in as_dicts(export_text(study, "thresholds"))}
    assert (rows["A1"]["threshold_g"], rows["A2"]["threshold_g"]) == ("26", "15")
    assert set(
        TestSession.objects.filter(animal__study=study).values_list("status", flat=True)
    ) == {"complete"}
    stimulus = Stimulus.objects.get(
        session__animal__code="A2", order=1, session__animal__study=study
    )
    assert stimulus.note == "imported: rats.csv line 13"
    assert stimulus.history.first().history_change_reason == "imported from rats.csv"


@pytest.mark.django_db
def test_dry_run_reports_and_writes_nothing():
    before = counts()
    result = run(to_csv(base_rows()), dry_run=True)
    assert result.ok and not result.written
    assert (result.sessions, result.stimuli) == (2, 21)
    assert counts() == before
    assert "Would create: 2 new groups (control, K10)" in result.summary_lines()[2]


@pytest.mark.django_db
def test_filament_g_alone_is_enough():
    rows = [r[:6] + [GRAMS[r[6]]] + r[7:] for r in base_rows()]
    header = HEADER.replace("filament_size", "filament_g")
    result = run(to_csv(rows, header))
    assert result.ok, result.error_lines()
    study = Study.objects.get(slug="imported")
    assert {r["threshold_g"] for r in as_dicts(export_text(study, "thresholds"))} == {"26", "15"}


@pytest.mark.django_db
def test_the_exports_formula_guard_is_removed_on_import(make_user):
    """Our exports write text a spreadsheet would run with a leading ' (issue 18): the
    import stores the text as it was typed; a ' that guards nothing is kept."""
    make_user("-2+3")
    # Animal codes allow only letters, digits and - _ . # ( ) + (labstudy/validators.py),
    # so the codes here start with the guarded characters a code may hold.
    rows = [[*r, '\'=HYPERLINK("http://e.x")', "'-2+3"] for r in rows_for("'-A1", "'+K", 26)] + [
        [*r, "''=A2", "'-2+3"] for r in rows_for("'+A2", "control", 15)
    ]
    result = run(to_csv(rows, HEADER + ",cage,tester"))
    assert result.ok, result.error_lines()
    study = Study.objects.get(slug="imported")
    cages = dict(study.animals.values_list("code", "cage"))
    # One guard is removed; a ' that is part of the typed text stays.
    assert cages == {"-A1": '=HYPERLINK("http://e.x")', "+A2": "'=A2"}
    assert set(study.groups.values_list("code", flat=True)) == {"+K", "control"}
    assert set(TestSession.objects.filter(animal__study=study).values_list(
        "tester__username", flat=True
    )) == {"-2+3"}  # fmt: skip


@pytest.mark.django_db
def test_utf8_byte_order_mark_is_read():
    result = run(b"\xef\xbb\xbf" + to_csv(base_rows()))
    assert result.ok, result.error_lines()
    assert result.encoding == "UTF-8 with byte-order mark"
    assert result.stimuli == 21


@pytest.mark.django_db
def test_semicolons_and_decimal_commas_from_european_excel():
    # A rat withdrawing from 1.4 g: 4.31 X, 4.17 X, 4.08 O, ... forces with decimal commas.
    rows = rows_for("A1", "control", 1.2)
    rows = [r[:6] + [GRAMS[r[6]].replace(".", ",")] + r[7:] for r in rows]
    header = HEADER.replace("filament_size", "filament_g")
    data = to_csv(rows, header, sep=";")
    assert b"1,4" in data
    result = run(data)
    assert result.ok, result.error_lines()
    assert result.delimiter == ";"
    assert "decimal commas read as decimal points" in result.notes
    study = Study.objects.get(slug="imported")
    assert as_dicts(export_text(study, "thresholds"))[0]["threshold_g"] == "1.4"


@pytest.mark.django_db
def test_excel_separator_hint_line():
    data = b"sep=;\n" + to_csv(base_rows(), sep=";")
    result = run(data)
    assert result.ok, result.error_lines()
    bad = b"sep=;\n" + to_csv([*base_rows()[:2], ["A1", "control", "T0", "7", "right", "3",
                                                  "4.32", "0"]], sep=";")  # fmt: skip
    assert run(bad, slug="other").error_lines() == [
        "line 5, filament_size: unknown filament '4.32' (not in Stoelting 20)"
    ]


@pytest.mark.django_db
def test_latin1_file_keeps_accented_ids():
    rows = [["Rä1", *r[1:]] for r in rows_for("A1", "contrôle", 26)]
    data = to_csv(rows).decode().encode("latin-1")
    result = run(data)
    assert result.ok, result.error_lines()
    assert "text encoding: Windows-1252 (Latin-1), not UTF-8" in result.notes
    study = Study.objects.get(slug="imported")
    assert list(study.animals.values_list("code", "group__code")) == [("Rä1", "contrôle")]


@pytest.mark.django_db
def test_stray_blank_lines_are_skipped_and_lines_stay_physical():
    text = to_csv(base_rows()).decode().splitlines()
    # physical lines: 1 header, 2 blank, 3 ",,,," (Excel), 4.. data
    text = [text[0], "", ",,,,,,,", *text[1:4], "", *text[4:], "", ""]
    result = run("\n".join(text).encode())
    assert result.ok, result.error_lines()
    assert result.stimuli == 21
    text[5] = text[5].replace(",0", ",7").replace("right,3,4.74,7", "right,3,4.74,7")
    assert text[5].endswith(",7")
    assert run("\n".join(text).encode(), slug="other").error_lines() == [
        "line 6, response: '7' is not 0 or 1 (1 = withdrawal, 0 = no withdrawal)"
    ]


@pytest.mark.django_db
def test_windows_line_endings():
    result = run(to_csv(base_rows()).replace(b"\n", b"\r\n"))
    assert result.ok, result.error_lines()
    assert result.stimuli == 21


# ----------------------------------------------------------------------------- bad files


def _drop_column(name: str):
    def change(rows, header):
        columns = header.split(",")
        i = columns.index(name)
        return [r[:i] + r[i + 1 :] for r in rows], ",".join(columns[:i] + columns[i + 1 :])

    return change


def _set(line: int, column: str, value: str):
    def change(rows, header):
        i = header.split(",").index(column)
        rows = [list(r) for r in rows]
        rows[line - 2][i] = value
        return rows, header

    return change


BAD = {
    "missing paw column": (_drop_column("paw"), ["line 1: missing required column 'paw'"]),
    "missing response column": (
        _drop_column("response"),
        [
            "line 1: missing required column 'response'",
            "line 1: a stimuli file needs a 'response' column; a thresholds-only file needs "
            "'threshold_g'",
        ],
    ),
    "no filament column": (
        _drop_column("filament_size"),
        ["line 1: missing required column 'filament_size' or 'filament_g'"],
    ),
    "unknown filament": (
        _set(14, "filament_size", "4.32"),
        ["line 14, filament_size: unknown filament '4.32' (not in Stoelting 20)"],
    ),
    "response 2": (
        _set(3, "response", "2"),
        ["line 3, response: '2' is not 0 or 1 (1 = withdrawal, 0 = no withdrawal)"],
    ),
    "response yes": (
        _set(20, "response", "yes"),
        ["line 20, response: 'yes' is not 0 or 1 (1 = withdrawal, 0 = no withdrawal)"],
    ),
    "response empty": (
        _set(4, "response", ""),
        ["line 4, response: empty; 0 or 1 is required (1 = withdrawal, 0 = no withdrawal)"],
    ),
    "duplicate order": (
        _set(5, "order", "3"),
        ["line 5, order: duplicate of line 4 (animal A1, T0, right paw, order 3)"],
    ),
    "animal in two groups": (
        _set(8, "group", "K10"),
        ["line 8, group: animal A1 is in group K10 here but in group control on line 2"],
    ),
    "timepoint day disagrees": (
        _set(15, "day", "8"),
        ["line 15, day: timepoint T0 is day 8 here but day 7 on line 2"],
    ),
    "day not a number": (_set(6, "day", "seven"), ["line 6, day: 'seven' is not a whole number"]),
    "bad paw": (_set(7, "paw", "front"), ["line 7, paw: 'front' is not right or left"]),
    "empty animal": (_set(9, "animal", ""), ["line 9, animal: empty; a value is required"]),
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_names_line_and_column_and_writes_nothing(case):
    change, expected = BAD[case]
    rows, header = change(base_rows(), HEADER)
    before = counts()
    result = run(to_csv(rows, header))
    assert result.error_lines() == expected
    assert not result.written
    assert counts() == before


@pytest.mark.django_db
def test_every_error_of_a_file_is_listed_in_line_order():
    rows = base_rows()
    rows[12][6] = "4.32"  # line 14
    rows[1][7] = "2"  # line 3
    before = counts()
    result = run(to_csv(rows))
    assert result.error_lines() == [
        "line 3, response: '2' is not 0 or 1 (1 = withdrawal, 0 = no withdrawal)",
        "line 14, filament_size: unknown filament '4.32' (not in Stoelting 20)",
    ]
    assert counts() == before


@pytest.mark.django_db
def test_filament_g_that_is_no_filament_or_disagrees_with_the_size():
    header = HEADER.replace("filament_size", "filament_size,filament_g")
    rows = [r[:7] + [GRAMS[r[6]]] + r[7:] for r in base_rows()]
    rows[0][7] = "2.5"
    rows[1][7] = "6"  # line 3 is 4.56 (4 g)
    before = counts()
    assert run(to_csv(rows, header)).error_lines() == [
        "line 2, filament_g: unknown filament force '2.5' g (not in Stoelting 20)",
        "line 3, filament_g: 6 g does not match filament 4.56 (4 g)",
    ]
    assert counts() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "line 1: the file is empty"),
        (b"\n\n  \n", "line 1: the file is empty"),
        (b";;;\n", "line 1: the file is empty"),
        ((HEADER + "\n").encode(), "line 1: the file has a header row but no data rows"),
        ((HEADER + "\n\n\n").encode(), "line 1: the file has a header row but no data rows"),
    ],
)
def test_empty_file_and_header_only(data, message):
    before = counts()
    assert run(data).error_lines() == [message]
    assert counts() == before


@pytest.mark.django_db
def test_row_with_the_wrong_number_of_values():
    data = to_csv(base_rows()).replace(b"A1,control,T0,7,right,2,4.56,0", b"A1,control,T0,7,2")
    assert run(data).error_lines() == ["line 3: 5 values but the header has 8 columns"]


@pytest.mark.django_db
def test_file_over_the_size_limit():
    data = to_csv(base_rows())
    before = counts()
    result = run(data, max_bytes=512)
    assert result.error_lines() == [
        f"file: the file is {len(data)} bytes, over the upload limit of 512 bytes "
        "(LABSTUDY_MAX_UPLOAD_BYTES); split it, or use the import_study command"
    ]
    assert counts() == before


@pytest.mark.django_db
def test_invalid_slug_for_a_new_study():
    assert run(to_csv(base_rows()), slug="not a slug").error_lines() == [
        "file: 'not a slug' is not a valid short name (letters, digits, - and _)"
    ]


# ----------------------------------------------------------------------------- existing study


@pytest.mark.django_db
def test_into_an_existing_study_refuses_sessions_it_already_has(small_study):
    before = counts()
    result = run(to_csv(rows_for("A1", "control", 26)), slug="small")
    assert (
        result.error_lines()[0]
        == "line 2, animal: A1 already has a T0 session (right paw) in this study"
    )
    assert len(result.error_lines()) == 1
    assert counts() == before


@pytest.mark.django_db
def test_into_an_existing_study_refuses_a_moved_animal_and_a_moved_timepoint(small_study):
    rows = rows_for("A1", "K10", 26, tp="T3", day=28) + rows_for(
        "N1", "control", 15, tp="T1", day=15
    )
    before = counts()
    assert run(to_csv(rows), slug="small").error_lines() == [
        "line 2, group: animal A1 is in group K10 here but in group control in this study",
        "line 13, day: timepoint T1 is day 15 here but day 14 in this study",
    ]
    assert counts() == before


@pytest.mark.django_db
def test_into_an_existing_study_adds_a_timepoint_and_an_animal(small_study):
    rows = rows_for("A1", "control", 26, tp="T3", day=28) + rows_for(
        "N1", "K10", 15, tp="T3", day=28
    )
    result = run(to_csv(rows), slug="small")
    assert result.ok, result.error_lines()
    assert (result.new_timepoints, result.new_animals, result.new_groups) == (["T3"], ["N1"], [])
    assert small_study.animals.get(code="N1").group.code == "K10"
    rows = as_dicts(export_text(small_study, "thresholds"))
    t3 = {(r["animal"], r["threshold_g"]) for r in rows if r["timepoint"] == "T3"}
    assert t3 == {("A1", "26"), ("N1", "15")}


@pytest.mark.django_db
def test_a_signed_off_timepoint_is_refused(small_study):
    Timepoint.objects.filter(study=small_study, label="T2").update(locked_at=timezone.now())
    rows = rows_for("N1", "control", 26, tp="T2", day=21)
    assert run(to_csv(rows), slug="small").error_lines() == [
        "line 2, timepoint: Timepoint T2 has been signed off; its sessions are read-only. "
        "Reopen it before importing."
    ]


@pytest.mark.django_db
def test_method_or_cutoff_that_differ_from_an_existing_study(small_study):
    result = run(to_csv(rows_for("N1", "control", 26)), slug="small", method="up_down", cutoff_g=60)
    assert result.error_lines() == [
        "file: study 'small' uses the target_force method, not up_down; change it in the "
        "study settings first",
        "file: study 'small' has a cut-off of 300 g, not 60 g",
    ]


# ----------------------------------------------------------------------------- legacy thresholds

LEGACY = """animal,group,timepoint,day,threshold_g,status
L1,vehicle,T0,7,15,ok
L1,vehicle,T1,14,15,
L2,drug,T0,7,26,
L2,drug,T1,14,300,cutoff_high
"""


@pytest.mark.django_db
def test_thresholds_only_file_is_stored_and_flagged_in_every_export():
    result = run(LEGACY.encode(), slug="legacy", title="Old spreadsheet")
    assert result.ok and result.written, result.error_lines()
    assert (result.kind, result.legacy_thresholds, result.stimuli) == ("thresholds", 4, 0)
    assert any("flagged 'legacy_thresholds'" in note for note in result.notes)
    assert "control group: vehicle (from its name)" in result.notes
    assert "no paw column: every row is taken as the right hind paw" in result.notes
    study = Study.objects.get(slug="legacy")
    stored = LegacyThreshold.objects.get(animal__code="L2", timepoint__label="T1")
    assert (stored.threshold_g, stored.status, stored.source_file, stored.source_line) == (
        300.0, "cutoff_high", "rats.csv", 5,
    )  # fmt: skip
    rows = {(r["animal"], r["timepoint"]): r for r in as_dicts(export_text(study, "thresholds"))}
    assert {r["source"] for r in rows.values()} == {"legacy_thresholds"}
    assert rows[("L2", "T1")]["threshold_g"] == "300"
    assert float(rows[("L2", "T1")]["pct_mpe"]) == pytest.approx(100.0)
    assert rows[("L1", "T0")]["reason"] == "imported threshold without stimuli (rats.csv line 2)"
    summary = {(r["group"], r["timepoint"]): r for r in as_dicts(export_text(study, "summary"))}
    assert (summary[("drug", "T1")]["mean"], summary[("drug", "T1")]["n_legacy"]) == ("300", "1")
    prism = export_text(study, "prism").splitlines()[0]
    assert "includes 4 imported thresholds (legacy_thresholds)" in prism
    # every statistics row says how many of its values were imported without stimuli:
    # the tests within a group take its animal's two, those between groups at T0 or T1 two,
    # the ANOVA over both groups, the AUCs and the whole-study mixed model all four
    flags = legacy_flags(export_text(study, "stats"))
    assert set(flags.values()) == {2, 4}
    for (test, group, timepoint), n in flags.items():
        assert n == (2 if group or (timepoint and test != "mixed_model") else 4), test
    from analysis.exports import StudyExport

    assert "4 imported thresholds without stimuli" in StudyExport(study).readme_text()
    assert "legacy_thresholds" in " ".join(StudyExport(study).methods_text().split())


def legacy_flags(stats_csv: str) -> dict[tuple[str, str, str], int]:
    """{(test, group, timepoint): N} from the stats rows' 'includes N imported
    threshold(s) without stimuli (legacy)' notes; rows without the mention are left out."""
    flags = {}
    for row in as_dicts(stats_csv):
        found = re.search(r"includes (\d+) imported thresholds? without stimuli", row["note"])
        if found:
            key = (row["test"], row["group"], row["timepoint"])
            assert flags.setdefault(key, int(found[1])) == int(found[1]), key
    return flags


@pytest.mark.django_db
def test_stats_flag_only_the_tests_that_took_in_legacy_thresholds(small_study):
    legacy = "animal,group,timepoint,day,threshold_g\nA1,control,T3,28,15\nB1,K10,T3,28,60\n"
    result = run(legacy.encode(), slug="small")
    assert result.ok and result.written, result.error_lines()
    stats = as_dicts(export_text(small_study, "stats"))
    flags = legacy_flags(export_text(small_study, "stats"))
    # between groups: only T3 holds imported values (A1 and B1)
    between = {r["timepoint"] for r in stats if r["timepoint"] and r["test"] != "mixed_model"}
    assert between == {"T0", "T1", "T2", "T3"}
    flagged = {(t, tp) for (t, g, tp), n in flags.items() if tp and t != "mixed_model"}
    assert {tp for _, tp in flagged} == {"T3"}
    assert flags[("mann_whitney", "", "T3")] == 2
    # within a group: A2 and B2 have no T3 and are dropped, A1 and B1 bring one each
    assert flags[("friedman", "control", "")] == flags[("friedman", "K10", "")] == 1
    # the AUCs of the two complete animals, and the mixed model over every timepoint
    assert flags[("auc_mann_whitney", "", "")] == 2
    assert flags[("mixed_model", "", "T0")] == 2


@pytest.mark.django_db
def test_thresholds_only_bad_rows():
    text = LEGACY.replace("L1,vehicle,T1,14,15,", "L1,vehicle,T0,7,16,")
    text = text.replace("L2,drug,T0,7,26,", "L2,drug,T0,7,-3,")
    text = text.replace("cutoff_high", "maximal")
    before = counts()
    assert run(text.encode()).error_lines() == [
        "line 3, timepoint: duplicate of line 2 (animal L1, T0, right paw)",
        "line 4, threshold_g: '-3' must be more than 0 g",
        "line 5, status: 'maximal' is not one of ok, cutoff_high, cutoff_low, incomplete",
    ]
    assert counts() == before


# ----------------------------------------------------------------------------- speed and command


@pytest.mark.django_db
def test_query_count_does_not_grow_with_rows(django_assert_max_num_queries):
    rows = []
    for n in range(60):
        for tp, day in (("T0", 7), ("T1", 14), ("T2", 21)):
            rows += rows_for(f"R{n:03d}", "control" if n % 2 else "K10", 26, tp=tp, day=day)
    assert len(rows) == 1980
    # No query per row or per session (180 sessions): only batched inserts, whose batch
    # size SQLite's 999-parameter limit keeps near 90 rows (2000 on PostgreSQL).
    with django_assert_max_num_queries(100):
        result = run(to_csv(rows))
    assert result.ok and result.stimuli == 1980


@pytest.mark.django_db
def test_import_study_command(tmp_path):
    path = tmp_path / "rats.csv"
    path.write_bytes(to_csv(base_rows()))
    out = io.StringIO()
    call_command("import_study", str(path), "--slug", "cmd", "--dry-run", stdout=out)
    assert "Would create: 2 new groups (control, K10)" in out.getvalue()
    assert "Dry run: nothing was written." in out.getvalue()
    assert not Study.objects.filter(slug="cmd").exists()
    out = io.StringIO()
    call_command(
        "import_study", str(path), "--slug", "cmd", "--method", "up_down", "--cutoff-g", "60",
        "--baseline", "T0", "--title", "From the command", stdout=out,
    )  # fmt: skip
    study = Study.objects.get(slug="cmd")
    assert (study.title, study.threshold_method, study.cutoff_g) == (
        "From the command",
        "up_down",
        60,
    )
    assert "Imported into study 'cmd'." in out.getvalue()


@pytest.mark.django_db
def test_import_study_command_lists_errors_and_fails(tmp_path):
    rows = base_rows()
    rows[12][6] = "4.32"
    path = tmp_path / "rats.csv"
    path.write_bytes(to_csv(rows))
    err = io.StringIO()
    before = counts()
    with pytest.raises(CommandError, match="1 problem"):
        call_command("import_study", str(path), "--slug", "cmd", stderr=err, stdout=io.StringIO())
    assert "line 14, filament_size: unknown filament '4.32' (not in Stoelting 20)" in err.getvalue()
    assert counts() == before


@pytest.mark.django_db
def test_animals_without_a_sex_column_are_named_in_the_notes():
    result = run(to_csv(base_rows()))  # no sex column
    assert result.ok, result.error_lines()
    note = next(n for n in result.notes if n.startswith("no sex in the file"))
    assert "for 2 new animal(s) (A1, A2): recorded as male" in note
    assert set(Study.objects.get(slug="imported").animals.values_list("sex", flat=True)) == {"male"}


@pytest.mark.django_db
def test_animal_status_column_gives_new_animals_their_status_and_names_them():
    rows = [r + ["excluded"] for r in rows_for("A1", "control", 26)]
    rows += [r + ["active"] for r in rows_for("A2", "K10", 15)]
    rows += [r + ["Excluded"] for r in rows_for("A3", "K10", 15)]
    rows += [r + [""] for r in rows_for("A4", "K10", 26)]
    result = run(to_csv(rows, header=HEADER + ",animal_status"))
    assert result.ok and result.written, result.error_lines()
    assert (
        "2 animals imported as excluded: A1, A3 (status reason 'imported: excluded in the "
        "source file', dated the day of the import)"
    ) in result.notes
    stored = {
        a.code: (a.status, a.status_date, a.status_reason)
        for a in Study.objects.get(slug="imported").animals.all()
    }
    today = timezone.localdate()
    assert stored == {
        "A1": ("excluded", today, "imported: excluded in the source file"),
        "A2": ("active", None, ""),
        "A3": ("excluded", today, "imported: excluded in the source file"),
        "A4": ("active", None, ""),
    }


@pytest.mark.django_db
def test_bad_or_conflicting_animal_status_names_line_and_column():
    rows = [r + ["excluded"] for r in rows_for("A1", "control", 26)]
    rows[3][-1] = "active"
    rows += [r + ["dead"] for r in rows_for("A2", "K10", 15)]
    before = counts()
    errors = run(to_csv(rows, header=HEADER + ",animal_status")).error_lines()
    assert errors[0] == (
        "line 5, animal_status: animal A1 has animal_status 'active' here but 'excluded' on line 2"
    )
    assert errors[1] == (
        "line 13, animal_status: 'dead' is not one of active, excluded, died, euthanised"
    )
    assert len(errors) == 11  # every A2 row
    assert counts() == before


@pytest.mark.django_db
def test_animal_status_of_an_animal_already_in_the_study_is_kept_and_noted(small_study):
    rows = [r + ["died"] for r in rows_for("A1", "control", 26, tp="T3", day=28)]
    result = run(to_csv(rows, header=HEADER + ",animal_status"), slug="small")
    assert result.ok, result.error_lines()
    assert (
        "animal status differs from this study's for A1 (died in the file, active here): "
        "the study's status is kept; change it on the animal's page if the file is right"
    ) in result.notes
    assert small_study.animals.get(code="A1").status == "active"


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["target_force", "first_response"])
def test_target_force_by_either_name_on_the_command_line_and_in_a_thresholds_file(tmp_path, name):
    """The target force is stored as first_response; files and people call it target_force.
    Both names are read: `--method` and a thresholds file's method column."""
    path = tmp_path / "rats.csv"
    path.write_bytes(to_csv(base_rows()))
    out = io.StringIO()
    call_command("import_study", str(path), "--slug", f"cmd-{name}", "--method", name, stdout=out)
    assert Study.objects.get(slug=f"cmd-{name}").threshold_method == "first_response"
    assert "method target_force" in out.getvalue()
    lines = LEGACY.strip().splitlines()
    legacy = "\n".join([lines[0] + ",method"] + [line + f",{name}" for line in lines[1:]])
    result = run(legacy.encode(), slug=f"old-{name}")
    assert result.ok, result.error_lines()
    stored = LegacyThreshold.objects.filter(animal__study__slug=f"old-{name}")
    assert set(stored.values_list("method", flat=True)) == {"first_response"}


@pytest.mark.django_db
def test_unknown_method_is_refused_by_the_command(tmp_path):
    path = tmp_path / "rats.csv"
    path.write_bytes(to_csv(base_rows()))
    with pytest.raises(CommandError, match="unknown method 'lowest'"):
        call_command("import_study", str(path), "--slug", "x", "--method", "lowest")


# ----------------------------------------------------------------------------- Excel files


def to_xlsx(sheets: dict[str, list[list]]) -> bytes:
    """A workbook as Excel writes it: numbers stored as numbers."""
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def typed(rows: list[list[str]]) -> list[list]:
    """Cells as Excel keeps them: day, order, size and response as numbers."""
    return [[a, g, tp, int(day), paw, int(order), float(size), int(r)]
            for a, g, tp, day, paw, order, size, r in rows]  # fmt: skip


@pytest.mark.django_db
def test_xlsx_first_sheet_imports_like_the_csv():
    data = to_xlsx({"rats": [HEADER.split(","), *typed(base_rows())], "notes": [["x"]]})
    result = run(data, source_name="rats.xlsx")
    assert result.ok and result.written, result.error_lines()
    assert (result.sessions, result.stimuli) == (2, 21)
    assert result.encoding == "Excel workbook (.xlsx), sheet 'rats', the first of 2: rats, notes"
    assert "separator" not in result.summary_lines()[0]
    from analysis.exports import StudyExport

    rows = as_dicts(export_text(Study.objects.get(slug="imported"), "thresholds"))
    assert {(r["animal"], r["threshold_g"]) for r in rows} == {("A1", "26"), ("A2", "15")}
    assert StudyExport  # the same exports as a CSV import


@pytest.mark.django_db
def test_xlsx_chosen_sheet_and_row_numbers_in_messages():
    bad = typed(base_rows())
    bad[3][6] = 4.32  # sheet row 5 (header = row 1)
    data = to_xlsx({"summary": [["nothing here"]], "raw": [HEADER.split(","), *bad]})
    result = run(data, source_name="rats.xlsx", sheet="raw")
    assert result.error_lines() == [
        "line 5, filament_size: unknown filament '4.32' (not in Stoelting 20)"
    ]
    missing = run(data, source_name="rats.xlsx", sheet="Sheet9")
    assert missing.error_lines() == [
        "file: no sheet 'Sheet9' in the workbook (sheets: 'summary', 'raw')"
    ]
    assert not Study.objects.filter(slug="imported").exists()


@pytest.mark.django_db
def test_utf16_unicode_text_from_excel():
    text = HEADER.replace(",", "\t") + "\r\n" + "\r\n".join("\t".join(r) for r in base_rows())
    data = text.encode("utf-16")  # with its byte-order mark, as Excel saves "Unicode text"
    assert data[:2] in (b"\xff\xfe", b"\xfe\xff")
    result = run(data, source_name="rats.txt", dry_run=True)
    assert result.ok, result.error_lines()
    assert (result.encoding, result.separator, result.stimuli) == (
        "UTF-16 (Excel's Unicode text)", "tab", 21,
    )  # fmt: skip
    rows = base_rows()
    rows[1][7] = "2"
    text = HEADER.replace(",", "\t") + "\r\n" + "\r\n".join("\t".join(r) for r in rows)
    bad = run(text.encode("utf-16"), source_name="rats.txt")
    assert bad.error_lines() == [
        "line 3, response: '2' is not 0 or 1 (1 = withdrawal, 0 = no withdrawal)"
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data, kind",
    [
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "an Excel 97-2003 workbook (.xls)"),
        (b"%PDF-1.7\n" + b"\x00\x01" * 50, "a PDF document"),
        (b"PK\x03\x04" + b"\x00" * 26 + b"mimetypeapplication/vnd.oasis.opendocument.spreadsheet",
         "an OpenDocument spreadsheet (.ods)"),
        (b"\x00\x01\x02binary", "not a text CSV file"),
    ],
)  # fmt: skip
def test_other_files_are_refused_with_what_to_save_them_as(data, kind):
    result = run(data, source_name="rats.bin")
    [message] = result.error_lines()
    assert kind in message
    assert message.endswith(
        "save it from Excel as CSV UTF-8 (Comma delimited) or as an Excel workbook (.xlsx)"
    )
    assert not Study.objects.filter(slug="imported").exists()


@pytest.mark.django_db
def test_import_study_command_reads_a_chosen_sheet(tmp_path):
    path = tmp_path / "rats.xlsx"
    path.write_bytes(
        to_xlsx({"cover": [["about"]], "data": [HEADER.split(","), *typed(base_rows())]})
    )
    out = io.StringIO()
    call_command("import_study", str(path), "--slug", "xl", "--sheet", "data", stdout=out)
    assert "Excel workbook (.xlsx), sheet 'data'" in out.getvalue()
    assert TestSession.objects.filter(animal__study__slug="xl").count() == 2


# ----------------------------------------------------------------------------- choices


@pytest.mark.django_db
def test_chosen_control_and_baseline_and_nothing_invented_for_new_groups():
    rows = base_rows() + rows_for("A1", "control", 15, tp="T1", day=14)
    rows += rows_for("A2", "K10", 26, tp="T1", day=14)
    result = run(
        to_csv(rows),
        control="K10",
        baseline="T1",
        groups={"K10": {"name": "Ketamine 10", "drug": "ketamine", "dose_mg_kg": "10",
                        "route": "i.p.", "colour": "#D7301F"}},
    )  # fmt: skip
    assert result.ok and result.written, result.error_lines()
    study = Study.objects.get(slug="imported")
    assert list(study.groups.filter(is_control=True).values_list("code", flat=True)) == ["K10"]
    assert list(study.timepoints.filter(is_baseline=True).values_list("label", flat=True)) == ["T1"]
    k10 = study.groups.get(code="K10")
    assert (k10.name, k10.drug, str(k10.dose_mg_kg), k10.route, k10.colour) == (
        "Ketamine 10", "ketamine", "10.000", "i.p.", "#d7301f",
    )  # fmt: skip
    # the file said nothing of the other group: no route, no vehicle, no drug made up
    control = study.groups.get(code="control")
    assert (control.name, control.drug, control.route, control.vehicle) == ("control", "", "", "")
    assert control.dose_mg_kg is None
    assert result.file_groups == ["control", "K10"] and result.file_timepoints == ["T0", "T1"]


@pytest.mark.django_db
def test_no_control_chosen_is_kept_even_for_a_group_named_control():
    result = run(to_csv(base_rows()), control="")
    assert result.ok, result.error_lines()
    assert not TreatmentGroup.objects.filter(study__slug="imported", is_control=True).exists()
    assert not any("(from its name)" in note for note in result.notes)
    auto = run(to_csv(base_rows()), slug="auto", dry_run=True)
    assert auto.control == "control"


@pytest.mark.django_db
def test_bad_group_details_are_refused_and_nothing_is_written():
    result = run(
        to_csv(base_rows()),
        groups={
            "K10": {"dose_mg_kg": "ten", "route": "i.m.", "colour": "red"},
            "K99": {"drug": "x"},
        },
    )
    assert result.error_lines() == [
        "file: group K10: dose 'ten' is not a dose in mg/kg",
        "file: group K10: route 'i.m.' is not one of i.p., s.c., p.o., i.v.",
        "file: group K10: colour 'red' is not like #1f77b4",
        "file: group K99 is not a new group of this file",
    ]
    assert not Study.objects.filter(slug="imported").exists()
