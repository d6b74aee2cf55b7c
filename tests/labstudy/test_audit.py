"""The audit trail pages: who changed what, when, old value, new value and why."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from animals.models import Animal, BodyWeight
from sessions import services as session_services


@pytest.fixture
def recorded(study, people):
    animal = Animal.objects.create(study=study, code="R01", cage="C1")
    weight = BodyWeight(animal=animal, date=dt.date(2026, 9, 8), grams=Decimal("251.0"))
    weight._history_user = people["technician"]
    weight.save()
    weight.grams = Decimal("215.0")
    weight._history_user = people["data_manager"]
    weight._change_reason = "digits swapped when typed"
    weight.save()
    session = session_services.start_session(
        animal=animal,
        timepoint=study.timepoints.get(label="T0"),
        paw="right",
        user=people["technician"],
    )
    session_services.record_stimulus(
        session=session, filament_size="4.31", withdrew=True, user=people["technician"]
    )
    session_services.undo_last_stimulus(session=session, user=people["technician"])
    return animal, session


@pytest.mark.django_db
def test_animal_history_shows_old_new_who_and_why(client_for, study, recorded):
    animal, _session = recorded
    html = (
        client_for("investigator")
        .get(reverse("animal_history", args=[study.slug, animal.code]))
        .content.decode()
    )
    row = html.split("R01 weight 2026-09-08")[1].split("</tr>")[0]
    assert "dan" in html.split("R01 weight 2026-09-08")[0].rsplit("<tr>", 1)[1]
    assert "<td>grams</td><td>251.0</td><td>215.0</td><td>digits swapped when typed</td>" in row
    assert "R01 T0 right stimulus #1" in html
    assert "<td>voided</td><td>False</td><td>True</td><td>undo</td>" in html


@pytest.mark.django_db
def test_session_history_lists_the_undo(client_for, study, recorded):
    _animal, session = recorded
    html = (
        client_for("data_manager")
        .get(reverse("session_history", args=[study.slug, session.pk]))
        .content.decode()
    )
    assert "Session R01 T0 right paw: audit trail" in html
    assert "<td>void_reason</td><td></td><td>undo</td>" in html


@pytest.mark.django_db
def test_blinded_technicians_and_outsiders_cannot_read_the_trail(client_for, study, recorded):
    animal, session = recorded
    for who in ("technician", "outsider"):
        client = client_for(who)
        assert (
            client.get(reverse("animal_history", args=[study.slug, animal.code])).status_code == 404
        )
        assert (
            client.get(reverse("session_history", args=[study.slug, session.pk])).status_code == 404
        )
