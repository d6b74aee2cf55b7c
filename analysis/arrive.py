"""The ARRIVE 2.0 Essential 10, filled in from what the study records.

For each item it lists what labstudy already knows (design, groups and n, exclusions
with reasons, randomisation, blinding, outcome and method, statistics, animals,
procedures, results per timepoint, adverse events) and what the authors must still write.

Every number comes in through one function, `gather`, which reads the study; one function
per item (`study_design_item` ... `results_item`) turns those inputs into the item's
facts, tables and to-dos without reading the database; `arrive_report` wires the two.
The design, reference, frames and statistics come from `analysis.inputs`
(`analysis_inputs`, `study_statistics`) as for the dashboard and the exports, the
summary table from the summary export, and the doses not given, dose counts and adverse
events from the completeness page's selectors (`analysis.selectors`), so the report,
the exports, the dashboard and the completeness page agree by construction.

Reads only; must not write, and must not restate a rule a selector already holds (which
dose counts as given, missed or void; which observation is a live adverse event).

ARRIVE 2.0: Percie du Sert et al. 2020, PLoS Biol 18(7): e3000410.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from dataclasses import dataclass, field

import pandas as pd
from scipy import stats as scipy_stats

from analysis import exports, frames, methods_text, presentation, selectors, thresholds
from analysis.inputs import OUTCOMES, AnalysisInputs, study_statistics
from labstudy import audit


@dataclass
class Fact:
    label: str
    text: str
    url: str = ""  # a page of the study the fact comes from


@dataclass
class Table:
    caption: str
    header: list[str]
    rows: list[list[str]]


@dataclass
class ArriveItem:
    number: int
    title: str
    asks: str
    recorded: list[Fact] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    to_write: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.to_write


@dataclass
class ArriveReport:
    study: object
    method: str
    items: list[ArriveItem]

    @property
    def method_name(self) -> str:
        return thresholds.method_name(self.method)

    @property
    def to_write_count(self) -> int:
        return sum(len(item.to_write) for item in self.items)


# The order `selectors.dosing_compliance` counts doses in, with the completeness page's words.
DOSE_COUNTS = (
    ("given", "given"),
    ("missed", "missed"),
    ("refused", "refused"),
    ("not_recorded", "not recorded"),
    ("to_come", "still to come"),
)


def _n(value: float, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def treatment_text(group) -> str:
    """What a group's animals were given: the drug, or the vehicle a control group was
    injected with (by volume), else "no treatment". A route the study did not record (an
    imported group) is said so, not guessed."""
    from animals.services import is_dosed

    route = group.route or "route not recorded"
    if group.drug:
        dose = (
            f"{exports.csv_cell(group.dose_mg_kg)} mg/kg"
            if group.dose_mg_kg
            else "dose not recorded"
        )
        return f"{group.drug} {dose} {route}"
    if is_dosed(group):
        vehicle = group.vehicle or "vehicle"
        return f"vehicle ({vehicle}) {exports.csv_cell(group.volume_ml_kg)} ml/kg {route}"
    return "no treatment"


# ----------------------------------------------------------------------------- inputs


@dataclass
class ArriveInputs:
    """What the report shows, read once. `timepoints`, `phases`, `baseline`, `control`,
    `sessions` and `dropped` come from `analysis_inputs` (the design's `TimepointInfo`
    and `PhaseInfo`, the reference with data), `summary` is the summary export;
    `dose_counts`, `not_given` and `adverse_events` are the completeness page's."""

    study: object
    method: str
    today: dt.date
    groups: list
    animals: list
    timepoints: list
    phases: list
    filaments: list
    baseline: str | None
    control: str | None
    sessions: pd.DataFrame
    summary: pd.DataFrame
    dropped: list[str]
    voided_sessions: list[tuple[str, str, str]]
    allocations: list[str]
    unblinding: list[str]
    first_weights_g: list[float]
    surgeries: Counter
    missing: list[list[str]]
    dose_counts: dict[str, int]
    not_given: pd.DataFrame
    adverse_events: pd.DataFrame

    @property
    def n_by_group(self) -> Counter:
        return Counter(a.group.code for a in self.animals if a.group)


