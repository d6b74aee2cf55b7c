"""Each ARRIVE 2.0 item as a reader of the report sees it: counts, sentences, the
animals and records left out with their reasons, doses not given, adverse events.

The world: the reference design (blinded, first_response) shifted so today is day 28,
with four animals (control R01, K5 R02, K10 R03 and R04; tests/worlds.py
`make_bench_study`). Thresholds are recorded with `series_to(target)`, whose target
force is exactly `target` g, so every mean, SEM and CI below is worked by hand.
"""

import pandas as pd
import pytest

from analysis import arrive
from animals.models import Animal, Observation
from animals.services import (
    change_animal_status,
    record_dose,
    void_dose,
    void_observation,
)
from labstudy.services import unblind_study
from sessions.models import TestSession
from sessions.services import void_session
from tests.conftest import PASSWORD
from tests.worlds import make_bench_study, record, series_to


@pytest.fixture
def day28_bench(study):
    return make_bench_study(study, day=28, method="first_response")


def _facts(item) -> dict[str, str]:
    return {f.label: f.text for f in item.recorded}


def _table(item, caption: str):
    return next(t for t in item.tables if t.caption.startswith(caption))


def _tp(study, label: str):
    return study.timepoints.get(label=label)


# ----------------------------------------------------------------------------- 1 design


def test_study_design_lists_groups_with_n_timepoints_and_phases(day28_bench):
    inputs = arrive.gather(day28_bench.study)
    item = arrive.study_design_item(
        day28_bench.study,
        groups=inputs.groups,
        n_by_group=inputs.n_by_group,
        timepoints=inputs.timepoints,
        phases=inputs.phases,
        baseline=inputs.baseline,
    )
    assert item.number == 1 and item.title == "Study design"
    groups = _table(item, "Groups")
    assert [(r[0], r[3], r[5]) for r in groups.rows] == [
        ("control", "yes", "1"),
        ("K5", "", "1"),
        ("K10", "", "2"),
    ]
    facts = _facts(item)
    assert facts["Repeated measures"] == (
        "8 timepoints: T0 (day 7), T1 (day 14), T2 (day 21), T3 (day 28), T4 (day 35), "
        "T5 (day 42), T6 (day 49), T7 (day 56)"
    )  # no baseline yet: no timepoint has a value
    assert facts["Phases"] == (
        "A Daily injections, days 7–34 (dosed); B Discontinuation, days 35–48; "
        "C Readministration, days 49–55 (dosed)"
    )
    assert item.to_write == []  # a control is marked: nothing to add


def test_study_design_asks_for_a_control_when_none_is_marked(day28_bench):
    day28_bench.study.groups.update(is_control=False)
    inputs = arrive.gather(day28_bench.study)
    item = arrive.study_design_item(
        day28_bench.study,
        groups=inputs.groups,
        n_by_group=inputs.n_by_group,
        timepoints=inputs.timepoints,
        phases=inputs.phases,
        baseline="T0",
    )
    assert "baseline T0" in _facts(item)["Repeated measures"]
    assert item.to_write == [
        "No group is marked as the control: name the control group, or explain why there is none."
    ]


# ----------------------------------------------------------------------------- 2 sample size


def test_sample_size_counts_each_group_the_total_and_the_unallocated(day28_bench):
    Animal.objects.create(study=day28_bench.study, code="R05", cage="C3")
    inputs = arrive.gather(day28_bench.study)
    item = arrive.sample_size_item(
        groups=inputs.groups, animals=inputs.animals, n_by_group=inputs.n_by_group
    )
    assert _facts(item)["Animals"] == (
        "5 in total; control n = 1, K5 n = 1, K10 n = 2; not allocated: R05"
    )
    assert item.to_write[0].startswith("How the sample size was decided")


# ----------------------------------------------------------------------------- 3 exclusions


