"""`analysis.inputs.analysis_inputs`: the one read the dashboard, the exports and ARRIVE
share (design, reference, tidy frames in study order, usable pairs), and
`study_statistics`, the one call behind the dashboard's and the stats export's tests.

The animals give known target forces (`series_to`), so every value below is worked out
by hand from the filament set, and the Kruskal-Wallis numbers are R's.
"""

import pytest

from analysis import inputs
from animals.models import Animal
from sessions.models import TestSession
from tests.worlds import add_animals, record, series_to

# Animal codes sort the other way round from the study's group order (control, K5, K10),
# so an order that comes out right comes from the study, not from the codes.
AT_T1 = {
    "Z1": ("control", 0.4),
    "Z2": ("control", 0.6),
    "Z3": ("control", 1.0),
    "M1": ("K5", 2.0),
    "M2": ("K5", 4.0),
    "M3": ("K5", 6.0),
    "A1": ("K10", 8.0),
    "A2": ("K10", 10.0),
    "A3": ("K10", 15.0),
}
BASELINE_G = 26.0


@pytest.fixture
def recorded(study):
    """Nine animals at T0 (26 g each) and T1 (AT_T1), an excluded K10 animal with values,
    and a voided T1 session of M1 that would give 0.008 g."""
    study.comparison_pairs = "T1-T0,T7-T4"
    study.save()
    animals = add_animals(
        study, {code: group for code, (group, _) in AT_T1.items()} | {"A4": "K10"}
    )
    tps = {t.label: t for t in study.timepoints.all()}
    for code, (_, grams) in AT_T1.items():
        record(animals[code], tps["T0"], series_to(BASELINE_G))
        record(animals[code], tps["T1"], series_to(grams))
    record(animals["A4"], tps["T0"], series_to(BASELINE_G))
    record(animals["A4"], tps["T1"], series_to(300.0))
    Animal.objects.filter(pk=animals["A4"].pk).update(status=Animal.Status.EXCLUDED)
    record(
        animals["M1"],
        tps["T1"],
        series_to(0.008),
        status=TestSession.Status.VOIDED,
        void_reason="wrong animal",
    )
    return study


@pytest.mark.django_db
def test_design_is_in_study_order_with_the_study_s_reference(study):
    got = inputs.analysis_inputs(study)
    assert [g.code for g in got.design.groups] == ["control", "K5", "K10"]
    assert [t.label for t in got.design.timepoints] == [f"T{i}" for i in range(8)]
    assert [p.code for p in got.design.phases] == ["A", "B", "C"]
    assert got.method == "first_response"
    # Nothing recorded yet: the study's own reference, nothing to compute.
    assert (got.design.baseline, got.design.control) == ("T0", "control")
    assert got.long("threshold_g").empty
    assert inputs.study_statistics(got).problem == inputs.NO_VALUES


@pytest.mark.django_db
def test_frames_hold_live_values_of_included_animals_in_study_order(recorded):
    got = inputs.analysis_inputs(recorded)
    assert (got.baseline, got.first_treated, got.control) == ("T0", "T1", "control")
    assert got.reference.notes == ()
    t1 = got.long("threshold_g").query("timepoint == 'T1'")
    # The excluded A4 is left out; M1's voided 0.008 g session is not counted.
    assert list(zip(t1["animal"], t1["value"], strict=True)) == [
        (code, grams) for code, (_, grams) in AT_T1.items()
    ]
    # %MPE = (post - 26) / (300 - 26) x 100 per animal, 0 at the baseline itself.
    mpe = got.long("pct_mpe").set_index(["animal", "timepoint"])["value"]
    assert mpe[("Z1", "T0")] == 0.0
    assert mpe[("A3", "T1")] == pytest.approx((15.0 - 26.0) / (300.0 - 26.0) * 100)
    assert "A4" not in set(got.long("pct_mpe")["animal"])
    assert "A4" not in set(got.usable("threshold_g")["animal"])


@pytest.mark.django_db
def test_usable_pairs_are_the_chosen_pairs_with_values_at_both_timepoints(recorded):
    got = inputs.analysis_inputs(recorded)
    assert got.pairs["threshold_g"] == (("T1", "T0"),)  # T7-T4: nothing recorded there
    assert got.pairs["pct_mpe"] == (("T1", "T0"),)


@pytest.mark.django_db
def test_statistics_come_from_the_inputs_as_r_computes_them(recorded):
    """R 4.3: kruskal.test(list(c(.4,.6,1), c(2,4,6), c(8,10,15))) gives
    Kruskal-Wallis chi-squared = 7.2, df = 2, p-value = 0.02732."""
    got = inputs.analysis_inputs(recorded)
    result = inputs.study_statistics(got)
    assert result.problem == ""
    table = result.table
    kruskal = table[(table["test"] == "kruskal") & (table["timepoint"] == "T1")].iloc[0]
    assert kruskal["statistic"] == pytest.approx(7.2)
    assert kruskal["df"] == 2
    assert kruskal["p"] == pytest.approx(0.02732372, abs=1e-8)
    assert "mixed_model" in set(table["test"])
    quick = inputs.study_statistics(got, mixed_model=False).table
    assert "mixed_model" not in set(quick["test"])
    assert len(quick) == (table["test"] != "mixed_model").sum()
    assert inputs.mixed_model_statistics(got)["test"].eq("mixed_model").all()
    # The chosen pair T1-T0 is tested in every group.
    chosen = table["role"].fillna("").str.contains("chosen pair")
    assert set(table.loc[chosen, "group"]) == {"control", "K5", "K10"}


@pytest.mark.django_db
def test_method_recomputes_every_frame(recorded):
    target = inputs.analysis_inputs(recorded)
    up_down = inputs.analysis_inputs(recorded, method="up_down")
    assert up_down.method == "up_down"
    assert set(up_down.sessions["method"]) == {"up_down"}
    assert not up_down.long("threshold_g")["value"].equals(target.long("threshold_g")["value"])
    with pytest.raises(ValueError, match="unknown threshold method"):
        inputs.analysis_inputs(recorded, method="von_frey")


@pytest.mark.django_db
def test_reference_falls_back_to_the_first_group_and_timepoint_with_values(study):
    animals = add_animals(study, {"M1": "K5", "M2": "K5", "A1": "K10", "A2": "K10"})
    tps = {t.label: t for t in study.timepoints.all()}
    for code, grams in (("M1", 2.0), ("M2", 4.0), ("A1", 8.0), ("A2", 10.0)):
        record(animals[code], tps["T1"], series_to(grams))
        record(animals[code], tps["T2"], series_to(grams))
    got = inputs.analysis_inputs(study)
    assert (got.baseline, got.first_treated, got.control) == ("T1", "T2", "K5")
    assert got.reference.notes == (
        "the baseline T0 has no values yet: T1 is used",
        "the control group control has no values yet: K5 is used",
    )
    # No animal has a T0 threshold, so no %MPE: its statistics say why they are missing.
    assert inputs.study_statistics(got, "pct_mpe").problem == inputs.NO_VALUES
    assert inputs.study_statistics(got, "threshold_g").problem == ""