def gather(study, *, method: str | None = None, today: dt.date | None = None) -> ArriveInputs:
    """Every read the report needs, in one place: the analysis numbers from
    `analysis_inputs` (through the export's, so the summary export is computed on the very
    same frames) and `study_statistics`, and the completeness page's dose and
    adverse-event selectors."""
    from django.utils import timezone

    from animals.models import Animal
    from sessions.models import TestSession

    today = today or timezone.localdate()
    export = exports.StudyExport(study, method=method)
    numbers = export.inputs
    compliance = selectors.dosing_compliance(study, design=numbers.design, today=today)
    animals = list(Animal.objects.filter(study=study).select_related("group").order_by("code"))
    _, grid = selectors.completeness(
        study, design=numbers.design, sessions=numbers.sessions, today=today
    )
    voided_sessions = list(
        TestSession.objects.filter(animal__study=study, status=TestSession.Status.VOIDED)
        .order_by("timepoint__day", "animal__code")
        .values_list("animal__code", "timepoint__label", "void_reason")
    )
    return ArriveInputs(
        study=study,
        method=numbers.method,
        today=today,
        groups=list(study.groups.order_by("order", "code")),
        animals=animals,
        timepoints=list(numbers.design.timepoints),
        phases=list(numbers.design.phases),
        filaments=frames.filaments_of(study),
        baseline=numbers.baseline,
        control=numbers.control,
        sessions=numbers.sessions,
        summary=export.summary(),
        dropped=_dropped(numbers),
        voided_sessions=voided_sessions,
        allocations=_allocations(study),
        unblinding=_unblinding(study),
        first_weights_g=_first_weights_g(study),
        surgeries=_surgeries(study),
        missing=missing_measurements(grid, animals),
        dose_counts={key: int(compliance[key].sum()) for key, _ in DOSE_COUNTS},
        not_given=selectors.doses_not_given(study),
        adverse_events=selectors.adverse_events(study),
    )


def _dropped(numbers: AnalysisInputs) -> list[str]:
    """Animals a complete-case test (Friedman, ANOVA) left out, for either outcome. The
    mixed model, which drops no animal, is not fitted for this."""
    tables = [study_statistics(numbers, outcome, mixed_model=False).table for outcome in OUTCOMES]
    return methods_text.dropped_animals(pd.concat(tables, ignore_index=True))


def arrive_report(study, *, method: str | None = None) -> ArriveReport:
    """The ten items, in order, for `study` with its thresholds by `method` (the
    study's own when None)."""
    inputs = gather(study, method=method)
    study = inputs.study
    groups, animals, n_by_group = inputs.groups, inputs.animals, inputs.n_by_group
    items = [
        study_design_item(
            study,
            groups=groups,
            n_by_group=n_by_group,
            timepoints=inputs.timepoints,
            phases=inputs.phases,
            baseline=inputs.baseline,
        ),
        sample_size_item(
            groups=groups, animals=animals, n_by_group=n_by_group, plan=latest_plan(study)
        ),
        inclusion_exclusion_item(
            animals=animals,
            sessions=inputs.sessions,
            voided_sessions=inputs.voided_sessions,
            missing=inputs.missing,
            dropped=inputs.dropped,
        ),
        randomisation_item(study, allocations=inputs.allocations),
        blinding_item(study, groups=groups, unblinding=inputs.unblinding),
        outcome_measures_item(
            study, filaments=inputs.filaments, method=inputs.method, baseline=inputs.baseline
        ),
        statistical_methods_item(study, control=inputs.control, dropped=inputs.dropped),
        experimental_animals_item(study, animals=animals, first_weights_g=inputs.first_weights_g),
        experimental_procedures_item(
            study,
            groups=groups,
            surgeries=inputs.surgeries,
            dose_counts=inputs.dose_counts,
            not_given=inputs.not_given,
            filaments=inputs.filaments,
            method=inputs.method,
        ),
        results_item(
            summary=inputs.summary,
            method=inputs.method,
            adverse_events=inputs.adverse_events,
            cutoff_g=study.ceiling_g,
            baseline=inputs.baseline,
        ),
    ]
    return ArriveReport(study=study, method=inputs.method, items=items)


# ----------------------------------------------------------------------------- items