def test_exclusions_list_every_animal_and_session_left_out_with_its_reason(day28_bench):
    study = day28_bench.study
    for code, target in (("R01", 15.0), ("R02", 26.0), ("R03", 15.0), ("R04", 26.0)):
        record(day28_bench.animals[code], _tp(study, "T0"), series_to(target))
    wrong = record(day28_bench.animals["R02"], _tp(study, "T1"), series_to(8.0))
    void_session(session=wrong, user=None, reason="tested the left paw")
    change_animal_status(
        animal=day28_bench.animals["R04"],
        status=Animal.Status.EXCLUDED,
        date=study.date_of_day(10),
        reason="autotomy of the injured paw",
        user=None,
    )
    inputs = arrive.gather(study)
    item = arrive.inclusion_exclusion_item(
        animals=inputs.animals,
        sessions=inputs.sessions,
        voided_sessions=inputs.voided_sessions,
        missing=inputs.missing,
        dropped=["R03"],
    )
    out = _table(item, "Animals no longer in the study")
    day10 = study.date_of_day(10).isoformat()
    assert out.rows == [["R04", "K10", "Excluded", day10, "autotomy of the injured paw"]]
    voided = _table(item, "Voided test sessions")
    assert voided.rows == [["R02", "T1", "tested the left paw"]]
    # T0..T3 are due on day 28; only T0 was tested (R02's T1 is void)
    missing = _table(item, "Allocated animals without a threshold")
    # R04, excluded on day 10 before T1 (day 14), is not listed: the completeness page
    # calls its T1-T3 "not expected", and so does the report
    assert missing.rows == [
        ["R01", "control", "T1, T2, T3"],
        ["R02", "K5", "T1, T2, T3"],
        ["R03", "K10", "T1, T2, T3"],
    ]
    facts = _facts(item)
    assert facts["Left out of Friedman and ANOVA"] == (
        "R03 (a missing timepoint); the mixed model keeps them"
    )
    assert "Animals excluded" not in facts


def test_exclusions_say_none_and_count_unfinished_series(day28_bench):
    study = day28_bench.study
    record(
        day28_bench.animals["R01"],
        _tp(study, "T0"),
        series_to(15.0)[:2],
        status=TestSession.Status.IN_PROGRESS,
    )
    inputs = arrive.gather(study)
    item = arrive.inclusion_exclusion_item(
        animals=inputs.animals,
        sessions=inputs.sessions,
        voided_sessions=inputs.voided_sessions,
        missing=inputs.missing,
        dropped=inputs.dropped,
    )
    facts = _facts(item)
    assert facts["Animals excluded"] == "none: every animal is active"
    assert facts["Incomplete series"] == (
        "1 session without a threshold (series not finished): left out of the analyses"
    )
    assert "Left out of Friedman and ANOVA" not in facts
    assert [t.caption for t in item.tables] == [
        "Allocated animals without a threshold at a timepoint"
    ]


# ----------------------------------------------------------------------------- 4, 5 allocation


def test_randomisation_asks_how_when_nothing_was_randomised(day28_bench):
    day28_bench.study.randomise_test_order = False
    item = arrive.randomisation_item(day28_bench.study, allocations=[])
    assert item.recorded == []
    assert [t.split(" (")[0] for t in item.to_write] == [
        "How animals were allocated to groups",
        "How the order of testing and dosing, and cage position, were handled to limit confounding",
    ]


def test_randomisation_states_the_allocation_and_the_bench_order_seed(day28_bench):
    day28_bench.study.randomise_test_order = True
    day28_bench.study.order_seed = 4711
    item = arrive.randomisation_item(
        day28_bench.study, allocations=["Block randomisation, seed 3, blocks of 3; 4 animals"]
    )
    assert _facts(item) == {
        "Allocation": "Block randomisation, seed 3, blocks of 3; 4 animals",
        "Order of testing": "animals listed in a seeded random order at the bench (seed 4711)",
    }
    assert item.to_write == []


def test_blinding_names_the_coded_letters_or_the_unblinding(day28_bench):
    study = day28_bench.study
    groups = list(study.groups.order_by("order", "code"))
    letters = ", ".join(g.coded_letter for g in groups)
    item = arrive.blinding_item(study, groups=groups, unblinding=[])
    assert _facts(item)["Outcome assessment"] == (
        f"technicians recording von Frey responses saw coded solution letters ({letters}), "
        "never group names or doses; exports and results were closed to them"
    )
    study.blinded = False
    item = arrive.blinding_item(
        study, groups=groups, unblinding=["2026-09-30 by ivy: analysis done"]
    )
    assert [(f.label, f.text) for f in item.recorded] == [
        ("Outcome assessment", "blinded until the study was unblinded"),
        ("Unblinded", "2026-09-30 by ivy: analysis done"),
    ]


