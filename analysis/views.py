"""Results pages: dashboard, mixed model, completeness, publication figure, animal page.

Thin: check that the user may see results (investigators and data managers; technicians
only where the study is not blinded to them, others get 404), call the selectors, turn
frames into chart JSON and table rows, render. Read-only.
"""

from __future__ import annotations

import pandas as pd
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from analysis import charts, frames, inputs, presentation, selectors, thresholds
from labstudy.access import StudyAccess, study_access
from labstudy.models import ThresholdMethod, comparable_methods

TEST_LABELS = {
    "friedman": "Friedman",
    "nemenyi_friedman": "Nemenyi after Friedman",
    "demsar_friedman": "Demsar (Holm) vs baseline after Friedman",
    "siegel_friedman": "Friedman-rank z (Holm), chosen pairs",
    "wilcoxon": "Wilcoxon signed-rank",
    "rm_anova": "Repeated-measures ANOVA",
    "rm_anova_gg": "RM-ANOVA, Greenhouse-Geisser",
    "rm_anova_hf": "RM-ANOVA, Huynh-Feldt",
    "mauchly": "Mauchly's sphericity test",
    "mixed_anova": "Mixed ANOVA (group × time)",
    "mixed_anova_gg": "Mixed ANOVA, Greenhouse-Geisser",
    "mixed_anova_hf": "Mixed ANOVA, Huynh-Feldt",
    "kruskal": "Kruskal-Wallis",
    "nemenyi_kruskal": "Nemenyi after Kruskal-Wallis",
    "dunn_kruskal": "Dunn (Holm) after Kruskal-Wallis",
    "dunn_vs_control": "Dunn (Holm) vs control after Kruskal-Wallis",
    "mann_whitney": "Mann-Whitney",
    "auc_kruskal": "AUC: Kruskal-Wallis",
    "auc_nemenyi_kruskal": "AUC: Nemenyi after Kruskal-Wallis",
    "auc_dunn_kruskal": "AUC: Dunn (Holm)",
    "auc_dunn_vs_control": "AUC: Dunn (Holm) vs control",
    "auc_mann_whitney": "AUC: Mann-Whitney",
    "mixed_model": "Linear mixed model",
    "emm": "Estimated marginal means (mixed model)",
}
SECTIONS = (
    ("within", "Within each group, over time"),
    ("between", "Between groups, at each timepoint"),
    ("group_time", "Group × time"),
    ("auc", "Area under the curve (whole time course)"),
    ("mixed_model", "Linear mixed model"),
)


def _results_access(request: HttpRequest, slug: str) -> StudyAccess:
    return study_access(request.user, slug, may="can_view_results")


# What a title calls each method: "Withdrawal threshold (g) by target force".
METHOD_SHORT = {
    "up_down": "Chaplan up-down",
    "first_response": "target force",
    "sudo": "simplified up-down (SUDO)",
    "ascending": "ascending method of limits",
    "percent_response": "percent response",
}
# A method parameter longer than any method's name is not one; it is echoed in the
# message cut to this length.
METHOD_PARAM_SHOWN = 40


def chosen_method(request: HttpRequest, study) -> tuple[str, str]:
    """The threshold method the page shows (`?method=`, a key or a file name such as
    "target_force") and a message when the parameter named no method: then the study's
    own method is shown. An empty or missing parameter is the study's method, silently."""
    raw = request.GET.get("method", "")
    if not raw.strip():
        return study.threshold_method, ""
    method = thresholds.method_key(raw) if len(raw) <= 64 else None
    if method in dict(comparable_methods(study.threshold_method)):
        return method, ""
    if method in ThresholdMethod.values:
        return study.threshold_method, (
            f"This study's series were recorded for "
            f"{ThresholdMethod(study.threshold_method).label.lower()}; they cannot be read by "
            f"{ThresholdMethod(method).label.lower()}: showing the study's own method."
        )
    shown = raw if len(raw) <= METHOD_PARAM_SHOWN else raw[:METHOD_PARAM_SHOWN] + "…"
    return study.threshold_method, (
        f"There is no threshold method “{shown}”: showing the study's own method, "
        f"{ThresholdMethod(study.threshold_method).label}."
    )


