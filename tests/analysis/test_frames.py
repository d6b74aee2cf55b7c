"""analysis.frames on a hand-made study: every threshold and %MPE worked out by hand.

The rats withdraw from every filament at or above a chosen force and from none below
(`series_to`), so the target force is that force, and %MPE follows from the formula.
"""

import math

import pandas as pd
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analysis import frames, thresholds
from sessions.models import LegacyThreshold, Stimulus, TestSession
from tests.worlds import NEVER, add_animals, bulk_study, record, series_to


@pytest.fixture
def frames_study(study):
    animals = add_animals(study, {"A1": "K10", "A2": "control", "U1": None})
    tp = {t.label: t for t in study.timepoints.all()}
    sessions = {
        "A1-T0": record(animals["A1"], tp["T0"], series_to(26)),
        "A1-T1": record(animals["A1"], tp["T1"], series_to(NEVER)),
        "A1-T2": record(animals["A1"], tp["T2"], series_to(60)),
        "A2-T0": record(animals["A2"], tp["T0"], series_to(15)),
        "A2-T1": record(animals["A2"], tp["T1"], series_to(10)),
        "U1-T0": record(animals["U1"], tp["T0"], series_to(4)),
        # stopped after two taps: no threshold yet
        "A2-T2": record(
            animals["A2"], tp["T2"], series_to(8)[:2], status=TestSession.Status.IN_PROGRESS
        ),
        # voided: left out of every frame
        "A2-T3-void": record(
            animals["A2"],
            tp["T3"],
            series_to(1.0),
            status=TestSession.Status.VOIDED,
            void_reason="wrong animal",
        ),
    }
    return {"study": study, "animals": animals, "tp": tp, "sessions": sessions}


def row(frame, animal, timepoint):
    match = frame[(frame["animal"] == animal) & (frame["timepoint"] == timepoint)]
    assert len(match) == 1, match
    return match.iloc[0]


@pytest.mark.django_db
def test_session_frame_thresholds_and_mpe_by_hand(frames_study):
    frame = frames.session_frame(frames_study["study"])
    assert list(frame.columns[: len(frames.SESSION_COLUMNS)]) == frames.SESSION_COLUMNS
    a1_t0 = row(frame, "A1", "T0")
    assert (a1_t0["threshold_g"], a1_t0["status"], a1_t0["group"]) == (26.0, "ok", "K10")
    assert a1_t0["pattern"] == "OOOOOOXOXOX"  # 4.31 … 5.18 none, 5.46 X, then 4 more
    assert a1_t0["pct_mpe"] == 0.0
    a1_t1 = row(frame, "A1", "T1")
    assert (a1_t1["threshold_g"], a1_t1["status"]) == (300.0, "cutoff_high")
    assert a1_t1["pct_mpe"] == pytest.approx(100.0)  # (300 - 26) / (300 - 26)
    assert row(frame, "A1", "T2")["pct_mpe"] == pytest.approx((60 - 26) / (300 - 26) * 100)
    assert row(frame, "A2", "T1")["pct_mpe"] == pytest.approx((10 - 15) / (300 - 15) * 100)
    assert row(frame, "U1", "T0")["group"] == ""


@pytest.mark.django_db
def test_incomplete_and_voided_sessions(frames_study):
    frame = frames.session_frame(frames_study["study"])
    stopped = row(frame, "A2", "T2")
    assert stopped["status"] == "incomplete" and math.isnan(stopped["threshold_g"])
    assert stopped["session_status"] == "in_progress" and stopped["reason"]
    assert math.isnan(stopped["pct_mpe"])
    assert "T3" not in set(frame["timepoint"])  # only a voided session there
    assert len(frame) == 7


@pytest.mark.django_db
def test_a_voided_stimulus_does_not_count(frames_study):
    session = frames_study["sessions"]["A1-T0"]
    # A wrong tap at 4.08 (1 g, withdrawal) would make the target force 1 g; voided, it
    # must leave the threshold at 26 g.
    Stimulus.objects.create(
        session=session,
        order=99,
        filament=session.animal.study.filament_set.filaments.get(size="4.08"),
        withdrew=True,
        recorded_at=session.tested_at,
        voided=True,
        void_reason="tapped the wrong button",
    )
    assert row(frames.session_frame(frames_study["study"]), "A1", "T0")["threshold_g"] == 26.0


@pytest.mark.django_db
def test_method_argument_gives_the_up_down_threshold(frames_study):
    frame = frames.session_frame(frames_study["study"], method="up_down")
    expected = thresholds.up_down_threshold(series_to(26)).grams
    # Chaplan: 10 ** (Xf + k * delta) / 10 000 with Xf = 5.46 (last filament), k for
    # OXOXOX read from Dixon's table; worked out independently in test_thresholds.
    assert row(frame, "A1", "T0")["threshold_g"] == pytest.approx(expected)
    assert set(frame["method"]) == {"up_down"}
    assert expected != 26.0


@pytest.mark.django_db
def test_stimuli_frame_lists_live_taps_in_order(frames_study):
    frame = frames.stimuli_frame(frames_study["study"])
    assert list(frame.columns) == frames.STIMULI_COLUMNS
    a1 = frame[(frame["animal"] == "A1") & (frame["timepoint"] == "T0")]
    assert [tuple(r) for r in a1[["filament_size", "response"]].itertuples(index=False)] == [
        (size, int(withdrew)) for size, withdrew in series_to(26)
    ]
    assert a1["order"].tolist() == list(range(1, len(a1) + 1))
    assert a1["filament_g"].tolist()[-1] == 26.0
    assert "T3" not in set(frame["timepoint"])  # voided session
    assert frame.loc[frame["animal"] == "U1", "group"].tolist() == [""] * len(series_to(4))