def study_design_item(
    study, *, groups: list, n_by_group: Counter, timepoints: list, phases: list, baseline
) -> ArriveItem:
    """1: the groups with their treatment, control and n; model, unit, timepoints, phases."""
    item = ArriveItem(
        1,
        "Study design",
        "The groups compared, including controls, and the experimental unit.",
    )
    item.tables.append(
        Table(
            "Groups",
            ["code", "name", "treatment", "control", "solution letter", "n animals"],
            [
                [
                    g.code,
                    g.name,
                    treatment_text(g),
                    "yes" if g.is_control else "",
                    g.coded_letter,
                    str(n_by_group.get(g.code, 0)),
                ]
                for g in groups
            ],
        )
    )
    item.recorded.append(Fact("Model", study.get_model_display()))
    item.recorded.append(
        Fact(
            "Experimental unit",
            "the individual animal: one threshold per animal, timepoint and paw "
            f"({study.get_paw_tested_display().lower()})",
        )
    )
    if timepoints:
        item.recorded.append(
            Fact(
                "Repeated measures",
                f"{_plural(len(timepoints), 'timepoint')}: "
                + ", ".join(f"{t.label} (day {t.day})" for t in timepoints)
                + (f"; baseline {baseline}" if baseline else ""),
            )
        )
    if phases:
        item.recorded.append(
            Fact(
                "Phases",
                "; ".join(
                    f"{p.code} {p.name}, days {p.first_day}–{p.last_day}"
                    + (" (dosed)" if p.dosed else "")
                    for p in phases
                ),
            )
        )
    if not any(g.is_control for g in groups):
        item.to_write.append(
            "No group is marked as the control: name the control group, or explain why "
            "there is none."
        )
    return item


def latest_plan(study):
    """The study's latest finished sample-size plan (labstudy.models.SampleSizePlan)."""
    from labstudy.models import SampleSizePlan

    return (
        SampleSizePlan.objects.filter(study=study, status=SampleSizePlan.Status.DONE)
        .order_by("-created_at", "-pk")
        .first()
    )


def sample_size_item(*, groups: list, animals: list, n_by_group: Counter, plan=None) -> ArriveItem:
    """2: n per group and in total, the animals not allocated, and (2b) the latest
    sample-size plan made from this study's data, quoted with a link to it."""
    item = ArriveItem(
        2,
        "Sample size",
        "The number of animals in each group and in total, and how it was decided.",
    )
    unallocated = [a.code for a in animals if a.group is None]
    item.recorded.append(
        Fact(
            "Animals",
            f"{len(animals)} in total; "
            + ", ".join(f"{g.code} n = {n_by_group.get(g.code, 0)}" for g in groups)
            + (f"; not allocated: {', '.join(unallocated)}" if unallocated else ""),
        )
    )
    if plan is not None:
        from django.urls import reverse

        item.recorded.append(
            Fact(
                "Sample-size calculation (2b)",
                f"{plan.sentence} (plan {plan.pk}, {plan.created_at:%d %b %Y}.)",
                reverse("study_planning_plan", args=[plan.study.slug, plan.pk]),
            )
        )
        item.to_write.append(
            "Check that the sample-size calculation quoted is the one this study was "
            "planned with (a calculation from this study's own data plans the next one)."
        )
        return item
    item.to_write.append(
        "How the sample size was decided (e.g. a power calculation: effect size, variability, "
        "power and significance level), or why no calculation was done. The Sample size "
        "page (Results) calculates one from a pilot study's data."
    )
    return item


def inclusion_exclusion_item(
    *,
    animals: list,
    sessions: pd.DataFrame,
    voided_sessions: list[tuple[str, str, str]],
    missing: list[list[str]],
    dropped: list[str],
) -> ArriveItem:
    """3: animals out of the study with the reason, voided sessions, missing thresholds,
    animals the complete-case tests dropped, unfinished series and imported thresholds."""
    item = ArriveItem(
        3,
        "Inclusion and exclusion criteria",
        "Criteria set in advance, every animal or data point left out with the reason, "
        "and the exact n in each analysis.",
    )
    out = [a for a in animals if a.status != a.Status.ACTIVE]
    if out:
        item.tables.append(
            Table(
                "Animals no longer in the study",
                ["animal", "group", "status", "date", "reason"],
                [
                    [
                        a.code,
                        a.group.code if a.group else "",
                        a.get_status_display(),
                        exports.csv_cell(a.status_date),
                        a.status_reason,
                    ]
                    for a in out
                ],
            )
        )
    else:
        item.recorded.append(Fact("Animals excluded", "none: every animal is active"))
    if voided_sessions:
        item.tables.append(
            Table(
                "Voided test sessions (left out of every analysis)",
                ["animal", "timepoint", "reason"],
                [list(v) for v in voided_sessions],
            )
        )
    if missing:
        item.tables.append(
            Table(
                "Allocated animals without a threshold at a timepoint",
                ["animal", "group", "timepoints"],
                missing,
            )
        )
    if dropped:
        item.recorded.append(
            Fact(
                "Left out of Friedman and ANOVA",
                f"{', '.join(dropped)} (a missing timepoint); the mixed model keeps them",
            )
        )
    incomplete = sessions[sessions["status"] == "incomplete"] if len(sessions) else sessions
    if len(incomplete):
        item.recorded.append(
            Fact(
                "Incomplete series",
                f"{_plural(len(incomplete), 'session')} without a threshold (series not "
                "finished): left out of the analyses",
            )
        )
    legacy = int((sessions["source"] == exports.SOURCE_LEGACY).sum()) if len(sessions) else 0
    if legacy:
        item.recorded.append(
            Fact(
                "Imported thresholds",
                f"{legacy} thresholds were imported without the individual responses "
                "(flagged legacy_thresholds)",
            )
        )
    item.to_write.append(
        "The inclusion and exclusion criteria set before the study (e.g. the model was "
        "confirmed when the injured paw withdrew at 26 g or less at the post-injury "
        "baseline), and whether they were set a priori."
    )
    return item