def _method_context(study, method: str, message: str) -> dict:
    """What the method switch on the dashboard and figure pages needs."""
    label = ThresholdMethod(method).label
    return {
        "method": method,
        "method_label": label,
        "method_short": METHOD_SHORT.get(method, label),
        "method_is_study": method == study.threshold_method,
        "method_message": message,
        "methods": comparable_methods(study.threshold_method),
        "method_query": "" if method == study.threshold_method else f"?method={method}",
    }


# ----------------------------------------------------------------------------- charts


def _mark_key(study, results: selectors.StudyResults, measure_results) -> charts.MarkKey:
    reference = results.reference
    groups_with_data = (
        measure_results.long["group"].nunique() if not measure_results.long.empty else 0
    )
    family = study.comparison_family
    if groups_with_data == 2:
        between = "Mann-Whitney"
    elif family == "vs_control":
        between = TEST_LABELS["dunn_vs_control"]
    elif study.posthoc == "dunn_holm":
        between = "Dunn (Holm) after Kruskal-Wallis"
    else:
        between = "Nemenyi after Kruskal-Wallis"
    within = {
        "vs_baseline": TEST_LABELS["demsar_friedman"],
        "pairs": TEST_LABELS["siegel_friedman"],
    }.get(family, "Nemenyi after Friedman")
    if study.comparison_basis == "model":
        model = "estimated marginal means of the mixed model"
        within = f"{model}, {'Tukey' if family == 'all_pairs' else 'Šidák'}"
        between = f"{model}, {'Tukey' if family == 'all_pairs' else 'Dunnett'}"
    return charts.MarkKey(
        alpha=study.alpha,
        baseline=reference.baseline,
        first_treated=reference.first_treated,
        control=reference.control,
        within_test=within,
        between_test=between,
        pairs=measure_results.pairs,
        family=family,
    )


def _chart(study, results: selectors.StudyResults, key: str, *, publication=False) -> dict:
    design = results.design
    measured = results.measure(key)
    measure = measured.measure
    figure_name = {"threshold": "fig2-threshold", "mpe": "fig3-mpe"}[key]
    method = results.analysed.method if results.analysed else study.threshold_method
    if method != study.threshold_method:
        figure_name += f"-{thresholds.method_name(method)}"
    method_label = METHOD_SHORT.get(method, method)
    title = (
        f"{measure.label} by {method_label}"
        if key == "threshold"
        else (f"%MPE of thresholds by {method_label}")
    )
    return charts.time_course(
        summary=measured.summary,
        animals=measured.long,
        marks=measured.marks,
        groups=[charts.GroupStyle(g.code, g.name, g.colour) for g in design.groups],
        phases=[charts.PhaseBand(p.code, p.name, p.first_day, p.last_day) for p in design.phases],
        timepoints=[(t.label, t.day) for t in design.timepoints],
        key=_mark_key(study, results, measured),
        y_title=measure.axis_title,
        unit=measure.unit,
        cutoff=study.ceiling_g if key == "threshold" else None,
        publication=publication,
        filename=f"{study.slug}-{figure_name}",
        cutoff_text=f"{study.ceiling_g:g} g cut-off",
        zero_at=results.reference.baseline if key == "mpe" else None,
        title="" if publication else title,
    )


# ----------------------------------------------------------------------------- tables


def _section(test: str, group) -> str:
    if test.startswith("auc_"):
        return "auc"
    if test == "mixed_model":
        return "mixed_model"
    if test == "emm":
        return "within" if isinstance(group, str) and group else "between"
    if test.startswith("mixed_anova") or (test == "mauchly" and not isinstance(group, str)):
        return "group_time"
    if test in ("kruskal", "nemenyi_kruskal", "dunn_kruskal", "dunn_vs_control", "mann_whitney"):
        return "between"
    return "within"


