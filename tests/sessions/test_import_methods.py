"""Legacy files recorded by the ascending method of limits or by percent response import
with their thresholds (issue 15), not as "incomplete"; the method's settings come with
the command (a new study) and bad ones are refused with nothing written."""

import io

import pytest
from django.core.management import CommandError, call_command

from analysis.frames import session_frame
from labstudy.models import Study
from sessions.importing import import_study_csv
from sessions.models import TestSession
from tests.worlds import HEADER, counts, to_csv


def _rows(animal, group, series, *, tp="T0", day=7):
    return [
        [animal, group, tp, str(day), "right", str(order), size, "1" if withdrew else "0"]
        for order, (size, withdrew) in enumerate(series, start=1)
    ]


def _blocks(*runs):
    return [(size, ch == "X") for size, pattern in runs for ch in pattern]


@pytest.mark.django_db
def test_an_ascending_file_imports_with_its_thresholds(tmp_path):
    # A1: 0.4, 0.6, 1 g no response, 2 g withdrawal -> 2 g.
    # A2: nothing up to 15 g (the top of the eight in use) -> 15 g, cutoff_high.
    a1 = _blocks(("3.61", "O"), ("3.84", "O"), ("4.08", "O"), ("4.31", "X"))
    a2 = [(s, False) for s in ("3.61", "3.84", "4.08", "4.31", "4.56", "4.74", "4.93", "5.18")]
    path = tmp_path / "ascending.csv"
    path.write_bytes(to_csv(_rows("A1", "control", a1) + _rows("A2", "drug", a2)))
    out = io.StringIO()
    call_command(
        "import_study", str(path), "--slug", "asc", "--method", "ascending",
        "--filaments", "3.61,3.84,4.08,4.31,4.56,4.74,4.93,5.18", stdout=out,
    )  # fmt: skip
    study = Study.objects.get(slug="asc")
    assert study.threshold_method == "ascending"
    assert study.method_filaments == "3.61, 3.84, 4.08, 4.31, 4.56, 4.74, 4.93, 5.18"
    assert set(TestSession.objects.values_list("status", flat=True)) == {"complete"}
    frame = session_frame(study).set_index("animal")
    assert frame.loc["A1", "threshold_g"] == 2.0 and frame.loc["A1", "status"] == "ok"
    assert frame.loc["A2", "threshold_g"] == 15.0 and frame.loc["A2", "status"] == "cutoff_high"


@pytest.mark.django_db
def test_a_percent_response_file_imports_with_its_thresholds():
    # Five applications each on 1, 2, 4 g; 3 of 5 needed.
    # A1: 1 g 1/5, 2 g 3/5, 4 g 5/5 -> 2 g.  A2: 1 g 0/5, 2 g 2/5, 4 g 4/5 -> 4 g.
    a1 = _blocks(("4.08", "XOOOO"), ("4.31", "XOXOX"), ("4.56", "XXXXX"))
    a2 = _blocks(("4.08", "OOOOO"), ("4.31", "OXOXO"), ("4.56", "XXOXX"))
    result = import_study_csv(
        data=to_csv(_rows("A1", "control", a1) + _rows("A2", "drug", a2)),
        source_name="frequency.csv",
        slug="freq",
        method="percent_response",
        method_settings={
            "applications_per_filament": 5,
            "withdrawals_needed": 3,
            "method_filaments": "4.08 4.31 4.56",
        },
    )
    assert result.ok, result.error_lines()
    study = Study.objects.get(slug="freq")
    assert study.method_params == {
        "applications": 5,
        "withdrawals": 3,
        "subset": ["4.08", "4.31", "4.56"],
    }
    frame = session_frame(study).set_index("animal")
    assert frame.loc[["A1", "A2"], "threshold_g"].tolist() == [2.0, 4.0]
    assert set(frame["status"]) == {"ok"}
    assert set(TestSession.objects.values_list("status", flat=True)) == {"complete"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("given", "message"),
    [
        (
            {"applications_per_filament": 3, "withdrawals_needed": 5},
            "5 withdrawals cannot be needed out of 3 applications per filament",
        ),
        ({"applications_per_filament": 0}, "greater than or equal to 1"),
        ({"method_filaments": "4.31, 4.32"}, "Filament '4.32' is not in"),
        ({"method_filaments": "'); DROP TABLE x; --"}, "is not a filament size such as 4.31"),
    ],
)
def test_bad_method_settings_are_refused_and_nothing_is_written(given, message):
    before = counts()
    result = import_study_csv(
        data=to_csv(_rows("A1", "control", _blocks(("4.08", "XXXXX")))),
        source_name="bad.csv",
        slug="bad",
        method="percent_response",
        method_settings=given,
    )
    assert not result.ok
    assert any(message in line for line in result.error_lines()), result.error_lines()
    assert counts() == before


@pytest.mark.django_db
def test_the_command_names_a_bad_setting(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text(HEADER + "\nA1,control,T0,7,right,1,4.31,1\n")
    err = io.StringIO()
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command(
            "import_study", str(path), "--slug", "cmdbad", "--method", "ascending",
            "--applications", "2", "--withdrawals", "3", stderr=err, stdout=io.StringIO(),
        )  # fmt: skip
    assert "3 withdrawals cannot be needed out of 2" in err.getvalue()
    assert not Study.objects.filter(slug="cmdbad").exists()
