"""Round trip: export stimuli, import them into a new study, export again: the
thresholds, summary and statistics files are byte for byte the same."""

import csv
import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command

from analysis.exports import StudyExport
from animals.models import Animal
from animals.services import change_animal_status
from front.demo import DEMO_SLUG
from labstudy.models import Study
from sessions.importing import import_study_csv
from sessions.models import TestSession
from tests.worlds import as_dicts, build_small_study, export_text

DERIVED = ("thresholds", "summary", "stats", "prism")


def _round_trip(study, new_slug: str) -> Study:
    data = export_text(study, "stimuli").encode()
    result = import_study_csv(
        data=data,
        source_name=StudyExport(study).file_name("stimuli"),
        slug=new_slug,
        method=study.threshold_method,
        cutoff_g=study.cutoff_g,
    )
    assert result.ok and result.written, result.error_lines()
    return Study.objects.get(slug=new_slug)


def test_small_study_round_trip(people):
    small = build_small_study(people)
    copy = _round_trip(small, "small-copy")
    for what in DERIVED:
        assert export_text(copy, what) == export_text(small, what), what
    # and the stimuli themselves, apart from the database ids of the sessions
    assert _without_session(export_text(copy, "stimuli")) == _without_session(
        export_text(small, "stimuli")
    )


def test_hostile_text_comes_back_identical_after_the_round_trip(people, make_user):
    """Text a spreadsheet would run is exported with a leading ' (issue 18); the import
    removes it, so the copy holds the very text and exports the very same files."""
    small = build_small_study(people)
    cages = {
        "A1": '\'=HYPERLINK("http://e.x","c")',  # looks guarded already
        "A2": "+1+cmd|' /C calc'!A0",
        "B1": "\t=1+1",
        "B2": "\r=1+1",
    }
    for code, cage in cages.items():
        Animal.objects.filter(study=small, code=code).update(cage=cage)
    # Animal codes hold only letters, digits and - _ . # ( ) + (labstudy/validators.py).
    Animal.objects.filter(study=small, code="B2").update(code="-B2")
    Animal.objects.filter(study=small, code="A2").update(code="+A2")
    small.groups.filter(code="K10").update(code="-2+3")
    minus, at = make_user("-2+3"), make_user("@SUM(A1)")
    TestSession.objects.filter(animal__study=small, timepoint__label="T0").update(tester=minus)
    TestSession.objects.filter(animal__study=small, timepoint__label="T1").update(tester=at)
    original = export_text(small, "stimuli")
    rows = as_dicts(original)
    assert {r["cage"] for r in rows} == {"'" + cage for cage in cages.values()}
    assert {r["animal"] for r in rows} == {"A1", "'+A2", "B1", "'-B2"}
    assert {r["group"] for r in rows} == {"control", "'-2+3"}
    assert {r["tester"] for r in rows} == {"'-2+3", "'@SUM(A1)", "tess"}

    copy = _round_trip(small, "small-hostile")
    assert _without_session(export_text(copy, "stimuli")) == _without_session(original)
    for what in DERIVED:
        assert export_text(copy, what) == export_text(small, what), what
    # the copy holds the text as typed, not the guarded text
    assert copy.animals.get(code="+A2").cage == "+1+cmd|' /C calc'!A0"
    assert copy.animals.get(code="-B2").cage == "\r=1+1"
    assert copy.animals.get(code="A1").cage == cages["A1"]
    assert copy.animals.get(code="B1").group.code == "-2+3"
    assert TestSession.objects.filter(animal__study=copy, tester=minus).count() == 4


def _without_session(text: str) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(text)))
    at = rows[0].index("session")
    return [row[:at] + row[at + 1 :] for row in rows]


def test_excluded_animal_stays_excluded_after_the_round_trip(people):
    small = build_small_study(people)
    change_animal_status(
        animal=small.animals.get(code="B2"),
        status="excluded",
        date=dt.date(2026, 9, 20),
        reason="neuroma at the ligation site",
        user=people["data_manager"],
    )
    stimuli = as_dicts(export_text(small, "stimuli"))
    assert {r["animal_status"] for r in stimuli if r["animal"] == "B2"} == {"excluded"}
    copy = _round_trip(small, "small-excluded")
    b2 = copy.animals.get(code="B2")
    assert (b2.status, b2.status_reason) == ("excluded", "imported: excluded in the source file")
    # K10 is B1 alone in the summary now (n = 1), on both sides of the round trip
    summary = {(r["group"], r["timepoint"]): r for r in as_dicts(export_text(copy, "summary"))}
    assert summary[("K10", "T1")]["n"] == "1" and summary[("K10", "T1")]["mean"] == "100"
    for what in DERIVED:
        assert export_text(copy, what) == export_text(small, what), what


def test_small_study_round_trip_with_another_method(people):
    small = build_small_study(people)
    small.threshold_method = "up_down"
    small.save()
    copy = _round_trip(small, "small-up-down")
    assert copy.threshold_method == "up_down"
    for what in DERIVED:
        assert export_text(copy, what) == export_text(small, what), what