def test_blinding_reads_who_unblinded_the_study_and_why_from_its_history(day28_bench, people):
    unblind_study(
        study=day28_bench.study,
        user=people["investigator"],
        password=PASSWORD,
        reason="analysis done",
    )
    inputs = arrive.gather(day28_bench.study)
    assert len(inputs.unblinding) == 1
    assert inputs.unblinding[0].endswith(" by ivy: analysis done")
    item = arrive.blinding_item(
        day28_bench.study, groups=inputs.groups, unblinding=inputs.unblinding
    )
    assert _facts(item)["Outcome assessment"] == "blinded until the study was unblinded"


# ----------------------------------------------------------------------------- 6, 7 outcome, stats


def test_outcome_measures_name_filaments_paw_method_and_mpe(day28_bench):
    inputs = arrive.gather(day28_bench.study)
    item = arrive.outcome_measures_item(
        day28_bench.study, filaments=inputs.filaments, method="first_response", baseline="T0"
    )
    facts = _facts(item)
    threshold = facts["Mechanical withdrawal threshold (g)"]
    assert "20 filaments 0.008–300 g) on the right hind paw" in threshold
    assert threshold.endswith("; cut-off 300 g")
    assert facts["%MPE"] == ("(threshold − T0 threshold) / (300 g − T0 threshold) × 100 per animal")


def test_statistical_methods_give_alpha_the_control_and_who_was_left_out(day28_bench):
    item = arrive.statistical_methods_item(day28_bench.study, control="control", dropped=["R03"])
    facts = _facts(item)
    assert facts["Significance level"] == "alpha = 0.05, two-sided"
    assert " vs control where significant" in facts["Between groups"]
    assert facts["Missing data"] == "complete-case tests left out R03"
    assert "scipy" in facts["Software"].lower()


# ----------------------------------------------------------------------------- 8 animals


def test_experimental_animals_give_sex_and_the_first_weight_mean_sd(day28_bench):
    inputs = arrive.gather(day28_bench.study)
    assert inputs.first_weights_g == [300.0, 300.0, 300.0, 300.0]
    # mean 260, SD sqrt(((-10)^2 + 0 + 10^2) / 2) = 10
    item = arrive.experimental_animals_item(
        day28_bench.study, animals=inputs.animals, first_weights_g=[250.0, 260.0, 270.0]
    )
    facts = _facts(item)
    assert facts["Animals"] == "rat, strain Wistar; 4 male"
    assert facts["Body weight at first weighing"] == (
        "260.0 ± 10.0 g (mean ± SD, n = 3; range 250–270 g)"
    )
    assert "The age of the animals (not recorded in labstudy)." in item.to_write


# ----------------------------------------------------------------------------- 9 procedures


def test_procedures_count_doses_as_the_completeness_page_does(day28_bench):
    """A dose record voided as a mistake is neither a dose nor a dose "not given"."""
    study = day28_bench.study
    r01, r03 = day28_bench.animals["R01"], day28_bench.animals["R03"]
    given = {"animal": r01, "status": "given", "user": None}
    record_dose(date=study.date_of_day(22), **given)
    wrong = record_dose(date=study.date_of_day(23), **given)
    void_dose(dose=wrong, user=None, reason="marked for the wrong rat")
    record_dose(date=study.date_of_day(24), **given)
    record_dose(animal=r03, date=study.date_of_day(22), status="missed", user=None,
                reason="cage mislabelled")  # fmt: skip
    record_dose(animal=r03, date=study.date_of_day(23), status="refused", user=None,
                reason="struggled at restraint")  # fmt: skip
    inputs = arrive.gather(study)
    item = arrive.experimental_procedures_item(
        study,
        groups=inputs.groups,
        surgeries=inputs.surgeries,
        dose_counts=inputs.dose_counts,
        not_given=inputs.not_given,
        filaments=inputs.filaments,
        method=inputs.method,
    )
    facts = _facts(item)
    assert facts["Doses"] == "2 given, 1 missed, 1 refused"
    assert _table(item, "Doses not given").rows == [
        ["R03", "22", "missed", "cage mislabelled"],
        ["R03", "23", "refused", "struggled at restraint"],
    ]
    assert facts["Treatment, K10"] == "ketamine 10 mg/kg i.p., in saline, 10 mg/ml, 1 ml/kg"
    assert facts["von Frey testing"].startswith("start filament 4.31 (2 g); one filament down")
    assert "The surgery or model induction (no surgery records in labstudy)." in item.to_write


