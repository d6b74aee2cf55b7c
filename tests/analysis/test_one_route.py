"""One route from the data to the numbers (issue 16): on the demo study with an excluded
animal, a voided session and a refused dose, the dashboard a user sees, the summary and
stats CSV files the `export_study` command writes and the Prism table agree cell for
cell, and the completeness page lists the same doses not given as the doses file.

The dashboard is read from the context its template renders, the files from disk as a
data manager gets them, so the test compares what people see, not what our functions
return.
"""

import csv
import math
from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from animals import services as animal_services
from animals.models import Animal, DoseAdministration
from front.demo import DEMO_SLUG
from labstudy.models import Study
from sessions import services as session_services
from sessions.models import TestSession

KEYS = ("test", "group", "timepoint", "a", "b")


@pytest.fixture
def demo(demo_study, client, tmp_path):
    """The demo with K5's first animal (by code) excluded on day 30, K10's first T3 session
    voided and control's first dose voided and recorded again as refused. `exported(what)`
    is the CSV file the `export_study` command writes."""
    study = Study.objects.get(slug=DEMO_SLUG)
    manager = get_user_model().objects.get(username="datamanager")
    excluded = Animal.objects.filter(study=study, group__code="K5").order_by("code").first()
    animal_services.change_animal_status(
        animal=excluded,
        status=Animal.Status.EXCLUDED,
        date=study.date_of_day(30),
        reason="wound infection",
        user=manager,
    )
    voided = (
        TestSession.objects.filter(
            animal__study=study, animal__group__code="K10", timepoint__label="T3"
        )
        .select_related("animal")
        .order_by("animal__code")
        .first()
    )
    session_services.void_session(session=voided, user=manager, reason="wrong rat", study=study)
    dose = (
        DoseAdministration.objects.filter(
            animal__study=study,
            animal__group__code="control",
            status=DoseAdministration.Status.GIVEN,
        )
        .select_related("animal")
        .order_by("scheduled_date", "animal__code")
        .first()
    )
    animal_services.void_dose(dose=dose, user=manager, reason="marked on the wrong day")
    animal_services.record_dose(
        animal=dose.animal,
        date=dose.scheduled_date,
        status=DoseAdministration.Status.REFUSED,
        user=manager,
        reason="struggled, not injected",
    )

    def exported(what: str) -> str:
        out = tmp_path / f"{what}.csv"
        call_command("export_study", DEMO_SLUG, what=what, out=str(out))
        return out.read_text(encoding="utf-8")

    client.force_login(get_user_model().objects.get(username="investigator"))
    return SimpleNamespace(
        study=study,
        client=client,
        exported=exported,
        excluded=excluded.code,
        voided=(voided.animal.code, "T3"),
        refused=(dose.animal.code, dose.study_day),
    )


def rows(text: str) -> list[dict]:
    return list(csv.DictReader(text.splitlines()))


def number(text: str) -> float:
    return float(text) if text != "" else math.nan


def same(a: float | None, b: float | None) -> bool:
    """Equal to the 15 significant digits the CSV files keep, or both missing."""
    a = math.nan if a is None else float(a)
    b = math.nan if b is None else float(b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=1e-13, abs_tol=1e-300)


def prism_tables(text: str) -> tuple[dict[str, dict[tuple[str, str], float]], dict]:
    """Outcome -> {(animal, timepoint): value} read from the Prism export (group titles,
    one row per timepoint, and the line naming each subcolumn's animal), and the
    animals of each group."""
    lines = list(csv.reader(text.splitlines()))
    tables = {}
    i = 0
    while i < len(lines):
        if not lines[i]:
            i += 1
            continue
        title = lines[i][0]
        outcome = "pct_mpe" if title.startswith("%MPE") else "threshold_g"
        header = lines[i + 2]
        body = []
        j = i + 3
        while lines[j]:
            body.append(lines[j])
            j += 1
        listing = lines[j + 1][0].split("Subcolumns, in order: ")[1]
        animals = {}
        for part in listing.split("; "):
            group, codes = part.split(": ")
            animals[group] = codes.split(", ")
        columns = []
        for k, cell in enumerate(header):
            if cell:
                columns += [(k + n, a) for n, a in enumerate(animals[cell])]
        tables[outcome] = {
            (animal, row[0]): number(row[k]) for row in body for k, animal in columns
        }
        i = j + 3
    return tables, animals


