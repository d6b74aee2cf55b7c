"""Sample-size plans of a study: the service that validates, runs and keeps them.

`start_plan` reads the study's data the way the dashboard does (`analysis.inputs.
analysis_inputs`), checks the inputs (a `PlanError` names the field), stores a running
`SampleSizePlan` and runs `analysis.planning` in a background thread (the page polls its
progress) or, for the command, right away. `latest_plan` is what the ARRIVE report and
the page quote. The numbers are `analysis.planning`'s; this module only moves them.
"""

from __future__ import annotations

import datetime as dt
import math
import secrets
import shlex
import threading

from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from analysis import planning
from analysis.frames import filaments_of
from analysis.inputs import THRESHOLD_G, analysis_inputs
from labstudy.models import SampleSizePlan, Study, ThresholdMethod

PlanError = planning.PlanError


def new_seed() -> int:
    return secrets.randbelow(10**9)


def default_loss(study: Study) -> float:
    """The share of this study's allocated animals no longer in it (excluded, died,
    euthanised): what to expect to lose next time, unless the planner says otherwise."""
    from animals.models import Animal

    animals = Animal.objects.filter(study=study, group__isnull=False)
    total = animals.count()
    if not total:
        return 0.0
    lost = animals.exclude(status=Animal.Status.ACTIVE).count()
    return round(lost / total, 3)


def pilot_of(study: Study) -> planning.Pilot:
    """The study's thresholds (its own method) as the planning engine reads them."""
    inputs = analysis_inputs(study)
    return planning.describe_pilot(
        inputs.long(THRESHOLD_G),
        groups=[g.code for g in inputs.design.groups],
        timepoints=[t.label for t in inputs.design.timepoints],
        baseline=inputs.baseline,
        control=inputs.control,
    )


def analysis_of(study: Study) -> str:
    return planning.analysis_for(study.comparison_family, study.posthoc, study.comparison_basis)


def command_line(study: Study, s: planning.PlanSettings) -> str:
    """The command that reproduces a plan."""
    return (
        f"python manage.py plan_sample_size {study.slug} --effect {s.effect:g} --unit {s.unit} "
        f"--timepoint {shlex.quote(s.timepoint)} --alpha {s.alpha:g} --power {s.power:g} "
        f"--loss {s.loss:g} --seed {s.seed}"
    )


def start_plan(
    *,
    study: Study,
    user,
    timepoint: str,
    effect: float,
    unit: str,
    alpha: float,
    power: float,
    loss: float | None = None,
    seed: int | None = None,
    background: bool = True,
) -> SampleSizePlan:
    """Check the inputs, store a running plan and run it (in a thread when `background`).

    Raises `PlanError` (with `.field`) before anything is written when an input is bad."""
    loss = default_loss(study) if loss is None else loss
    seed = new_seed() if seed is None else seed
    settings = planning.PlanSettings(
        timepoint=timepoint, effect=effect, unit=unit, alpha=alpha, power=power, loss=loss,
        seed=seed,
    )  # fmt: skip
    settings.check()
    pilot = pilot_of(study)
    analysis = analysis_of(study)
    filaments = [f.grams for f in filaments_of(study)]
    scenario = planning.scenario_for(
        pilot,
        analysis=analysis,
        timepoint=timepoint,
        effect=effect,
        unit=unit,
        cutoff_g=float(study.cutoff_g),
        filaments_g=filaments,
        round_to_filaments=study.threshold_method == ThresholdMethod.FIRST_RESPONSE,
        pair_count=len(study.chosen_pairs()),
    )
    plan = SampleSizePlan.objects.create(
        study=study,
        created_by=user,
        timepoint=timepoint,
        effect=effect,
        unit=unit,
        alpha=alpha,
        power=power,
        loss=loss,
        seed=seed,
        n_sims=settings.n_sims,
        method=study.threshold_method,
        analysis=analysis,
        inputs=_json_safe(_inputs_record(study, pilot, scenario, settings)),
    )
    if background:
        transaction.on_commit(lambda: launch(plan.pk, scenario, analysis, settings))
    else:
        run_plan(plan.pk, scenario, analysis, settings)
        plan.refresh_from_db()
    return plan


def launch(plan_id: int, scenario, analysis: str, settings) -> threading.Thread:
    """Run the plan in a daemon thread with its own database connection."""

    def work() -> None:
        close_old_connections()
        try:
            run_plan(plan_id, scenario, analysis, settings)
        finally:
            connection.close()

    thread = threading.Thread(target=work, name=f"sample-size-plan-{plan_id}", daemon=True)
    thread.start()
    return thread


def run_plan(plan_id: int, scenario, analysis: str, settings: planning.PlanSettings) -> None:
    """Simulate, then store the result and the sentence (or the error) on the plan."""
    last = [-1]

    def progress(done: int, total: int) -> None:
        percent = min(99, int(100 * done / max(total, 1)))
        if percent != last[0]:
            last[0] = percent
            # update(): progress is not history-worthy, and skips the model's save().
            SampleSizePlan.objects.filter(pk=plan_id).update(progress=percent)

    plan = SampleSizePlan.objects.select_related("study").get(pk=plan_id)
    try:
        result = planning.plan(
            scenario,
            analysis,
            settings,
            effect_label=lambda f: effect_text(settings.effect * f, settings.unit),
            progress=progress,
        )
    except Exception as error:  # the page must say it failed, not spin for ever
        plan.status = SampleSizePlan.Status.FAILED
        plan.error = f"The simulation stopped: {error}"
        plan.finished_at = timezone.now()
        plan.save()
        raise
    plan.result = _json_safe(result.as_dict())
    plan.n_per_group = result.n_per_group
    plan.n_with_losses = result.n_with_losses
    plan.sentence = sentence(plan.study, plan, result, scenario, settings)
    plan.status = SampleSizePlan.Status.DONE
    plan.progress = 100
    plan.finished_at = timezone.now()
    plan.save()