def test_procedures_without_doses_show_no_dose_line_or_table(day28_bench):
    inputs = arrive.gather(day28_bench.study)
    item = arrive.experimental_procedures_item(
        day28_bench.study,
        groups=inputs.groups,
        surgeries=inputs.surgeries,
        dose_counts=inputs.dose_counts,
        not_given=inputs.not_given,
        filaments=inputs.filaments,
        method=inputs.method,
    )
    assert "Doses" not in _facts(item)
    assert item.tables == []


def test_doses_sentence_names_scheduled_doses_as_the_completeness_page_does():
    counts = {"given": 3, "missed": 0, "refused": 0, "not_recorded": 1, "to_come": 12}
    assert arrive.doses_sentence(counts) == "3 given, 1 not recorded, 12 still to come"


# ----------------------------------------------------------------------------- 10 results


def test_results_give_mean_sem_and_t_interval_per_group_and_timepoint(day28_bench):
    study = day28_bench.study
    for code, target in (("R01", 15.0), ("R02", 26.0), ("R03", 15.0), ("R04", 26.0)):
        record(day28_bench.animals[code], _tp(study, "T0"), series_to(target))
    inputs = arrive.gather(study)
    item = arrive.results_item(
        summary=inputs.summary,
        method=inputs.method,
        adverse_events=inputs.adverse_events,
        baseline=inputs.baseline,
    )
    table = _table(item, "Withdrawal threshold (g, target_force)")
    # K10 T0: 15 and 26 g -> mean 20.5, SD 7.78, SEM 5.5; t(0.975, 1) = 12.706
    # (any t table), so 20.5 ± 69.88 = -49.4 to 90.4. n = 1 has no SEM and no interval.
    # %MPE at the baseline is 0 by definition, not a mean ± SEM; nobody at the cut-off.
    zero = "0 by definition (baseline)"
    assert table.header[-1] == "n at the 300 g cut-off"
    assert table.rows == [
        ["control", "T0", "7", "1", "15.0 ± –", "– to –", zero, "0"],
        ["K5", "T0", "7", "1", "26.0 ± –", "– to –", zero, "0"],
        ["K10", "T0", "7", "2", "20.5 ± 5.5", "-49.4 to 90.4", zero, "0"],
    ]
    assert _facts(item)["Adverse events"] == "none recorded"


def test_results_list_live_adverse_events_on_their_study_day(day28_bench):
    study = day28_bench.study
    r02 = day28_bench.animals["R02"]
    Observation.objects.create(
        animal=r02, date=study.date_of_day(20), kind=Observation.Kind.ADVERSE_EVENT,
        term="hematuria", severity="mild", notes="resolved without action",
    )  # fmt: skip
    wrong = Observation.objects.create(
        animal=r02, date=study.date_of_day(21), kind=Observation.Kind.ADVERSE_EVENT,
        term="seizure",
    )  # fmt: skip
    void_observation(observation=wrong, user=None, reason="entered for the wrong animal")
    Observation.objects.create(animal=r02, date=study.date_of_day(22), term="calm")  # a note
    inputs = arrive.gather(study)
    item = arrive.results_item(
        summary=inputs.summary, method=inputs.method, adverse_events=inputs.adverse_events
    )
    events = _table(item, "Adverse events")
    assert events.rows == [["R02", "K5", "20", "hematuria", "mild", "resolved without action"]]
    assert "Adverse events" not in _facts(item)


def test_results_table_is_empty_without_thresholds():
    empty = pd.DataFrame(
        columns=["group", "timepoint", "day", "n", "mean", "sem", "mpe_mean", "mpe_sem"]
    )
    events = pd.DataFrame(columns=["animal", "group", "day", "term", "severity", "notes"])
    item = arrive.results_item(summary=empty, method="up_down", adverse_events=events)
    assert item.tables[0].rows == []
    assert item.tables[0].caption.startswith("Withdrawal threshold (g, up_down) and %MPE")
    assert _facts(item) == {"Adverse events": "none recorded"}


# ----------------------------------------------------------------------------- the whole report


def test_report_has_the_ten_items_in_order_and_counts_what_is_left_to_write(day28_bench):
    report = arrive.arrive_report(day28_bench.study)
    assert [i.number for i in report.items] == list(range(1, 11))
    assert report.to_write_count == sum(len(i.to_write) for i in report.items)
    assert report.method == "first_response"