@pytest.mark.django_db
def test_dashboard_exports_and_prism_agree_cell_for_cell(demo):
    page = demo.client.get(reverse("dashboard", args=[DEMO_SLUG]))
    assert page.status_code == 200
    context = page.context

    # The excluded animal and the voided session are gone from every number.
    summary = {(r["group"], r["timepoint"]): r for r in context["summary_rows"]}
    assert {r["n"] for k, r in summary.items() if k[0] == "K5"} == {4}
    assert summary[("K10", "T3")]["n"] == 4 and summary[("K10", "T2")]["n"] == 5

    # Summary CSV = the dashboard's threshold and %MPE tables, every group and timepoint.
    exported = rows(demo.exported("summary"))
    assert [(r["group"], r["timepoint"]) for r in exported] == list(summary)
    mpe = {(r["group"], r["timepoint"]): r for r in context["mpe_summary_rows"]}
    for row in exported:
        mine = summary[(row["group"], row["timepoint"])]
        assert int(row["n"]) == mine["n"]
        for column in ("mean", "sd", "sem", "median", "q1", "q3"):
            assert same(number(row[column]), mine[column]), (row, column)
        if row["timepoint"] == "T0":
            # The page has no %MPE row at the baseline, where every %MPE is 0 by definition.
            assert (row["group"], "T0") not in mpe and number(row["mpe_mean"]) == 0
            continue
        assert same(number(row["mpe_mean"]), mpe[(row["group"], row["timepoint"])]["mean"])
        assert same(number(row["mpe_sem"]), mpe[(row["group"], row["timepoint"])]["sem"])

    # Stats CSV = the dashboard's statistics tables (the mixed model is on its own page).
    stats_rows = rows(demo.exported("stats"))
    for measure in context["measures"]:
        outcome = "threshold_g" if measure["key"] == "threshold" else "pct_mpe"
        shown = {
            tuple(row[k] or "" for k in KEYS): row
            for section in measure["sections"]
            for row in section["rows"]
        }
        written = {
            tuple(r[k] for k in KEYS): r
            for r in stats_rows
            if r["outcome"] == outcome
            and r["test"] != "mixed_model"
            # %MPE is not shown tested at the baseline, where it is 0 by definition
            and not (outcome == "pct_mpe" and r["timepoint"] == "T0")
        }
        assert len(written) > 40
        assert set(shown) == set(written)
        for key, row in written.items():
            for column in ("statistic", "p", "p_adj"):
                assert same(number(row[column]), shown[key][column]), (key, column)
        mixed = demo.client.get(
            reverse("dashboard_mixed_model", args=[DEMO_SLUG]), {"measure": measure["key"]}
        ).context["sections"]
        shown_mixed = {(r["a"] or "", r["b"] or ""): r["p"] for s in mixed for r in s["rows"]}
        written_mixed = {
            (r["a"], r["b"]): number(r["p"])
            for r in stats_rows
            if r["outcome"] == outcome
            and r["test"] == "mixed_model"
            and not (outcome == "pct_mpe" and r["timepoint"] == "T0")
        }
        assert shown_mixed.keys() == written_mixed.keys() and written_mixed
        assert all(same(written_mixed[k], shown_mixed[k]) for k in written_mixed)

    # Prism = the thresholds the summary averaged: the dashboard's means from its cells.
    prism, animals = prism_tables(demo.exported("prism"))
    analysed = {
        (r["animal"], r["timepoint"]): r
        for r in rows(demo.exported("thresholds"))
        if r["paw"] == "right"
    }
    assert demo.excluded not in {animal for animal, _ in prism["threshold_g"]}
    assert math.isnan(prism["threshold_g"][demo.voided])
    for (animal, timepoint), value in prism["threshold_g"].items():
        if math.isnan(value):
            continue
        assert value == number(analysed[(animal, timepoint)]["threshold_g"])
        assert prism["pct_mpe"][(animal, timepoint)] == round(
            number(analysed[(animal, timepoint)]["pct_mpe"]), 1
        )
    assert list(animals) == [g.code for g in context["design"].groups]
    for (group, timepoint), mine in summary.items():
        values = [
            prism["threshold_g"][(a, timepoint)]
            for a in animals[group]
            if not math.isnan(prism["threshold_g"][(a, timepoint)])
        ]
        assert len(values) == mine["n"]
        assert math.isclose(sum(values) / len(values), mine["mean"], rel_tol=1e-12)


