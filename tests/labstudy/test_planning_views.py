"""The sample-size planning page, its progress fragment, the command and the ARRIVE
report's item 2b, on the demo study (three groups of five, target force, T0-T7).

The page runs a plan in a background thread; here `front.planning.launch` runs it in the
request's own thread instead (the test database is one transaction a thread cannot see).
The browser test (tests/browser/test_planning.py) runs the real thread.
"""

import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from front import planning
from labstudy.models import Membership, Role, SampleSizePlan
from tests.worlds import client_as


def text_of(response) -> str:
    import html

    body = re.sub(r"<[^>]+>", " ", response.content.decode())
    return re.sub(r"\s+", " ", html.unescape(body))


@pytest.fixture
def inline(monkeypatch):
    """Plans run in the request thread (see the module docstring)."""

    def run_now(plan_id, scenario, analysis, settings):
        planning.run_plan(plan_id, scenario, analysis, settings)

    monkeypatch.setattr(planning, "launch", run_now)


@pytest.fixture(autouse=True)
def fewer_simulations(monkeypatch):
    """Every plan here simulates 300 studies a point instead of planning.N_SIMS: these
    tests check the pages, the stored plan, the command and the refusals, not the powers
    (tests/analysis/test_planning.py checks the numbers at full size)."""
    from dataclasses import dataclass

    from analysis import planning as engine

    @dataclass(frozen=True)
    class FewerSimulations(engine.PlanSettings):
        n_sims: int = 300

    monkeypatch.setattr(engine, "PlanSettings", FewerSimulations)


@pytest.fixture
def demo(demo_people_and_urls):
    study, users, _ = demo_people_and_urls
    return study, users


def _post(client, study, **changes):
    data = {"timepoint": "T3", "effect": "50", "unit": "mpe", "alpha": "0.05",
            "power": "0.8", "loss": "0.1", "seed": "20261204", **changes}  # fmt: skip
    return client.post(reverse("study_planning", args=[study.slug]), data)


@pytest.mark.parametrize(("role", "status"), [
    ("investigator", 200), ("data_manager", 200), ("technician", 404), ("outsider", 404),
])  # fmt: skip
def test_the_page_for_each_role(demo, role, status):
    study, users = demo
    response = client_as(users, role).get(reverse("study_planning", args=[study.slug]))
    assert response.status_code == status
    if status == 200:
        text = text_of(response)
        assert "Kruskal-Wallis, then Nemenyi (Tukey) post-hoc tests" in text
        assert "between-animal SD" in text
        # The study's pilot numbers, one row per group.
        assert (
            len(re.findall(r'<th scope="row">(control|K5|K10)</th>', response.content.decode()))
            == 3
        )


def test_technician_sees_no_link_and_investigator_does(demo):
    study, users = demo
    url = reverse("study_planning", args=[study.slug])
    assert (
        url
        not in client_as(users, "technician")
        .get(reverse("study_overview", args=[study.slug]))
        .content.decode()
    )
    assert (
        url
        in client_as(users, "investigator")
        .get(reverse("dashboard", args=[study.slug]))
        .content.decode()
    )