def randomisation_item(study, *, allocations: list[str]) -> ArriveItem:
    """4: the allocation records and whether the bench order was randomised."""
    item = ArriveItem(
        4,
        "Randomisation",
        "Whether and how animals were randomised to groups, and how confounders such as "
        "the order of testing were controlled.",
    )
    if allocations:
        for allocation in allocations:
            item.recorded.append(Fact("Allocation", allocation))
    else:
        item.to_write.append(
            "How animals were allocated to groups (no allocation record in labstudy: "
            "the groups were set directly)."
        )
    if study.randomise_test_order:
        item.recorded.append(
            Fact(
                "Order of testing",
                f"animals listed in a seeded random order at the bench (seed {study.order_seed})",
            )
        )
    else:
        item.to_write.append(
            "How the order of testing and dosing, and cage position, were handled to limit "
            "confounding (the bench order was not randomised in labstudy)."
        )
    return item


def blinding_item(study, *, groups: list, unblinding: list[str]) -> ArriveItem:
    """5: whether outcome assessment was blinded, and when the study was unblinded."""
    item = ArriveItem(
        5,
        "Blinding",
        "Who was aware of group allocation at each stage of the experiment.",
    )
    if study.blinded:
        item.recorded.append(
            Fact(
                "Outcome assessment",
                "technicians recording von Frey responses saw coded solution letters ("
                + ", ".join(g.coded_letter for g in groups if g.coded_letter)
                + "), never group names or doses; exports and results were closed to them",
            )
        )
    elif unblinding:
        item.recorded.append(Fact("Outcome assessment", "blinded until the study was unblinded"))
    else:
        item.recorded.append(Fact("Outcome assessment", "the study was not blinded in labstudy"))
    for text in unblinding:
        item.recorded.append(Fact("Unblinded", text))
    item.to_write.append(
        "Who knew the allocation during allocation, the conduct of the experiment (dosing), "
        "outcome assessment and data analysis, and how the solutions were coded."
    )
    return item


def outcome_measures_item(study, *, filaments: list, method: str, baseline) -> ArriveItem:
    """6: the withdrawal threshold (filaments, paw, method, cut-off) and %MPE."""
    item = ArriveItem(
        6,
        "Outcome measures",
        "Each outcome measure, defined, and the primary outcome when the study tests a hypothesis.",
    )
    item.recorded.append(
        Fact(
            "Mechanical withdrawal threshold (g)",
            f"von Frey filaments ({study.filament_set.name}, {len(filaments)} filaments "
            f"{filaments[0].grams:g}–{filaments[-1].grams:g} g) on the "
            f"{study.get_paw_tested_display().lower()}; method: "
            f"{exports.method_label(method)}; cut-off {study.cutoff_g:g} g",
        )
    )
    if method in thresholds.BLOCK_FAMILY:
        item.recorded.append(
            Fact(
                "Applications per filament and criterion",
                methods_text.block_method_sentence(study, method, filaments),
            )
        )
    if baseline:
        item.recorded.append(
            Fact(
                "%MPE",
                f"(threshold − {baseline} threshold) / ({study.ceiling_g:g} g − {baseline} "
                "threshold) × 100 per animal",
            )
        )
    item.to_write.append(
        "Which outcome is primary (the one the sample size was based on), if the study "
        "tests a hypothesis."
    )
    return item


