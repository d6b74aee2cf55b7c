"""Changing an animal's status from the web (data managers and investigators): date and
reason required, kept in the audit trail with who and why, shown on the overview, and an
excluded animal leaves the statistics."""

import datetime as dt
import html
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from animals.models import Animal
from labstudy import audit
from labstudy.models import Study


def status_url(bench, code="R01"):
    return reverse("animal_status", args=[bench.study.slug, code])


@pytest.mark.django_db
def test_a_data_manager_excludes_an_animal_and_the_overview_shows_it(client_for, bench):
    client = client_for("data_manager")
    day = bench.today - dt.timedelta(days=2)
    response = client.post(
        status_url(bench),
        {"status": "excluded", "date": day.isoformat(), "reason": "autotomy of the injured paw"},
        follow=True,
    )
    page = response.content.decode()
    assert f"R01 is now marked excluded, dated {day:%d %b %Y};" in page
    animal = Animal.objects.get(pk=bench.animals["R01"].pk)
    assert (animal.status, animal.status_date, animal.status_reason) == (
        "excluded",
        day,
        "autotomy of the injured paw",
    )
    # The overview's animal list: status, date and reason on R01's row.
    row = page.split("<td>R01</td>", 1)[1].split("</tr>", 1)[0]
    assert f"Excluded {day:%-d %b %Y}: autotomy of the injured paw" in row
    assert status_url(bench) in row


@pytest.mark.django_db
def test_the_change_is_in_the_animal_history_with_who_and_why(client_for, bench, people):
    client = client_for("investigator")
    client.post(
        status_url(bench, "R02"),
        {"status": "euthanised", "date": bench.today.isoformat(), "reason": "humane end point"},
    )
    rows = [r for r in audit.animal_trail(bench.animals["R02"]) if r.field == "status"]
    assert [(r.who, r.old, r.new) for r in rows] == [("ivy", "active", "euthanised")]
    assert "humane end point" in rows[0].reason
    page = client.get(reverse("animal_history", args=[bench.study.slug, "R02"])).content.decode()
    row = next(r for r in page.split("<tr>") if "<td>status</td>" in r)
    assert "<td>ivy</td>" in row and "humane end point" in row and "<td>euthanised</td>" in row
    assert status_url(bench, "R02") in page  # the trail links back to the status form


@pytest.mark.django_db
def test_back_to_active_needs_a_reason_too(client_for, bench):
    client = client_for("data_manager")
    url = status_url(bench)
    day = bench.today.isoformat()
    client.post(url, {"status": "excluded", "date": day, "reason": "wrong surgery side"})
    page = client.post(url, {"status": "active", "date": day, "reason": " "}).content.decode()
    assert "Reason is required: say why the status changes." in page
    assert Animal.objects.get(pk=bench.animals["R01"].pk).status == "excluded"
    client.post(url, {"status": "active", "date": day, "reason": "excluded by mistake: R10 was"})
    animal = Animal.objects.get(pk=bench.animals["R01"].pk)
    assert (animal.status, animal.status_reason) == ("active", "excluded by mistake: R10 was")
    rows = [r for r in audit.animal_trail(animal) if r.field == "status"]
    assert [(r.old, r.new) for r in rows] == [("excluded", "active"), ("active", "excluded")]
    assert "excluded by mistake" in rows[0].reason


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"status": "excluded", "date": "TODAY"}, "reason", "Reason is required"),
        ({"status": "died", "date": "TOMORROW", "reason": "dead"}, "date", "is in the future"),
        ({"status": "died", "reason": "found dead"}, "date", "Date is required"),
        ({"status": "died", "date": "BEFORE", "reason": "x"}, "date", "before the study's first"),
        ({"date": "TODAY", "reason": "x"}, "status", "New status is required"),
        ({"status": "active", "date": "TODAY", "reason": "x"}, "status", "R01 is already active."),
    ],
)
def test_a_bad_change_is_refused_with_a_message_naming_the_field(
    client_for, bench, data, field, message
):
    today = timezone.localdate()
    first = bench.study.date_of_day(bench.study.first_day)
    dates = {
        "TODAY": today,
        "TOMORROW": today + dt.timedelta(days=1),
        "BEFORE": first - dt.timedelta(days=1),
    }
    if "date" in data:
        data = {**data, "date": dates[data["date"]].isoformat()}
    response = client_for("data_manager").post(status_url(bench), data)
    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    # The message sits under its own field (crispy gives it the id error_1_id_<field>).
    error = re.search(rf'id="error_1_id_{field}"[^>]*>(.*?)</(?:span|p)>', page, re.S)
    text = re.sub(r"<[^>]+>", "", error.group(1)).strip() if error else ""
    assert message in text
    if field in ("reason", "date"):
        assert text.startswith(field.capitalize())  # the message names its field
    animal = Animal.objects.get(pk=bench.animals["R01"].pk)
    assert (animal.status, animal.status_reason) == ("active", "")
    assert animal.history.count() == 1  # created only


@pytest.mark.django_db
def test_a_technician_gets_404_and_sees_no_status_control(client_for, bench):
    client = client_for("technician")
    url = status_url(bench)
    assert client.get(url).status_code == 404
    data = {"status": "excluded", "date": bench.today.isoformat(), "reason": "x"}
    assert client.post(url, data).status_code == 404
    assert Animal.objects.get(pk=bench.animals["R01"].pk).status == "active"
    overview = client.get(reverse("study_overview", args=[bench.study.slug])).content.decode()
    assert "Change status" not in overview


@pytest.mark.django_db
def test_a_locked_study_refuses_a_status_change(client_for, bench):
    bench.study.status = Study.Status.LOCKED
    bench.study.save()
    data = {"status": "excluded", "date": bench.today.isoformat(), "reason": "x"}
    page = client_for("data_manager").post(status_url(bench), data).content.decode()
    assert "The study is locked: nothing can be recorded." in page
    assert Animal.objects.get(pk=bench.animals["R01"].pk).status == "active"


@pytest.mark.django_db
def test_a_long_reason_is_kept_whole_on_the_animal(client_for, bench):
    """A 270-character reason is kept whole on the animal and in its history (the history's
    reason is a text column; django-simple-history's default of 100 characters would be
    refused by PostgreSQL). Runs on PostgreSQL in CI."""
    reason = "humane end point: " + "weight loss over 20 % and hunched posture; " * 6
    client_for("data_manager").post(
        status_url(bench),
        {"status": "euthanised", "date": bench.today.isoformat(), "reason": reason},
    )
    animal = Animal.objects.get(pk=bench.animals["R01"].pk)
    assert (animal.status, animal.status_reason) == ("euthanised", reason.strip())
    rows = {r.field: r for r in audit.animal_trail(animal)}
    assert rows["status_reason"].new == reason.strip()
    assert rows["status"].reason == f"active → euthanised: {reason.strip()}"
