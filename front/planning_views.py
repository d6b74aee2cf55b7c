"""The sample-size planning page of a study (ARRIVE 2.0 item 2b): a form, a plan running
in the background with its progress polled by htmx, and the finished plan's curve and
sentence. Thin: the numbers are `analysis.planning`'s, the writes `front.planning`'s."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from analysis import charts
from analysis import planning as engine
from front import planning
from labstudy.access import study_access
from labstudy.models import SampleSizePlan

MAY = "can_plan"


class PlanForm(forms.Form):
    timepoint = forms.ChoiceField(help_text="The timepoint the effect is expected at.")
    effect = forms.FloatField(help_text="The smallest effect worth detecting, in the unit below.")
    unit = forms.ChoiceField(
        choices=[("mpe", "%MPE"), ("g", "grams above control"), ("ratio", "ratio to control")],
        initial="mpe",
        help_text="See the units below the form.",
    )
    alpha = forms.FloatField(label="Significance level (alpha)", min_value=0.0001, max_value=0.49)
    power = forms.FloatField(label="Wanted power", min_value=0.5, max_value=0.99)
    loss = forms.FloatField(
        label="Expected share of animals lost",
        min_value=0,
        max_value=0.89,
        help_text="0.1 = one animal in ten. The default is this study's share out of it.",
    )
    seed = forms.IntegerField(
        min_value=0, max_value=2**62, help_text="Keep it to reproduce the same numbers."
    )

    def __init__(self, *args, timepoints: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["timepoint"].choices = [(t, t) for t in timepoints]
        for field in self.fields.values():
            field.widget.attrs["class"] = (
                "form-select form-select-lg"
                if isinstance(field, forms.ChoiceField)
                else "form-control form-control-lg"
            )

    def clean_effect(self):
        effect = self.cleaned_data["effect"]
        if effect == 0:
            raise forms.ValidationError("The effect must be a number other than 0.")
        return effect


def _timepoints(study) -> list[str]:
    """Every timepoint of the study: one without thresholds gets the engine's message."""
    return list(study.timepoints.order_by("day").values_list("label", flat=True))


def _initial(study, pilot) -> dict:
    later = [t for t in pilot.timepoints if t != pilot.baseline]
    return {
        "timepoint": later[min(2, len(later) - 1)] if later else None,
        "effect": 50,
        "unit": "mpe",
        "alpha": float(study.alpha),
        "power": 0.8,
        "loss": planning.default_loss(study),
        "seed": planning.new_seed(),
    }


def _context(access, pilot, form, plan=None) -> dict:
    study = access.study
    latest = planning.latest_plan(study)
    shown = plan or latest
    context = {
        "access": access,
        "study": study,
        "section": "planning",
        "form": form,
        "pilot": pilot,
        "pilot_rows": _pilot_rows(pilot),
        "analysis_label": engine.ANALYSIS_LABELS[planning.analysis_of(study)],
        "n_sims": engine.N_SIMS,
        "plans": planning.plans_of(study),
        "plan": shown,
        "plotly_js": charts.PLOTLY_JS,
    }
    if shown is not None and shown.status == SampleSizePlan.Status.DONE:
        figure = charts.power_curve(
            shown.result,
            target_power=shown.power,
            n_plan=shown.n_per_group,
            filename=f"{study.slug}_sample_size_plan_{shown.pk}",
        )
        context["curve_json"] = charts.to_json(figure)
    return context


def _pilot_rows(pilot) -> list[dict]:
    spreads = {s.group: s for s in pilot.spreads}
    rows = []
    for group in pilot.groups:
        cells = {c.timepoint: c for c in pilot.cells if c.group == group}
        rows.append(
            {
                "group": group,
                "cells": [cells.get(t) for t in pilot.timepoints],
                "spread": spreads.get(group),
            }
        )
    return rows


@login_required
@require_http_methods(["GET", "POST"])
def study_planning(request: HttpRequest, slug: str) -> HttpResponse:
    access = study_access(request.user, slug, may=MAY)
    study = access.study
    pilot = planning.pilot_of(study)
    if request.method == "POST":
        form = PlanForm(request.POST, timepoints=_timepoints(study))
        if form.is_valid():
            data = form.cleaned_data
            try:
                plan = planning.start_plan(study=study, user=request.user, **data)
            except engine.PlanError as error:
                field = error.field if error.field in form.fields else None
                form.add_error(field, error.message)
            else:
                return redirect("study_planning_plan", slug=study.slug, pk=plan.pk)
        status = 400
    else:
        form = PlanForm(initial=_initial(study, pilot), timepoints=_timepoints(study))
        status = 200
    return render(request, "labstudy/planning.html", _context(access, pilot, form), status=status)


def _plan_of(study, pk: int) -> SampleSizePlan:
    plan = SampleSizePlan.objects.filter(study=study, pk=pk).first()
    if plan is None:
        raise Http404("No such plan in this study.")
    return plan


@login_required
@require_GET
def study_planning_plan(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    access = study_access(request.user, slug, may=MAY)
    study = access.study
    plan = _plan_of(study, pk)
    pilot = planning.pilot_of(study)
    initial = {
        "timepoint": plan.timepoint, "effect": plan.effect, "unit": plan.unit,
        "alpha": plan.alpha, "power": plan.power, "loss": plan.loss, "seed": plan.seed,
    }  # fmt: skip
    form = PlanForm(initial=initial, timepoints=_timepoints(study))
    return render(request, "labstudy/planning.html", _context(access, pilot, form, plan))


@login_required
@require_GET
def study_planning_progress(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """The progress fragment htmx polls; once the plan is done the page reloads."""
    access = study_access(request.user, slug, may=MAY)
    plan = planning.give_up_if_stale(_plan_of(access.study, pk))
    response = render(
        request,
        "labstudy/_planning_progress.html",
        {
            "plan": plan,
            "progress_url": reverse("study_planning_progress", args=[access.study.slug, plan.pk]),
        },
    )
    if plan.status == SampleSizePlan.Status.DONE:
        response["HX-Refresh"] = "true"
    return response
