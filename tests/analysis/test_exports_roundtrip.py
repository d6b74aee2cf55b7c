"""Round trip: export stimuli, import them into a new study, export again: the
thresholds, summary and statistics files are byte for byte the same."""

import io

import pytest
from django.core.management import call_command

from analysis.exports import StudyExport
from labstudy.demo import DEMO_SLUG, load_demo_study
from labstudy.models import Study
from sessions.importing import import_study_csv
from tests.analysis.test_exports import build_small_study, export_text

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
    strip = lambda text: [line.rsplit(",", 1)[0] for line in text.splitlines()]  # noqa: E731
    assert strip(export_text(copy, "stimuli")) == strip(export_text(small, "stimuli"))


def test_small_study_round_trip_with_another_method(people):
    small = build_small_study(people)
    small.threshold_method = "up_down"
    small.save()
    copy = _round_trip(small, "small-up-down")
    assert copy.threshold_method == "up_down"
    for what in DERIVED:
        assert export_text(copy, what) == export_text(small, what), what


@pytest.mark.django_db
def test_demo_study_round_trip_through_the_commands(tmp_path):
    load_demo_study()
    call_command("export_study", DEMO_SLUG, "--what", "stimuli", "--out", str(tmp_path))
    path = tmp_path / f"{DEMO_SLUG}_stimuli_first_response_300g.csv"
    assert path.exists()
    out = io.StringIO()
    call_command("import_study", str(path), "--slug", "demo-copy", "--title", "Copy", stdout=out)
    assert "Created: 3 new groups (control, K5, K10), 15 new animals" in out.getvalue()
    # The chosen comparisons (T7 vs T4) are a study setting, not data in the CSV: the
    # data manager sets them on the new study as on the old one.
    from labstudy.models import Study

    Study.objects.filter(slug="demo-copy").update(
        comparison_pairs=Study.objects.get(slug=DEMO_SLUG).comparison_pairs
    )
    (tmp_path / "copy").mkdir()
    (tmp_path / "demo").mkdir()
    for what in DERIVED:
        call_command("export_study", DEMO_SLUG, "--what", what, "--out", str(tmp_path / "demo"))
        call_command("export_study", "demo-copy", "--what", what, "--out", str(tmp_path / "copy"))
        original = (tmp_path / "demo" / f"{DEMO_SLUG}_{what}_first_response_300g.csv").read_text()
        copy = (tmp_path / "copy" / f"demo-copy_{what}_first_response_300g.csv").read_text()
        assert copy == original, what
    stats = (tmp_path / "demo" / f"{DEMO_SLUG}_stats_first_response_300g.csv").read_text()
    assert "nemenyi_kruskal" in stats and "friedman" in stats


@pytest.mark.django_db
def test_export_study_command_writes_the_package_and_named_files(tmp_path):
    load_demo_study()
    out = io.StringIO()
    call_command("export_study", DEMO_SLUG, "--what", "package", "--out", str(tmp_path), stdout=out)
    assert out.getvalue().strip().endswith(f"{DEMO_SLUG}_publication_first_response_300g.zip")
    target = tmp_path / "thresholds.csv"
    call_command(
        "export_study", DEMO_SLUG, "--what", "thresholds", "--method", "up_down",
        "--out", str(target), stdout=io.StringIO(),
    )  # fmt: skip
    assert target.read_text().splitlines()[1].split(",")[4] == "up_down"