def _inputs_record(study, pilot, scenario, settings) -> dict:
    return {
        "family": study.comparison_family,
        "posthoc": study.posthoc,
        "basis": study.comparison_basis,
        "cutoff_g": float(study.cutoff_g),
        "design": scenario.design,
        "means_g": list(scenario.means_g),
        "sd_g": _finite(scenario.sd_g),
        "between_sd_g": _finite(scenario.between_sd_g),
        "within_sd_g": _finite(scenario.within_sd_g),
        "rounded_to_filaments": bool(scenario.filaments_g),
        "groups": list(pilot.groups),
        "control": pilot.control,
        "baseline": pilot.baseline,
        "n_pilot": sum(c.n for c in pilot.at(settings.timepoint)),
        "command": command_line(study, settings),
    }


def _json_safe(value):
    """NaN and infinities become None: JSON (and PostgreSQL's jsonb) have no such numbers."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def effect_text(effect: float, unit: str) -> str:
    if unit == "g":
        return f"{effect:+.3g} g"
    if unit == "mpe":
        return f"{effect:.3g} %MPE"
    return f"ratio {effect:.3g}"


def sentence(study, plan, result: planning.PlanResult, scenario, settings) -> str:
    """The methods-section / ARRIVE 2b sentence, with everything needed to rerun it."""
    inputs = plan.inputs
    analysis = planning.ANALYSIS_LABELS[plan.analysis]
    effect = effect_text(settings.effect, settings.unit)
    if settings.unit != "g":
        effect += f" ({result.delta_g:+.1f} g)"
    if scenario.design == planning.BETWEEN:
        what = (
            f"a difference of {effect} between a treated group and the control group "
            f"({inputs['control']}) at {settings.timepoint}, with {scenario.k} groups"
        )
        spread = f"pooled SD {inputs['sd_g']:.1f} g at {settings.timepoint}"
    else:
        what = (
            f"a change of {effect} from baseline ({inputs['baseline']}) to "
            f"{settings.timepoint} within a group over {scenario.k} timepoints"
        )
        spread = (
            f"between-animal SD {inputs['between_sd_g']:.1f} g, within-animal SD "
            f"{inputs['within_sd_g']:.1f} g"
        )
    measured = f"values held at the {inputs['cutoff_g']:g} g cut-off"
    if inputs["rounded_to_filaments"]:
        measured += " and rounded up to the study's filament forces"
    sims = f"{result.n_sims:,} simulated studies, seed {settings.seed}"
    source = f"variability from study {study.slug} ({spread}; {measured})"
    if result.n_per_group is None:
        return (
            f"Even {planning.MAX_N} animals per group would not give "
            f"{settings.power:.0%} power to detect {what} by {analysis} at α = "
            f"{settings.alpha:g} ({sims}; {source}). Reproduce: {inputs['command']}."
        )
    p = result.power_at_n
    losses = ""
    if result.n_with_losses != result.n_per_group:
        losses = (
            f" ({result.n_per_group} analysed, allowing for {settings.loss:.0%} of animals lost)"
        )
    return (
        f"A sample size of {result.n_with_losses} animals per group{losses} was chosen to "
        f"give at least {settings.power:.0%} power (simulated {p.power:.1%}, 95 % interval "
        f"{p.low:.1%}–{p.high:.1%}; {sims}) to detect {what}, analysed by {analysis} at "
        f"α = {settings.alpha:g}; {source}. Reproduce: {inputs['command']}."
    )


# A plan takes seconds; one still running after this long lost its thread (the server
# restarted or the worker was recycled) and would be polled for ever.
STALE_AFTER = dt.timedelta(minutes=15)


def give_up_if_stale(plan: SampleSizePlan) -> SampleSizePlan:
    """Mark a plan whose thread is gone as failed, saying so; any other plan unchanged."""
    if plan.status == SampleSizePlan.Status.RUNNING and (
        timezone.now() - plan.created_at > STALE_AFTER
    ):
        plan.status = SampleSizePlan.Status.FAILED
        plan.error = (
            "The simulation stopped without finishing (the server was restarted while it "
            "ran). Start it again: the same seed gives the same numbers."
        )
        plan.finished_at = timezone.now()
        plan.save()
    return plan


# ----------------------------------------------------------------------------- reads


def latest_plan(study: Study) -> SampleSizePlan | None:
    """The study's most recent finished plan (what the ARRIVE report quotes)."""
    return (
        SampleSizePlan.objects.filter(study=study, status=SampleSizePlan.Status.DONE)
        .select_related("created_by")
        .first()
    )


def plans_of(study: Study, *, limit: int = 10) -> list[SampleSizePlan]:
    return list(SampleSizePlan.objects.filter(study=study).select_related("created_by")[:limit])