@pytest.mark.django_db(transaction=False)
def test_a_plan_runs_is_kept_and_shows_n_curve_and_sentence(
    demo, inline, django_capture_on_commit_callbacks
):
    study, users = demo
    client = client_as(users, "investigator")
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, study)
    plan = SampleSizePlan.objects.get(study=study)
    assert response.status_code == 302
    assert response["Location"] == reverse("study_planning_plan", args=[study.slug, plan.pk])
    assert plan.status == "done" and plan.progress == 100
    assert plan.created_by == users["investigator"] and plan.seed == 20261204
    assert plan.n_with_losses == -(-plan.n_per_group * 10 // 9)  # ceil(n / 0.9)
    page = client.get(response["Location"])
    text = text_of(page)
    assert f"n = {plan.n_with_losses} animals per group" in text
    assert "seed 20261204" in plan.sentence and "plan_sample_size" in plan.sentence
    assert plan.sentence in text
    assert 'id="curve-data"' in page.content.decode()
    assert "one-way ANOVA (3 groups)" in text
    # History keeps who ran it (simple-history), progress updates do not add rows.
    assert plan.history.count() == 2
    progress = client.get(reverse("study_planning_progress", args=[study.slug, plan.pk]))
    assert progress["HX-Refresh"] == "true"


def test_the_same_seed_gives_the_same_plan_from_page_and_command(
    demo, inline, django_capture_on_commit_callbacks, capsys
):
    study, users = demo
    client = client_as(users, "data_manager")
    with django_capture_on_commit_callbacks(execute=True):
        _post(client, study, loss="0")
    call_command(
        "plan_sample_size", study.slug, "--effect", "50", "--unit", "mpe", "--timepoint", "T3",
        "--power", "0.8", "--loss", "0", "--seed", "20261204",
    )  # fmt: skip
    web, command = SampleSizePlan.objects.filter(study=study).order_by("pk")
    assert web.result == command.result
    assert web.n_per_group == command.n_per_group
    out = capsys.readouterr().out
    assert f"n per group: {command.n_with_losses}" in out
    assert command.created_by is None


def test_running_plan_shows_progress_that_polls(demo):
    study, users = demo
    plan = SampleSizePlan.objects.create(
        study=study, timepoint="T3", effect=50, unit="mpe", alpha=0.05, power=0.8, loss=0,
        seed=1, n_sims=2401, method="first_response", analysis="kruskal_nemenyi", progress=37,
    )  # fmt: skip
    client = client_as(users, "investigator")
    page = client.get(reverse("study_planning_plan", args=[study.slug, plan.pk]))
    html = page.content.decode()
    progress_url = reverse("study_planning_progress", args=[study.slug, plan.pk])
    assert f'hx-get="{progress_url}"' in html and 'hx-trigger="every 1s"' in html
    assert "37 %" in text_of(page)
    fragment = client.get(progress_url)
    assert "37 %" in text_of(fragment) and "HX-Refresh" not in fragment
    plan.status, plan.error = "failed", "The simulation stopped: out of memory"
    plan.save()
    fragment = client.get(progress_url)
    assert "out of memory" in text_of(fragment) and "hx-get" not in fragment.content.decode()


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"effect": "0"}, "effect", "other than 0"),
        ({"alpha": "1"}, "alpha", "less than or equal to 0.49"),
        ({"power": "1"}, "power", "less than or equal to 0.99"),
        ({"power": "1.5"}, "power", "less than or equal to 0.99"),
        ({"effect": "<script>alert(1)</script>"}, "effect", "Enter a number"),
        ({"effect": "nan"}, "effect", "Enter a number"),
        ({"effect": "1e400"}, "effect", "Enter a number"),
        ({"timepoint": "T3' OR 1=1 --"}, "timepoint", "Select a valid choice"),
        ({"unit": "kg"}, "unit", "Select a valid choice"),
        ({"seed": "-1"}, "seed", "greater than or equal to 0"),
        ({"seed": "9" * 40}, "seed", "less than or equal to"),
        ({"loss": "0.95"}, "loss", "less than or equal to 0.89"),
        ({"effect": "400", "unit": "g"}, "effect", "cut-off"),
        ({"effect": "1", "unit": "ratio"}, "effect", "not 1"),
    ],
)
def test_bad_and_hostile_input_gets_a_message_naming_the_field(demo, changes, field, words):
    study, users = demo
    before = SampleSizePlan.objects.count()
    response = _post(client_as(users, "investigator"), study, **changes)
    assert response.status_code == 400
    html = response.content.decode()
    errors = re.findall(rf'data-error-for="{field}">([^<]*)<', html)
    assert errors and words in errors[0], errors
    assert "<script>alert(1)</script>" not in html
    assert SampleSizePlan.objects.count() == before


def test_a_study_without_data_says_so(people, study, client_for):
    response = client_for("investigator").get(reverse("study_planning", args=[study.slug]))
    assert "This study has no thresholds yet" in text_of(response)
    response = _post(client_for("investigator"), study)
    assert response.status_code == 400
    assert "no thresholds yet: there is nothing to plan from" in text_of(response)
    assert not SampleSizePlan.objects.exists()


def test_another_studys_plan_is_a_404(demo):
    import datetime as dt

    from labstudy import services

    study, users = demo
    other = services.create_study(
        template_key="psnl-vf-3x8", slug="other", title="Other", day0_date=dt.date(2026, 9, 1),
        user=users["data_manager"],
    )  # fmt: skip
    Membership.objects.create(user=users["investigator"], study=other, role=Role.INVESTIGATOR)
    plan = SampleSizePlan.objects.create(
        study=study, timepoint="T3", effect=5, unit="g", alpha=0.05, power=0.8, loss=0,
        seed=1, n_sims=2401, method="first_response", analysis="kruskal_nemenyi",
    )  # fmt: skip
    client = client_as(users, "investigator")
    for name in ("study_planning_plan", "study_planning_progress"):
        assert client.get(reverse(name, args=[study.slug, plan.pk])).status_code == 200
        assert client.get(reverse(name, args=[other.slug, plan.pk])).status_code == 404


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--effect", "0", "--timepoint", "T3"], "--effect"),
        (["--effect", "5", "--timepoint", "T3", "--alpha", "1"], "--alpha"),
        (["--effect", "5", "--timepoint", "T3", "--power", "1"], "--power"),
        (["--effect", "5", "--timepoint", "T99"], "--timepoint"),
        (["--effect", "5", "--timepoint", "T3", "--loss", "0.95"], "--loss"),
        (["--effect", "1", "--unit", "ratio", "--timepoint", "T3"], "--effect"),
    ],
)
def test_command_bad_input_names_the_option(demo, args, option):
    study, _ = demo
    with pytest.raises(CommandError) as error:
        call_command("plan_sample_size", study.slug, *args)
    assert str(error.value).startswith(f"{option}:")
    assert not SampleSizePlan.objects.exists()