def stat_sections(
    results: pd.DataFrame, alpha: float, *, unit: str = "", baseline: str | None = None
) -> list[dict]:
    """The statistics frame as table sections, rows in the order `analysis.stats` gives,
    each with the statistic it reports, how its p is adjusted and its estimate in `unit`.

    `baseline` (for %MPE, zero there by definition) leaves out the rows tested at that
    timepoint: a test of values that are all 0 says nothing.
    """
    if results.empty:
        return []
    rows = results.astype(object).where(results.notna(), None).to_dict("records")
    by_section: dict[str, list] = {}
    for row in rows:
        if baseline is not None and row["timepoint"] == baseline:
            continue
        row["label"] = TEST_LABELS.get(row["test"], row["test"])
        row["symbol"] = presentation.statistic_symbol(row)
        row["adjustment"] = presentation.adjustment(row)
        row["estimate_text"] = presentation.estimate_text(row, unit)
        p = row["p_adj"] if row["p_adj"] is not None else row["p"]
        row["significant"] = p is not None and p < alpha and row["test"] != "mauchly"
        by_section.setdefault(_section(row["test"], row["group"]), []).append(row)
    sections = []
    for key, title in SECTIONS:
        if key not in by_section:
            continue
        section = {"key": key, "title": title, "rows": by_section[key]}
        section["n_significant"] = sum(row["significant"] for row in section["rows"])
        section["has_estimate"] = any(row["estimate_text"] for row in section["rows"])
        # The long within-group post-hoc list starts folded; the chart marks summarise it.
        section["open"] = key != "within" or len(section["rows"]) <= 12
        section["as_list"] = [section]
        sections.append(section)
    return sections


def _summary_rows(results: selectors.StudyResults) -> list[dict]:
    threshold = results.threshold.summary
    if threshold.empty:
        return []
    mpe = results.mpe.summary[["group", "timepoint", "n", "mean", "sem"]].rename(
        columns={"n": "mpe_n", "mean": "mpe_mean", "sem": "mpe_sem"}
    )
    merged = threshold.merge(mpe, on=["group", "timepoint"], how="left")
    return _table_rows(merged, results.design)


def _mpe_summary_rows(results: selectors.StudyResults) -> list[dict]:
    """The %MPE summary with the same columns as the threshold one (n, mean, SD, SEM,
    median, quartiles), from the same `stats.group_summary`; no baseline rows, where
    every %MPE is 0 by definition."""
    summary = results.mpe.summary
    if summary.empty:
        return []
    summary = summary[summary["timepoint"] != results.reference.baseline]
    return _table_rows(summary.reset_index(drop=True), results.design)


def censored_sentences(study, summary: pd.DataFrame) -> list[str]:
    """In words, for each group and timepoint with animals at the cut-off or the lowest
    filament: how many, and that the mean and CI there are bounded by it."""
    if summary.empty or "n_at_cutoff" not in summary:
        return []
    held = summary[(summary["n_at_cutoff"] > 0) | (summary["n_at_lowest"] > 0)]
    if held.empty:
        return []
    lowest = frames.filaments_of(study)[:1]
    return [
        presentation.censored_sentence(
            group=row.group,
            timepoint=row.timepoint,
            n=int(row.n),
            n_at_cutoff=int(row.n_at_cutoff),
            cutoff_g=study.ceiling_g,
            n_at_lowest=int(row.n_at_lowest),
            lowest_g=lowest[0].grams if lowest else None,
        )
        for row in held.itertuples()
    ]


def _table_rows(summary: pd.DataFrame, design: selectors.Design) -> list[dict]:
    colours = {g.code: g.colour for g in design.groups}
    summary = summary.assign(
        colour=summary["group"].map(colours),
        first_of_group=summary["group"].ne(summary["group"].shift()),
    )
    return summary.astype(object).where(summary.notna(), None).to_dict("records")


