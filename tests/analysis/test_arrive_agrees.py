"""The ARRIVE report says what the dashboard and the completeness page say (issue 16).

On the demo study with an excluded animal, a voided test session, a dose record voided
and re-marked refused, and the demo's own missed dose and hematuria, the three pages,
as a data manager opens them, agree on: n per group and timepoint (and mean ± SEM), who
is out of the study, who the complete-case tests dropped, how many doses were given,
missed and refused, which doses were not given, and the adverse events. A voided dose
record is on none of them.
"""

import re

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from animals.models import Animal, DoseAdministration
from animals.services import change_animal_status, record_dose, void_dose
from labstudy.demo import load_demo_study
from sessions.models import TestSession
from sessions.services import void_session


def _fmt(value) -> str:
    return "–" if value is None else f"{value:.1f}"


@pytest.fixture
def pages(db, client):
    demo = load_demo_study()
    study = demo.study
    excluded = study.animals.get(code="R15")
    change_animal_status(
        animal=excluded,
        status=Animal.Status.EXCLUDED,
        date=study.date_of_day(20),
        reason="autotomy of the injured paw",
        user=None,
    )
    session = (
        TestSession.objects.filter(animal__code="R04", animal__study=study)
        .order_by("timepoint__day")
        .first()
    )
    void_session(session=session, user=None, reason="tested the wrong paw")
    dose = DoseAdministration.objects.get(animal__code="R02", animal__study=study, study_day=12)
    void_dose(dose=dose, user=None, reason="marked given by mistake")
    record_dose(
        animal=dose.animal,
        date=dose.scheduled_date,
        status="refused",
        reason="struggled at restraint",
        user=None,
    )
    client.force_login(get_user_model().objects.get(username="datamanager"))

    def get(name: str):
        response = client.get(reverse(name, args=[study.slug]))
        assert response.status_code == 200
        return response.context

    return {
        "arrive": {i.number: i for i in get("arrive_report")["report"].items},
        "dashboard": get("dashboard"),
        "completeness": get("dashboard_completeness"),
        "html": client.get(reverse("arrive_report", args=[study.slug])).content.decode(),
    }


def _table(item, caption: str):
    return next(t for t in item.tables if t.caption.startswith(caption))


def _fact(item, label: str) -> str:
    return next(f.text for f in item.recorded if f.label == label)


def test_arrive_agrees_with_the_dashboard_and_the_completeness_page(pages):
    arrive, dashboard, completeness = pages["arrive"], pages["dashboard"], pages["completeness"]

    # n, mean ± SEM per group and timepoint: ARRIVE's results table, the dashboard's
    results = _table(arrive[10], "Withdrawal threshold").rows
    assert [(r[0], r[1], r[3], r[4]) for r in results] == [
        (r["group"], r["timepoint"], str(r["n"]), f"{_fmt(r['mean'])} ± {_fmt(r['sem'])}")
        for r in dashboard["summary_rows"]
    ]
    n_control = {r[1]: r[3] for r in results if r[0] == "control"}
    assert n_control["T2"] == "4"  # R15, excluded, counts nowhere

    # who is out of the study, with the reason
    out = _table(arrive[3], "Animals no longer in the study").rows
    assert out == [["R15", "control", "Excluded", out[0][3], "autotomy of the injured paw"]]
    assert [r["animal"]["animal"] for r in completeness["rows"]
            if r["animal"]["status"] != "active"] == ["R15"]  # fmt: skip

    # who the complete-case tests dropped: R04, whose T0 session is void
    results = dashboard["results"]
    dropped = sorted(set(results.threshold.dropped_animals) | set(results.mpe.dropped_animals))
    assert dropped == ["R04"]
    assert _fact(arrive[3], "Left out of Friedman and ANOVA").startswith("R04 (a missing")
    assert _table(arrive[3], "Voided test sessions").rows == [["R04", "T0", "tested the wrong paw"]]

    # doses: counts and the doses not given, as the completeness page lists them
    compliance = completeness["compliance"]
    given, missed, refused = (sum(a[k] for a in compliance) for k in ("given", "missed", "refused"))
    assert (given, missed, refused) == (15 * 35 - 2, 1, 1)  # one missed, one refused
    assert _fact(arrive[9], "Doses") == f"{given} given, {missed} missed, {refused} refused"
    not_given = _table(arrive[9], "Doses not given").rows
    assert not_given == [
        [d["animal"], str(d["day"]), d["status"], d["reason"]] for d in completeness["not_given"]
    ]
    assert ["R02", "12", "refused", "struggled at restraint"] in not_given
    assert not any("voided" in row or "marked given by mistake" in row for row in not_given)

    # adverse events
    events = _table(arrive[10], "Adverse events").rows
    assert [r[:4] for r in events] == [
        [e["animal"], e["group"], str(e["day"]), e["term"]] for e in completeness["events"]
    ]
    assert [r[3] for r in events] == ["hematuria"]

    # and the page a reader prints
    html = pages["html"]
    assert "<td>R02</td><td>12</td><td>refused</td><td>struggled at restraint</td>" in html
    assert "marked given by mistake" not in html
    assert re.search(rf"<dd[^>]*>{given} given, 1 missed, 1 refused</dd>", html)