@pytest.mark.django_db
def test_analysis_frame_is_the_stats_input(frames_study):
    long = frames.analysis_frame(frames.session_frame(frames_study["study"]))
    assert list(long.columns) == ["animal", "group", "timepoint", "day", "value"]
    assert sorted(map(tuple, long[["animal", "timepoint", "value"]].to_numpy().tolist())) == [
        ("A1", "T0", 26.0),
        ("A1", "T1", 300.0),
        ("A1", "T2", 60.0),
        ("A2", "T0", 15.0),
        ("A2", "T1", 10.0),
    ]  # U1 has no group, A2 T2 no threshold yet
    mpe = frames.analysis_frame(frames.session_frame(frames_study["study"]), "pct_mpe")
    assert mpe.set_index(["animal", "timepoint"]).loc[("A2", "T1"), "value"] == pytest.approx(
        -5 / 285 * 100
    )


@pytest.mark.django_db
def test_a_one_paw_study_analyses_its_paw_even_when_the_other_was_tested(frames_study):
    # The study tests the right hind paw; a left-paw session (2 g) stays in the tables
    # but the statistics keep A1's right-paw threshold at T1 (300 g, the cut-off).
    assert frames_study["study"].paw_tested == "right"
    record(frames_study["animals"]["A1"], frames_study["tp"]["T1"], series_to(2), paw="left")
    sessions = frames.session_frame(frames_study["study"])
    assert sorted(sessions.loc[sessions["timepoint"] == "T1", "paw"]) == ["left", "right", "right"]
    long = frames.analysis_frame(sessions).set_index(["animal", "timepoint"])
    assert not long.index.duplicated().any()
    assert long.loc[("A1", "T1"), "value"] == 300.0


@pytest.mark.django_db
def test_a_both_paws_study_analyses_each_animals_ipsilateral_paw(frames_study):
    # PSNL on the left for A1: its left paw is the injured one; A2 has no surgery
    # recorded and falls back to the right paw.
    from animals.models import Surgery

    study = frames_study["study"]
    study.paw_tested = study.Paw.BOTH
    study.save()
    a1, a2 = frames_study["animals"]["A1"], frames_study["animals"]["A2"]
    Surgery.objects.create(animal=a1, date=study.day0_date, procedure="PSNL", side="left")
    record(a1, frames_study["tp"]["T0"], series_to(15), paw="left")
    record(a1, frames_study["tp"]["T1"], series_to(4), paw="left")
    record(a2, frames_study["tp"]["T1"], series_to(60), paw="left")
    long = frames.analysis_frame(frames.session_frame(study)).set_index(["animal", "timepoint"])
    assert long.loc[("A1", "T0"), "value"] == 15.0  # left, not the right paw's 26 g
    assert long.loc[("A1", "T1"), "value"] == 4.0
    assert ("A1", "T2") not in long.index  # only the right paw was tested at T2
    assert long.loc[("A2", "T1"), "value"] == 10.0  # right, not the left paw's 60 g


@pytest.mark.django_db
def test_wide_frame_is_animals_by_timepoints_in_day_order(frames_study):
    wide = frames.wide_frame(frames.session_frame(frames_study["study"]))
    assert list(wide.columns) == ["T0", "T1", "T2"]
    assert wide.loc[("K10", "A1")].tolist() == [26.0, 300.0, 60.0]
    assert wide.loc[("control", "A2"), "T1"] == 10.0
    assert math.isnan(wide.loc[("control", "A2"), "T2"])


@pytest.mark.django_db
def test_legacy_thresholds_join_the_frame_flagged(frames_study):
    LegacyThreshold.objects.create(
        animal=frames_study["animals"]["A2"],
        timepoint=frames_study["tp"]["T4"],
        paw="right",
        method="first_response",
        threshold_g=100.0,
        source_file="old.csv",
        source_line=7,
    )
    frame = frames.session_frame(frames_study["study"])
    legacy = row(frame, "A2", "T4")
    assert legacy["source"] == "legacy_thresholds" and pd.isna(legacy["session"])
    assert legacy["pct_mpe"] == pytest.approx((100 - 15) / (300 - 15) * 100)
    assert set(frame.loc[frame["timepoint"] != "T4", "source"]) == {"stimuli"}


@pytest.mark.django_db
def test_empty_study_gives_empty_frames(study):
    assert frames.session_frame(study).empty
    assert frames.stimuli_frame(study).empty
    assert frames.analysis_frame(frames.session_frame(study)).empty


def _queries(study) -> int:
    with CaptureQueriesContext(connection) as captured:
        frames.session_frame(study)
        frames.stimuli_frame(study)
    return len(captured)


@pytest.mark.django_db
def test_query_count_does_not_grow_with_animals(study, people):
    from labstudy import services

    small = study
    bulk_study(small, 5)
    large = services.create_study(
        template_key="psnl-vf-3x8",
        slug="large",
        title="Large",
        day0_date=small.day0_date,
        user=people["data_manager"],
    )
    bulk_study(large, 60)
    # Both studies read once first: what a Study instance caches (its filament set) is
    # read on the first call only, whatever the size.
    assert len(frames.session_frame(large)) == 60 * 3
    assert len(frames.session_frame(small)) == 5 * 3
    assert _queries(small) == _queries(large)