def _common(access: StudyAccess, section: str) -> dict:
    return {
        "access": access,
        "study": access.study,
        "section": section,
        "plotly_js": charts.PLOTLY_JS,
    }


def _results_for(study, method: str) -> selectors.StudyResults:
    return selectors.study_results(study, analysed=inputs.analysis_inputs(study, method=method))


# ----------------------------------------------------------------------------- views


@login_required
@require_GET
def dashboard(request: HttpRequest, slug: str) -> HttpResponse:
    access = _results_access(request, slug)
    study = access.study
    method, message = chosen_method(request, study)
    results = _results_for(study, method)
    switch = _method_context(study, method, message)
    if results.threshold.long.empty:
        return render(
            request,
            "analysis/dashboard_empty.html",
            {
                **_common(access, "dashboard"),
                **switch,
                "nothing": selectors.nothing_yet(study, results.design, timezone.localdate()),
            },
        )
    threshold_chart = _chart(study, results, "threshold")
    mpe_chart = _chart(study, results, "mpe")
    return render(
        request,
        "analysis/dashboard.html",
        {
            **_common(access, "dashboard"),
            **switch,
            "design": results.design,
            "reference": results.reference,
            "results": results,
            "threshold_json": charts.to_json(threshold_chart),
            "mpe_json": charts.to_json(mpe_chart),
            "legend": _mark_key(study, results, results.threshold).legend(),
            "summary_rows": _summary_rows(results),
            "mpe_summary_rows": _mpe_summary_rows(results),
            "censored": censored_sentences(study, results.threshold.summary),
            "measures": [
                {
                    "key": m.measure.key,
                    "title": m.measure.label,
                    "results": m,
                    "sections": stat_sections(
                        m.statistics,
                        study.alpha,
                        unit=m.measure.unit,
                        baseline=results.reference.baseline if m is results.mpe else None,
                    ),
                }
                for m in (results.threshold, results.mpe)
            ],
            "n_sessions": int(results.sessions["session"].notna().sum()),
            "n_imported": int(results.sessions["source"].eq("legacy_thresholds").sum()),
        },
    )


@login_required
@require_GET
def mixed_model(request: HttpRequest, slug: str) -> HttpResponse:
    access = _results_access(request, slug)
    study = access.study
    measure = selectors.MEASURES.get(request.GET.get("measure", "threshold"))
    if measure is None:
        raise Http404("Unknown measure.")
    method, message = chosen_method(request, study)
    analysed = inputs.analysis_inputs(study, method=method)
    results = inputs.mixed_model_statistics(analysed, measure.column)
    sections = stat_sections(
        results,
        study.alpha,
        unit=measure.unit,
        baseline=analysed.baseline if measure is selectors.MPE else None,
    )
    context = {
        **_common(access, "dashboard"),
        **_method_context(study, method, message),
        "measure": measure,
        "sections": sections,
        # one table for every section: the column shows when any row has an estimate
        "show_estimate": any(section["has_estimate"] for section in sections),
    }
    template = "analysis/_mixed_model.html" if request.htmx else "analysis/mixed_model.html"
    return render(request, template, context)


def _animal_url_prefix(slug: str) -> str:
    return reverse("dashboard_animal", args=[slug, 0])[: -len("0/")]