def test_command_on_a_study_without_data_and_an_unknown_study(study):
    with pytest.raises(CommandError, match="no thresholds yet"):
        call_command("plan_sample_size", study.slug, "--effect", "5", "--timepoint", "T3")
    with pytest.raises(CommandError, match="no study 'nope'"):
        call_command("plan_sample_size", "nope", "--effect", "5", "--timepoint", "T3")


def test_arrive_report_quotes_the_latest_plan_and_links_it(demo):
    study, users = demo
    client = client_as(users, "investigator")
    arrive = reverse("arrive_report", args=[study.slug])
    assert "The Sample size page (Results) calculates one" in text_of(client.get(arrive))
    call_command("plan_sample_size", study.slug, "--effect", "40", "--unit", "mpe",
                 "--timepoint", "T3", "--seed", "5", "--loss", "0")  # fmt: skip
    call_command("plan_sample_size", study.slug, "--effect", "60", "--unit", "mpe",
                 "--timepoint", "T3", "--seed", "6", "--loss", "0")  # fmt: skip
    latest = SampleSizePlan.objects.filter(study=study).order_by("-pk").first()
    page = client.get(arrive)
    assert latest.sentence in text_of(page)
    assert reverse("study_planning_plan", args=[study.slug, latest.pk]) in page.content.decode()
    assert "--seed 5" not in text_of(page)


def test_default_loss_is_this_studys_share_of_animals_out(demo):
    from animals.models import Animal

    study, _ = demo
    allocated = Animal.objects.filter(study=study, group__isnull=False)
    out = allocated.exclude(status=Animal.Status.ACTIVE).count()
    assert planning.default_loss(study) == round(out / allocated.count(), 3)


def test_a_plan_whose_thread_is_gone_stops_polling(demo):
    import datetime as dt

    study, users = demo
    plan = SampleSizePlan.objects.create(
        study=study, timepoint="T3", effect=50, unit="mpe", alpha=0.05, power=0.8, loss=0,
        seed=1, n_sims=2401, method="first_response", analysis="kruskal_nemenyi",
    )  # fmt: skip
    SampleSizePlan.objects.filter(pk=plan.pk).update(
        created_at=plan.created_at - dt.timedelta(minutes=16)
    )
    url = reverse("study_planning_progress", args=[study.slug, plan.pk])
    fragment = client_as(users, "investigator").get(url)
    assert "server was restarted" in text_of(fragment)
    assert "hx-get" not in fragment.content.decode()
    plan.refresh_from_db()
    assert plan.status == "failed"


def test_a_vs_baseline_study_plans_friedman_within_a_group(demo, capsys):
    study, _ = demo
    Study = type(study)
    Study.objects.filter(pk=study.pk).update(comparison_family="vs_baseline")
    call_command(
        "plan_sample_size", study.slug, "--effect", "40", "--unit", "g", "--timepoint", "T3",
        "--seed", "3", "--loss", "0",
    )  # fmt: skip
    plan = SampleSizePlan.objects.get(study=study)
    assert plan.analysis == "friedman_demsar"
    assert plan.inputs["design"] == "within" and plan.inputs["within_sd_g"] > 0
    assert "Friedman, then Demsar's tests (Holm) against baseline" in plan.sentence
    assert "within-animal SD" in plan.sentence
    assert "paired t-test" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("method", "rounded"),
    # The demo's series are up-down: percent response finds no threshold in them and SUDO
    # no spread at T3, so those two are left to planning.FILAMENT_FORCE_METHODS' list.
    [("first_response", True), ("ascending", True), ("up_down", False)],
)  # fmt: skip
def test_filament_force_methods_simulate_filament_forces(demo, method, rounded):
    from labstudy.models import ThresholdMethod

    study, _ = demo
    assert method in ThresholdMethod.values
    type(study).objects.filter(pk=study.pk).update(threshold_method=method)
    study.refresh_from_db()
    plan = planning.start_plan(
        study=study, user=None, timepoint="T3", effect=20, unit="g", alpha=0.05, power=0.8,
        loss=0, seed=1, background=False,
    )  # fmt: skip
    assert plan.inputs["rounded_to_filaments"] is rounded
    assert plan.method == method