def statistical_methods_item(study, *, control, dropped: list[str]) -> ArriveItem:
    """7: the tests within and between groups, alpha, software and missing data."""
    item = ArriveItem(
        7,
        "Statistical methods",
        "The tests used for each analysis, the software, and how assumptions were checked.",
    )
    family = study.comparison_family
    within = methods_text.within_posthoc_sentence(family)
    between = methods_text.between_posthoc_sentence(family, study.posthoc, control=control)
    if family == "all_pairs":
        within = "Nemenyi post-hoc (PMCMRplus::frdAllPairsNemenyiTest)"
        between += f" vs {control}" if control else ""
    item.recorded.append(
        Fact(
            "Within groups",
            "Friedman test"
            + (f" with {within} where significant" if within else "")
            + "; repeated-measures ANOVA with Mauchly's test and Greenhouse–Geisser "
            "/ Huynh–Feldt corrections",
        )
    )
    item.recorded.append(
        Fact(
            "Between groups",
            "Kruskal–Wallis test at each timepoint"
            + (f", then {between} where significant" if between else "")
            + "; area under the curve; linear mixed model (random intercept per animal)",
        )
    )
    comparisons = methods_text.family_sentence(family, study.chosen_pairs())
    basis = methods_text.basis_sentence(study.comparison_basis, family)
    item.recorded.append(Fact("Comparisons tested", f"{comparisons} {basis}".strip()))
    item.recorded.append(Fact("Significance level", f"alpha = {study.alpha:g}, two-sided"))
    versions = methods_text.software_versions()
    item.recorded.append(
        Fact("Software", ", ".join(f"{name} {version}" for name, version in versions.items()))
    )
    if dropped:
        item.recorded.append(
            Fact("Missing data", f"complete-case tests left out {', '.join(dropped)}")
        )
    item.to_write.append(
        "How you checked that the data met the assumptions of the tests (e.g. normality of "
        "residuals for the ANOVA and the mixed model), and what you did if they did not."
    )
    return item


def experimental_animals_item(study, *, animals: list, first_weights_g: list[float]) -> ArriveItem:
    """8: species, strain, sexes, age at arrival and body weight at first weighing."""
    item = ArriveItem(
        8,
        "Experimental animals",
        "Species, strain, sex, age or developmental stage, weight, and source.",
    )
    sexes = Counter(a.get_sex_display().lower() for a in animals)
    item.recorded.append(
        Fact(
            "Animals",
            f"{study.species}, strain {study.strain or '(not recorded)'}; "
            + ", ".join(f"{n} {sex}" for sex, n in sexes.items()),
        )
    )
    ages = [a.age_at_arrival_weeks for a in animals if a.age_at_arrival_weeks is not None]
    if ages:
        item.recorded.append(
            Fact(
                "Age at arrival",
                f"{min(ages)}–{max(ages)} weeks" if min(ages) != max(ages) else f"{ages[0]} weeks",
            )
        )
    else:
        item.to_write.append("The age of the animals (not recorded in labstudy).")
    if first_weights_g:
        values = first_weights_g
        mean = sum(values) / len(values)
        sd = (
            math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
            if len(values) > 1
            else math.nan
        )
        item.recorded.append(
            Fact(
                "Body weight at first weighing",
                f"{_n(mean)} ± {_n(sd)} g (mean ± SD, n = {len(values)}; range "
                f"{min(values):g}–{max(values):g} g)",
            )
        )
    item.to_write.append(
        "The source (supplier or breeding colony), health status, and any previous "
        "procedures or genetic modification."
    )
    return item