@login_required
@require_GET
def completeness(request: HttpRequest, slug: str) -> HttpResponse:
    access = _results_access(request, slug)
    study = access.study
    today = timezone.localdate()
    analysed = inputs.analysis_inputs(study)
    design = analysed.design
    animals, grid = selectors.completeness(
        study, design=design, sessions=analysed.sessions, today=today
    )
    prefix = _animal_url_prefix(slug)
    k = len(design.timepoints)
    cells = grid[["animal_id", "state", "session", "value", "timepoint"]].to_dict("records")
    rows = []
    for i, animal in enumerate(animals.to_dict("records")):
        url = f"{prefix}{animal['animal_id']}/"
        mine = cells[i * k : (i + 1) * k]
        for cell in mine:
            session = cell["session"]
            cell["href"] = url if pd.isna(session) else f"{url}#session-{session}"
            cell["label"] = selectors.CELL_LABELS[cell["state"]]
            if pd.isna(cell["value"]):
                cell["value"] = None
        rows.append({"animal": animal, "url": url, "cells": mine})
    compliance = selectors.dosing_compliance(study, design=design, today=today, animals=animals)
    compliance["url"] = prefix + compliance["animal_id"].astype(str) + "/"
    compliance = compliance.astype(object).where(compliance.notna(), None)
    not_given = selectors.doses_not_given(study)
    not_given["url"] = prefix + not_given["animal_id"].astype(str) + "/"
    events = selectors.adverse_events(study)
    events["url"] = prefix + events["animal_id"].astype(str) + "/"
    return render(
        request,
        "analysis/completeness.html",
        {
            **_common(access, "completeness"),
            "today": today,
            "study_day": study.day_of_date(today),
            "timepoints": design.timepoints,
            "rows": rows,
            "legend": [
                {"state": state, "label": selectors.CELL_LABELS[state], "count": count}
                for state, count in selectors.completeness_counts(grid).items()
            ],
            "compliance": compliance.to_dict("records"),
            "dosed_animals": int((compliance["due"].astype(float) > 0).sum()),
            "not_given": not_given.to_dict("records"),
            "events": events.to_dict("records"),
        },
    )


@login_required
@require_GET
def figure(request: HttpRequest, slug: str) -> HttpResponse:
    access = _results_access(request, slug)
    study = access.study
    method, message = chosen_method(request, study)
    results = _results_for(study, method)
    summary = results.threshold.summary
    n_by_group = (
        summary.groupby("group", sort=False)["n"].agg(["min", "max"]).reset_index()
        if not summary.empty
        else pd.DataFrame(columns=["group", "min", "max"])
    )
    return render(
        request,
        "analysis/figure.html",
        {
            **_common(access, "figure"),
            **_method_context(study, method, message),
            "censored": censored_sentences(study, summary),
            "design": results.design,
            "reference": results.reference,
            "threshold_json": charts.to_json(_chart(study, results, "threshold", publication=True)),
            "mpe_json": charts.to_json(_chart(study, results, "mpe", publication=True)),
            "threshold_legend": _mark_key(study, results, results.threshold).legend(),
            "mpe_legend": _mark_key(study, results, results.mpe).legend(),
            "n_by_group": n_by_group.to_dict("records"),
            "results": results,
        },
    )


@login_required
@require_GET
def animal(request: HttpRequest, slug: str, animal_id: int) -> HttpResponse:
    access = _results_access(request, slug)
    study = access.study
    from animals.models import Animal

    subject = get_object_or_404(Animal.objects.select_related("group"), study=study, pk=animal_id)
    record = selectors.animal_record(study, subject)
    weights = pd.DataFrame(
        [(w.date, w.day, float(w.grams)) for w in record.weights if not w.voided],
        columns=["date", "day", "grams"],
    )
    colour = subject.group.colour if subject.group else "#1f77b4"
    weight_json = (
        charts.to_json(
            charts.weight_chart(
                weights, colour=colour, filename=f"{study.slug}-{subject.code}-weight"
            )
        )
        if not weights.empty
        else None
    )
    frequency_json = None
    if record.frequency_curves:
        frequency_json = charts.to_json(
            charts.frequency_chart(
                record.frequency_curves,
                criterion_pct=100.0 * study.method_withdrawals / study.method_applications,
                filename=f"{study.slug}-{subject.code}-frequency",
            )
        )
    return render(
        request,
        "analysis/animal.html",
        {
            **_common(access, "animal"),
            "animal": subject,
            "record": record,
            "weight_json": weight_json,
            "frequency_json": frequency_json,
        },
    )