@pytest.mark.django_db
def test_demo_study_round_trip_through_the_commands(tmp_path, demo_study):
    call_command("export_study", DEMO_SLUG, "--what", "stimuli", "--out", str(tmp_path))
    path = tmp_path / f"{DEMO_SLUG}_stimuli_target_force_300g.csv"
    assert path.exists()
    out = io.StringIO()
    # The chosen comparisons (T7 vs T4) are a study setting, not data in the CSV: given
    # to the import as on the old study.
    call_command(
        "import_study", str(path), "--slug", "demo-copy", "--title", "Copy", "--pairs", "T7-T4",
        stdout=out,
    )  # fmt: skip
    assert "Created: 3 new groups (control, K5, K10), 15 new animals" in out.getvalue()
    assert "note: analysis settings of the study: chosen pairs T7-T4" in out.getvalue()
    assert Study.objects.get(slug="demo-copy").comparison_pairs == "T7-T4"
    _assert_same_derived_files(tmp_path, "demo-copy")
    stats = (tmp_path / "demo" / f"{DEMO_SLUG}_stats_target_force_300g.csv").read_text()
    assert "nemenyi_kruskal" in stats and "friedman" in stats
    assert ",T7,T4," in stats  # the chosen pair's rows


def _assert_same_derived_files(tmp_path, copy_slug: str) -> dict[str, str]:
    (tmp_path / "copy").mkdir()
    (tmp_path / "demo").mkdir()
    texts = {}
    for what in DERIVED:
        call_command("export_study", DEMO_SLUG, "--what", what, "--out", str(tmp_path / "demo"))
        call_command("export_study", copy_slug, "--what", what, "--out", str(tmp_path / "copy"))
        original = (tmp_path / "demo" / f"{DEMO_SLUG}_{what}_target_force_300g.csv").read_text()
        copy = (tmp_path / "copy" / f"{copy_slug}_{what}_target_force_300g.csv").read_text()
        assert copy == original, what
        texts[what] = original
    return texts


@pytest.mark.django_db
def test_demo_study_with_an_excluded_animal_and_its_analysis_settings(tmp_path, demo_study):
    demo = Study.objects.get(slug=DEMO_SLUG)
    Study.objects.filter(pk=demo.pk).update(alpha=0.01, posthoc="dunn_holm")
    excluded = demo.animals.filter(group__code="K10").order_by("code").first()
    Animal.objects.filter(pk=excluded.pk).update(
        status="excluded", status_date=demo.day0_date, status_reason="neuroma"
    )
    call_command("export_study", DEMO_SLUG, "--what", "stimuli", "--out", str(tmp_path))
    path = tmp_path / f"{DEMO_SLUG}_stimuli_target_force_300g.csv"
    out = io.StringIO()
    call_command(
        "import_study", str(path), "--slug", "demo-copy", "--alpha", "0.01",
        "--posthoc", "dunn_holm", "--pairs", "T7-T4", stdout=out,
    )  # fmt: skip
    assert f"note: 1 animal imported as excluded: {excluded.code}" in out.getvalue()
    copy = Study.objects.get(slug="demo-copy")
    assert (copy.alpha, copy.posthoc, copy.comparison_pairs) == (0.01, "dunn_holm", "T7-T4")
    assert copy.animals.get(code=excluded.code).status == "excluded"
    texts = _assert_same_derived_files(tmp_path, "demo-copy")
    # the excluded animal really is out: K10 has one animal fewer than in the thresholds
    thresholds = as_dicts(texts["thresholds"])
    k10 = {r["animal"] for r in thresholds if r["group"] == "K10" and r["timepoint"] == "T0"}
    summary = as_dicts(texts["summary"])
    n = next(r["n"] for r in summary if r["group"] == "K10" and r["timepoint"] == "T0")
    assert excluded.code in k10 and int(n) == len(k10) - 1
    assert "dunn_kruskal" in texts["stats"] and "nemenyi_kruskal" not in texts["stats"]


@pytest.mark.django_db
def test_import_study_refuses_bad_analysis_settings(tmp_path, small_study):
    # Messages, not numbers: the small study's file (T0-T2) is enough.
    call_command("export_study", "small", "--what", "stimuli", "--out", str(tmp_path))
    path = str(tmp_path / "small_stimuli_target_force_300g.csv")
    for args, message in (
        (["--pairs", "T2T1"], "file: 'T2T1' is not a timepoint pair like T7-T4"),
        (["--pairs", "T2-T1,T9-T1"], "file: pair T9-T1: timepoint T9 is not in the file"),
        (["--alpha", "0.9"], "file: alpha 0.9 is not between 0.0001 and 0.5"),
    ):
        err = io.StringIO()
        with pytest.raises(CommandError, match="nothing was imported"):
            call_command(
                "import_study",
                path,
                "--slug",
                "small-copy",
                *args,
                stdout=io.StringIO(),
                stderr=err,
            )
        assert message in err.getvalue(), err.getvalue()
    assert not Study.objects.filter(slug="small-copy").exists()


@pytest.mark.django_db
def test_export_study_command_writes_the_package_and_named_files(tmp_path, small_study):
    out = io.StringIO()
    call_command("export_study", "small", "--what", "package", "--out", str(tmp_path), stdout=out)
    assert out.getvalue().strip().endswith("small_publication_target_force_300g.zip")
    target = tmp_path / "thresholds.csv"
    call_command(
        "export_study", "small", "--what", "thresholds", "--method", "up_down",
        "--out", str(target), stdout=io.StringIO(),
    )  # fmt: skip
    assert target.read_text().splitlines()[1].split(",")[4] == "up_down"