def experimental_procedures_item(
    study,
    *,
    groups: list,
    surgeries: Counter,
    dose_counts: dict[str, int],
    not_given: pd.DataFrame,
    filaments: list,
    method: str,
) -> ArriveItem:
    """9: surgery, each group's treatment, the doses (given, missed, refused...) with
    every dose not given, and the von Frey procedure."""
    item = ArriveItem(
        9,
        "Experimental procedures",
        "For each group, what was done, how, when and where, in enough detail to repeat it.",
    )
    for (procedure, side, anaesthesia), n in surgeries.items():
        item.recorded.append(
            Fact(
                "Surgery",
                f"{procedure}, {side} side, in {_plural(n, 'animal')}"
                + (f"; anaesthesia: {anaesthesia}" if anaesthesia else ""),
            )
        )
    if not surgeries:
        item.to_write.append("The surgery or model induction (no surgery records in labstudy).")
    for g in groups:
        fact = _treatment_fact(g)
        if fact:
            item.recorded.append(fact)
    if any(dose_counts.values()):
        item.recorded.append(Fact("Doses", doses_sentence(dose_counts)))
    if len(not_given):
        item.tables.append(doses_not_given_table(not_given))
    start = next((f for f in filaments if f.size == study.start_filament), None)
    item.recorded.append(
        Fact(
            "von Frey testing",
            f"start filament {study.start_filament}"
            + (f" ({start.grams:g} g)" if start else "")
            + "; one filament down after a withdrawal, one up after none; "
            f"{exports.method_label(method).lower()}",
        )
    )
    item.to_write.append(
        "Where and when procedures were done (facility, time of day, habituation to the "
        "testing apparatus), housing and husbandry, analgesia and welfare monitoring."
    )
    return item


def _treatment_fact(group) -> Fact | None:
    treatment = treatment_text(group)
    if treatment == "no treatment":
        return None
    parts = [treatment]
    if group.drug and group.vehicle:
        parts.append(f"in {group.vehicle}")
    if group.concentration_mg_ml:
        parts.append(f"{exports.csv_cell(group.concentration_mg_ml)} mg/ml")
    if group.volume_ml_kg and group.drug:
        parts.append(f"{exports.csv_cell(group.volume_ml_kg)} ml/kg")
    return Fact(f"Treatment, {group.code}", ", ".join(parts))


def doses_sentence(dose_counts: dict[str, int]) -> str:
    """ "522 given, 1 missed, 1 refused": `selectors.dosing_compliance` summed over the
    animals, categories with no dose left out. Voided records are not doses."""
    return ", ".join(
        f"{dose_counts[key]} {words}" for key, words in DOSE_COUNTS if dose_counts.get(key)
    )


def doses_not_given_table(not_given: pd.DataFrame) -> Table:
    """`selectors.doses_not_given` (the completeness page's list) as a table."""
    return Table(
        "Doses not given",
        ["animal", "day", "status", "reason"],
        [[r.animal, str(r.day), r.status, r.reason] for r in not_given.itertuples(index=False)],
    )


def results_item(
    *,
    summary: pd.DataFrame,
    method: str,
    adverse_events: pd.DataFrame,
    cutoff_g: float = thresholds.DEFAULT_CUTOFF_G,
    baseline: str | None = None,
) -> ArriveItem:
    """10: threshold and %MPE per group and timepoint with a 95 % CI, how many animals sat
    at the cut-off (their values are bounds, so the mean and CI there are too), and
    adverse events."""
    item = ArriveItem(
        10,
        "Results",
        "For each analysis, summary statistics with a measure of variability, and the "
        "effect size with a confidence interval.",
    )
    header = [
        "group", "timepoint", "day", "n", "mean ± SEM (g)", "95% CI (g)", "%MPE mean ± SEM",
        f"n at the {cutoff_g:g} g cut-off",
    ]  # fmt: skip
    rows = [
        _summary_row(r, cutoff_g=cutoff_g, baseline=baseline)
        for r in summary.itertuples(index=False)
    ]
    item.tables.append(
        Table(
            f"Withdrawal threshold (g, {thresholds.method_name(method)}) and %MPE per "
            "group and timepoint",
            header,
            rows,
        )
    )
    held = [
        presentation.censored_sentence(
            group=r.group,
            timepoint=r.timepoint,
            n=int(r.n),
            n_at_cutoff=int(r.n_at_cutoff),
            cutoff_g=cutoff_g,
            n_at_lowest=int(r.n_at_lowest),
        )
        for r in summary.itertuples(index=False)
        if getattr(r, "n_at_cutoff", 0) or getattr(r, "n_at_lowest", 0)
    ]
    if held:
        item.recorded.append(Fact("Values at the cut-off", " ".join(held)))
    if len(adverse_events):
        item.tables.append(adverse_events_table(adverse_events))
    else:
        item.recorded.append(Fact("Adverse events", "none recorded"))
    item.to_write.append(
        "Effect sizes with confidence intervals for the comparisons you report (e.g. the "
        "difference from control at each timepoint), and their interpretation."
    )
    return item


