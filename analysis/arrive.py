"""The ARRIVE 2.0 Essential 10, filled in from what the study records.

For each item it lists what labstudy already knows (design, groups and n, exclusions
with reasons, randomisation, blinding, outcome and method, statistics, animals,
procedures, results per timepoint) and what the authors must still write. Reads only;
the numbers come from `analysis.exports.StudyExport`, so the report, the exports and
the dashboard agree.

ARRIVE 2.0: Percie du Sert et al. 2020, PLoS Biol 18(7): e3000410.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from scipy import stats as scipy_stats

from analysis import exports, frames, thresholds


@dataclass
class Fact:
    label: str
    text: str


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


def arrive_report(study, *, method: str | None = None) -> ArriveReport:
    from animals.models import (
        DOSE_VOIDED,
        Animal,
        BodyWeight,
        DoseAdministration,
        Observation,
        Surgery,
    )
    from sessions.models import TestSession

    export = exports.StudyExport(study, method=method)
    sessions = export.sessions
    control, baseline = export.design
    groups = list(study.groups.order_by("order", "code"))
    animals = list(Animal.objects.filter(study=study).select_related("group").order_by("code"))
    timepoints = list(study.timepoints.order_by("day"))
    phases = list(study.phases.order_by("first_day"))
    n_by_group = Counter(a.group.code for a in animals if a.group)
    unallocated = [a.code for a in animals if a.group is None]
    items = []

    # 1 Study design ------------------------------------------------------------
    item = ArriveItem(
        1,
        "Study design",
        "The groups compared, including controls, and the experimental unit.",
    )
    group_rows = []
    for g in groups:
        group_rows.append(
            [
                g.code,
                g.name,
                treatment_text(g),
                "yes" if g.is_control else "",
                g.coded_letter,
                str(n_by_group.get(g.code, 0)),
            ]
        )
    item.tables.append(
        Table(
            "Groups",
            ["code", "name", "treatment", "control", "solution letter", "n animals"],
            group_rows,
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
    items.append(item)

    # 2 Sample size -------------------------------------------------------------
    item = ArriveItem(
        2,
        "Sample size",
        "The number of animals in each group and in total, and how it was decided.",
    )
    item.recorded.append(
        Fact(
            "Animals",
            f"{len(animals)} in total; "
            + ", ".join(f"{g.code} n = {n_by_group.get(g.code, 0)}" for g in groups)
            + (f"; not allocated: {', '.join(unallocated)}" if unallocated else ""),
        )
    )
    item.to_write.append(
        "How the sample size was decided (e.g. a power calculation: effect size, variability, "
        "power and significance level), or why no calculation was done."
    )
    items.append(item)

    # 3 Inclusion and exclusion criteria ---------------------------------------
    item = ArriveItem(
        3,
        "Inclusion and exclusion criteria",
        "Criteria set in advance, every animal or data point left out with the reason, "
        "and the exact n in each analysis.",
    )
    out = [a for a in animals if a.status != Animal.Status.ACTIVE]
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
    voided = list(
        TestSession.objects.filter(animal__study=study, status=TestSession.Status.VOIDED)
        .order_by("timepoint__day", "animal__code")
        .values_list("animal__code", "timepoint__label", "void_reason")
    )
    if voided:
        item.tables.append(
            Table(
                "Voided test sessions (left out of every analysis)",
                ["animal", "timepoint", "reason"],
                [list(v) for v in voided],
            )
        )
    missing = _missing_measurements(sessions, animals, timepoints)
    if missing:
        item.tables.append(
            Table(
                "Allocated animals without a threshold at a timepoint",
                ["animal", "group", "timepoints"],
                missing,
            )
        )
    dropped = exports._dropped_animals(export.statistics)
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
    items.append(item)

    # 4 Randomisation ----------------------------------------------------------
    item = ArriveItem(
        4,
        "Randomisation",
        "Whether and how animals were randomised to groups, and how confounders such as "
        "the order of testing were controlled.",
    )
    allocations = _allocations(study)
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
    items.append(item)

    # 5 Blinding ---------------------------------------------------------------
    item = ArriveItem(
        5,
        "Blinding",
        "Who was aware of group allocation at each stage of the experiment.",
    )
    unblinding = _unblinding(study)
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
    items.append(item)

    # 6 Outcome measures -------------------------------------------------------
    item = ArriveItem(
        6,
        "Outcome measures",
        "Each outcome measure, defined, and the primary outcome when the study tests a hypothesis.",
    )
    filaments = frames.filaments_of(study)
    item.recorded.append(
        Fact(
            "Mechanical withdrawal threshold (g)",
            f"von Frey filaments ({study.filament_set.name}, {len(filaments)} filaments "
            f"{filaments[0].grams:g}–{filaments[-1].grams:g} g) on the "
            f"{study.get_paw_tested_display().lower()}; method: "
            f"{exports.method_label(export.method)}; cut-off {study.cutoff_g:g} g",
        )
    )
    if baseline:
        item.recorded.append(
            Fact(
                "%MPE",
                f"(threshold − {baseline} threshold) / ({study.cutoff_g:g} g − {baseline} "
                "threshold) × 100 per animal",
            )
        )
    item.to_write.append(
        "Which outcome is primary (the one the sample size was based on), if the study "
        "tests a hypothesis."
    )
    items.append(item)

    # 7 Statistical methods ----------------------------------------------------
    item = ArriveItem(
        7,
        "Statistical methods",
        "The tests used for each analysis, the software, and how assumptions were checked.",
    )
    item.recorded.append(
        Fact(
            "Within groups",
            "Friedman test with Nemenyi post-hoc (PMCMRplus::frdAllPairsNemenyiTest) where "
            "significant; repeated-measures ANOVA with Mauchly's test and Greenhouse–Geisser "
            "/ Huynh–Feldt corrections",
        )
    )
    item.recorded.append(
        Fact(
            "Between groups",
            "Kruskal–Wallis test at each timepoint, then "
            + exports._posthoc_sentence(study.posthoc)
            + (f" vs {control}" if control else "")
            + " where significant; area under the curve; linear mixed model (random "
            "intercept per animal)",
        )
    )
    item.recorded.append(Fact("Significance level", f"alpha = {study.alpha:g}, two-sided"))
    versions = exports.software_versions()
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
    items.append(item)

    # 8 Experimental animals ---------------------------------------------------
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
    first_weights = {}
    for code, grams in (
        BodyWeight.objects.filter(animal__study=study, voided=False)
        .order_by("animal__code", "date")
        .values_list("animal__code", "grams")
    ):
        first_weights.setdefault(code, float(grams))
    if first_weights:
        values = list(first_weights.values())
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
    items.append(item)

    # 9 Experimental procedures ------------------------------------------------
    item = ArriveItem(
        9,
        "Experimental procedures",
        "For each group, what was done, how, when and where, in enough detail to repeat it.",
    )
    surgeries = Counter(
        Surgery.objects.filter(animal__study=study).values_list("procedure", "side", "anaesthesia")
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
        treatment = treatment_text(g)
        if treatment == "no treatment":
            continue
        parts = [treatment]
        if g.drug and g.vehicle:
            parts.append(f"in {g.vehicle}")
        if g.concentration_mg_ml:
            parts.append(f"{exports.csv_cell(g.concentration_mg_ml)} mg/ml")
        if g.volume_ml_kg and g.drug:
            parts.append(f"{exports.csv_cell(g.volume_ml_kg)} ml/kg")
        item.recorded.append(Fact(f"Treatment, {g.code}", ", ".join(parts)))
    doses = Counter(
        DOSE_VOIDED if voided else status
        for status, voided in DoseAdministration.objects.filter(animal__study=study).values_list(
            "status", "voided"
        )
    )
    if doses:
        item.recorded.append(
            Fact(
                "Doses",
                ", ".join(f"{n} {status}" for status, n in sorted(doses.items())),
            )
        )
        not_given = list(
            DoseAdministration.objects.filter(animal__study=study, voided=False)
            .exclude(status__in=["given", "scheduled"])
            .order_by("scheduled_date")
            .values_list("animal__code", "study_day", "status", "reason")
        )
        if not_given:
            item.tables.append(
                Table(
                    "Doses not given",
                    ["animal", "day", "status", "reason"],
                    [[a, str(d), s, r] for a, d, s, r in not_given],
                )
            )
    start = next((f for f in filaments if f.size == study.start_filament), None)
    item.recorded.append(
        Fact(
            "von Frey testing",
            f"start filament {study.start_filament}"
            + (f" ({start.grams:g} g)" if start else "")
            + "; one filament down after a withdrawal, one up after none; "
            f"{exports.method_label(export.method).lower()}",
        )
    )
    item.to_write.append(
        "Where and when procedures were done (facility, time of day, habituation to the "
        "testing apparatus), housing and husbandry, analgesia and welfare monitoring."
    )
    items.append(item)

    # 10 Results ---------------------------------------------------------------
    item = ArriveItem(
        10,
        "Results",
        "For each analysis, summary statistics with a measure of variability, and the "
        "effect size with a confidence interval.",
    )
    summary = export.summary()
    rows = []
    for r in summary.itertuples(index=False):
        low = high = math.nan
        if r.n > 1 and not math.isnan(r.sem):
            t = float(scipy_stats.t.ppf(0.975, r.n - 1))
            low, high = r.mean - t * r.sem, r.mean + t * r.sem
        rows.append(
            [
                r.group,
                r.timepoint,
                exports.csv_cell(r.day),
                str(r.n),
                f"{_n(r.mean)} ± {_n(r.sem)}",
                f"{_n(low)} to {_n(high)}",
                f"{_n(r.mpe_mean)} ± {_n(r.mpe_sem)}",
            ]
        )
    item.tables.append(
        Table(
            f"Withdrawal threshold (g, {thresholds.method_name(export.method)}) and %MPE per "
            "group and timepoint",
            ["group", "timepoint", "day", "n", "mean ± SEM (g)", "95% CI (g)", "%MPE mean ± SEM"],
            rows,
        )
    )
    events = list(
        Observation.objects.filter(
            animal__study=study, voided=False, kind=Observation.Kind.ADVERSE_EVENT
        )
        .order_by("date")
        .values_list("animal__code", "animal__group__code", "date", "term", "severity", "notes")
    )
    if events:
        item.tables.append(
            Table(
                "Adverse events",
                ["animal", "group", "day", "event", "severity", "notes"],
                [
                    [a, g or "", str(study.day_of_date(d)), term, sev, notes]
                    for a, g, d, term, sev, notes in events
                ],
            )
        )
    else:
        item.recorded.append(Fact("Adverse events", "none recorded"))
    item.to_write.append(
        "Effect sizes with confidence intervals for the comparisons you report (e.g. the "
        "difference from control at each timepoint), and their interpretation."
    )
    items.append(item)
    return ArriveReport(study=study, method=export.method, items=items)


def _missing_measurements(sessions, animals, timepoints) -> list[list[str]]:
    have = set()
    if len(sessions):
        valued = sessions[sessions["threshold_g"].notna()]
        have = set(zip(valued["animal"], valued["timepoint"], strict=True))
    today_labels = [t.label for t in timepoints if t.date <= _today()]
    rows = []
    for a in animals:
        if a.group is None:
            continue
        gaps = [label for label in today_labels if (a.code, label) not in have]
        if gaps:
            rows.append([a.code, a.group.code, ", ".join(gaps)])
    return rows


def _today():
    from django.utils import timezone

    return timezone.localdate()


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
    rows = (
        study.history.filter(history_change_reason__startswith="unblinded")
        .order_by("history_date")
        .values_list("history_date", "history_user__username", "history_change_reason")
    )
    return [
        f"{exports.csv_cell(when)} by {user or 'unknown'}: {reason.removeprefix('unblinded: ')}"
        for when, user, reason in rows
    ]