@pytest.mark.django_db
def test_completeness_lists_the_doses_not_given_that_the_doses_file_holds(demo):
    page = demo.client.get(reverse("dashboard_completeness", args=[DEMO_SLUG]))
    shown = {(d["animal"], d["day"], d["status"]) for d in page.context["not_given"]}
    written = {
        (r["animal"], int(r["study_day"]), r["status"])
        for r in rows(demo.exported("doses"))
        if r["status"] in ("missed", "refused")
    }
    assert (*demo.refused, "refused") in shown
    assert shown == written


def _arrive_table(item, caption: str):
    return next(t for t in item.tables if t.caption.startswith(caption))


def _arrive_fact(item, label: str) -> str:
    return next(f.text for f in item.recorded if f.label == label)


def _one_decimal(value) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.1f}"


@pytest.mark.django_db
def test_arrive_agrees_with_the_dashboard_and_the_completeness_page(demo):
    """ARRIVE's group sizes, exclusions, dropped animals, doses and adverse events are
    the dashboard's and the completeness page's; a voided dose record is on none of them."""
    pages = {
        name: demo.client.get(reverse(name, args=[DEMO_SLUG]))
        for name in ("arrive_report", "dashboard", "dashboard_completeness")
    }
    arrive = {item.number: item for item in pages["arrive_report"].context["report"].items}
    dashboard = pages["dashboard"].context
    completeness = pages["dashboard_completeness"].context

    # n and mean ± SEM per group and timepoint: the dashboard's and the summary file's
    results = _arrive_table(arrive[10], "Withdrawal threshold").rows
    assert [(r[0], r[1], r[3], r[4]) for r in results] == [
        (r["group"], r["timepoint"], str(r["n"]), f"{_one_decimal(r['mean'])} ± "
         f"{_one_decimal(r['sem'])}")
        for r in dashboard["summary_rows"]
    ]  # fmt: skip
    assert [(r[0], r[1], r[3]) for r in results] == [
        (r["group"], r["timepoint"], r["n"]) for r in rows(demo.exported("summary"))
    ]

    # who is out of the study, with the reason; who the complete-case tests dropped
    out = _arrive_table(arrive[3], "Animals no longer in the study").rows
    assert [(r[0], r[2], r[4]) for r in out] == [(demo.excluded, "Excluded", "wound infection")]
    assert [
        r["animal"]["animal"] for r in completeness["rows"] if r["animal"]["status"] != "active"
    ] == [demo.excluded]
    measured = dashboard["results"]
    dropped = sorted(set(measured.threshold.dropped_animals) | set(measured.mpe.dropped_animals))
    assert dropped == [demo.voided[0]]
    assert _arrive_fact(arrive[3], "Left out of Friedman and ANOVA").startswith(
        f"{demo.voided[0]} (a missing timepoint)"
    )
    assert [*demo.voided, "wrong rat"] in _arrive_table(arrive[3], "Voided test sessions").rows

    # thresholds missing: the completeness page's cells without a value that were due while
    # the animal was in the study (the excluded animal's later timepoints are "not expected")
    gaps = {
        (r["animal"]["animal"], c["timepoint"])
        for r in completeness["rows"]
        for c in r["cells"]
        if c["state"] in ("missing", "voided", "done", "in_progress") and c["value"] is None
    }
    listed = {
        (row[0], label)
        for row in _arrive_table(arrive[3], "Allocated animals without a threshold").rows
        for label in row[2].split(", ")
    }
    assert listed == gaps and (demo.voided[0], demo.voided[1]) in listed

    # doses: the completeness page's counts and its list of doses not given
    compliance = completeness["compliance"]
    given, missed, refused = (sum(a[k] for a in compliance) for k in ("given", "missed", "refused"))
    assert (given, missed, refused) == (15 * 35 - 2, 1, 1)  # the demo's missed dose + ours
    assert _arrive_fact(arrive[9], "Doses") == f"{given} given, 1 missed, 1 refused"
    not_given = _arrive_table(arrive[9], "Doses not given").rows
    assert not_given == [
        [d["animal"], str(d["day"]), d["status"], d["reason"]] for d in completeness["not_given"]
    ]
    refused_code, refused_day = demo.refused
    assert [refused_code, str(refused_day), "refused", "struggled, not injected"] in not_given
    html = pages["arrive_report"].content.decode()
    assert "marked on the wrong day" not in html and "<td>voided</td>" not in html

    # adverse events
    events = _arrive_table(arrive[10], "Adverse events").rows
    assert [r[:4] for r in events] == [
        [e["animal"], e["group"], str(e["day"]), e["term"]] for e in completeness["events"]
    ]
    assert [r[3] for r in events] == ["hematuria"]