def _summary_row(r, *, cutoff_g: float = thresholds.DEFAULT_CUTOFF_G, baseline=None) -> list[str]:
    n_at_cutoff = int(getattr(r, "n_at_cutoff", 0) or 0)
    low = high = math.nan
    if r.n > 1 and not math.isnan(r.sem):
        t = float(scipy_stats.t.ppf(0.975, r.n - 1))
        low, high = r.mean - t * r.sem, r.mean + t * r.sem
    if n_at_cutoff and n_at_cutoff == r.n:
        # Every value is the cut-off: SD 0 and a "CI" of zero width, which is no interval.
        ci = f"none: all {r.n} at the {cutoff_g:g} g cut-off (bounded, not measured)"
    elif n_at_cutoff:
        ci = f"{_n(low)} to {_n(high)} (bounded: {n_at_cutoff} of {r.n} at the cut-off)"
    else:
        ci = f"{_n(low)} to {_n(high)}"
    mpe = (
        "0 by definition (baseline)"
        if baseline is not None and r.timepoint == baseline
        else f"{_n(r.mpe_mean)} ± {_n(r.mpe_sem)}"
    )
    return [
        r.group,
        r.timepoint,
        exports.csv_cell(r.day),
        str(r.n),
        f"{_n(r.mean)} ± {_n(r.sem)}",
        ci,
        mpe,
        str(n_at_cutoff),
    ]


def adverse_events_table(adverse_events: pd.DataFrame) -> Table:
    """`selectors.adverse_events` (the completeness page's list) as a table."""
    return Table(
        "Adverse events",
        ["animal", "group", "day", "event", "severity", "notes"],
        [
            [r.animal, r.group or "", str(r.day), r.term, r.severity, r.notes]
            for r in adverse_events.itertuples(index=False)
        ],
    )


# ----------------------------------------------------------------------------- reads


def missing_measurements(grid: pd.DataFrame, animals: list) -> list[list[str]]:
    """Allocated animals without a threshold at a timepoint that was due while they were
    in the study: [animal, group, "T1, T3"] rows, read off the completeness page's grid
    (`selectors.completeness`), so an animal out of the study is not counted missing
    where that page says "not expected", and nothing not yet due is listed."""
    group_of = {a.code: a.group.code for a in animals if a.group is not None}
    left_out = {selectors.CELL_UPCOMING, selectors.CELL_NOT_EXPECTED, selectors.CELL_IMPORTED}
    gaps = grid[
        grid["animal"].isin(group_of) & ~grid["state"].isin(left_out) & grid["value"].isna()
    ]
    labels = gaps.groupby("animal", sort=False)["timepoint"].agg(list)
    return [
        [code, group_of[code], ", ".join(labels[code])]
        for code in sorted(group_of)
        if code in labels.index
    ]


def _first_weights_g(study) -> list[float]:
    """Each animal's first live body weight (g), in animal code order."""
    from animals.models import BodyWeight

    first: dict[str, float] = {}
    for code, grams in (
        BodyWeight.objects.filter(animal__study=study, voided=False)
        .order_by("animal__code", "date")
        .values_list("animal__code", "grams")
    ):
        first.setdefault(code, float(grams))
    return list(first.values())


def _surgeries(study) -> Counter:
    from animals.models import Surgery

    return Counter(
        Surgery.objects.filter(animal__study=study).values_list("procedure", "side", "anaesthesia")
    )


def _allocations(study) -> list[str]:
    try:
        from animals.models import Allocation
    except ImportError:  # allocation records arrived with a later migration
        return []
    out = []
    for a in Allocation.objects.filter(study=study).order_by("created_at"):
        text = f"{a.get_method_display()}, seed {a.seed}"
        if a.block_size:
            text += f", blocks of {a.block_size}"
        if a.baseline_timepoint:
            text += f", stratified on {a.baseline_timepoint} thresholds"
        text += f"; {len(a.animal_codes)} animals, recorded {a.created_at.date().isoformat()}"
        if a.reason:
            text += f"; re-allocation because: {a.reason}"
        if a.superseded_at:
            text += f"; superseded on {a.superseded_at.date().isoformat()}"
        out.append(text)
    return out


def _unblinding(study) -> list[str]:
    """Each unblinding in the study's history, as "when by whom: why"."""
    return [
        f"{exports.csv_cell(when)} by {user or 'unknown'}: {reason.removeprefix('unblinded: ')}"
        for when, user, reason in audit.unblinding_events(study)
    ]
