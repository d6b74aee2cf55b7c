"""Weights (range checks, confirmation of big changes, voids) and observations (quick
picks, free text, found dead) from the bench."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from animals import services
from animals.models import Animal, BodyWeight, Observation


def post_weight(client, bench, grams, *, code="R01", confirm=False):
    data = {"date": bench.today.isoformat(), "grams": grams}
    if confirm:
        data["confirm"] = "1"
    url = reverse("bench_weight_record", args=[bench.study.slug, bench.animals[code].pk])
    return client.post(url, data, HTTP_HX_REQUEST="true").content.decode()


@pytest.mark.django_db
def test_weights_page_has_a_numeric_keypad_field_per_animal(client_for, bench):
    html = client_for("technician").get(reverse("bench_weights", args=[bench.study.slug]))
    html = html.content.decode()
    assert html.count('inputmode="decimal"') == 4
    assert "Last: 300.0 g on" in html and "(7 days before)" in html
    assert re.search(
        r"<strong data-count=\"done\">0</strong> of <span data-count=\"due\">4</span> due weighed",
        html,
    )


@pytest.mark.django_db
@pytest.mark.parametrize("grams", ["0", "5000", "49.9", "1000.1", "-3"])
def test_an_impossible_weight_is_refused_with_a_message(client_for, bench, grams):
    html = post_weight(client_for("technician"), bench, grams)
    assert "is not a plausible rat weight (50–1,000 g)" in html
    assert BodyWeight.objects.count() == 4  # only the fixture's


@pytest.mark.django_db
def test_text_that_is_not_a_number_is_refused(client_for, bench):
    html = post_weight(client_for("technician"), bench, "three hundred")
    assert "Enter the weight in grams, e.g. 312.5." in html
    assert BodyWeight.objects.count() == 4


@pytest.mark.django_db
def test_a_normal_weight_is_saved_with_a_comma_decimal(client_for, bench, people):
    html = post_weight(client_for("technician"), bench, "312,4")
    assert "R01: 312.4 g saved." in html and "✓ weighed" in html
    weight = BodyWeight.objects.get(date=bench.today)
    assert (weight.grams, weight.created_by) == (Decimal("312.4"), people["technician"])


@pytest.mark.django_db
def test_a_change_over_ten_percent_asks_for_confirmation(client_for, bench):
    client = client_for("technician")
    html = post_weight(client, bench, "340")  # +13 % from 300 g
    assert "340.0 g is 13 % more than the last weight (300.0 g on" in html
    assert "Save it anyway?" in html and "Yes, save 340 g" in html
    assert not BodyWeight.objects.filter(date=bench.today).exists()
    html = post_weight(client, bench, "340", confirm=True)
    assert "R01: 340.0 g saved." in html
    assert BodyWeight.objects.get(date=bench.today).grams == Decimal("340.0")
    # A drop is asked about too; 10 % exactly is not.
    assert "less than the last weight" in post_weight(client, bench, "260", code="R02")
    assert "saved" in post_weight(client, bench, "270", code="R03")


@pytest.mark.django_db
def test_a_wrong_weight_is_voided_with_a_reason_and_kept(client_for, bench):
    client = client_for("technician")
    post_weight(client, bench, "305")
    weight = BodyWeight.objects.get(date=bench.today)
    url = reverse("bench_weight_void", args=[bench.study.slug, weight.pk])
    html = client.post(
        url, {"date": bench.today.isoformat(), "reason": "scale not tared"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "305.0 g voided" in html
    weight.refresh_from_db()
    assert (weight.voided, weight.void_reason) == (True, "scale not tared")
    assert weight.history.first().history_change_reason == "scale not tared"
    assert services.latest_weight(bench.animals["R01"], bench.today).date < bench.today


@pytest.mark.django_db
def test_observations_quick_picks_and_free_text(client_for, bench, people):
    client = client_for("technician")
    url = reverse("bench_observations", args=[bench.study.slug])
    page = client.get(url).content.decode()
    for term in services.OBSERVATION_PICKS:
        assert term in page.replace("&gt;", ">")
    response = client.post(
        url,
        {
            "date": bench.today.isoformat(),
            "animal": bench.animals["R02"].pk,
            "terms": ["hematuria", "sedation"],
            "severity": "mild",
            "notes": "pink urine on the bedding",
        },
        follow=True,
    )
    assert "R02: recorded hematuria, sedation." in response.content.decode()
    rows = list(
        Observation.objects.order_by("term").values_list("term", "kind", "severity", "notes")
    )
    assert rows == [
        ("hematuria", "adverse_event", "mild", "pink urine on the bedding"),
        ("sedation", "clinical_sign", "mild", "pink urine on the bedding"),
    ]
    assert Observation.objects.filter(created_by=people["technician"]).count() == 2
    client.post(
        url,
        {"date": bench.today.isoformat(), "animal": bench.animals["R03"].pk, "notes": "calm"},
    )
    assert Observation.objects.get(animal=bench.animals["R03"]).kind == "note"


@pytest.mark.django_db
def test_an_observation_needs_an_animal_and_something_seen(client_for, bench):
    client = client_for("technician")
    url = reverse("bench_observations", args=[bench.study.slug])
    html = client.post(url, {"date": bench.today.isoformat(), "terms": ["autotomy"]})
    assert "Pick the animal." in html.content.decode()
    html = client.post(url, {"date": bench.today.isoformat(), "animal": bench.animals["R01"].pk})
    assert "Pick what you saw or write a note." in html.content.decode()
    assert not Observation.objects.exists()


@pytest.mark.django_db
def test_found_dead_marks_the_animal_died_and_it_leaves_the_day_list(client_for, bench):
    client = client_for("technician")
    client.post(
        reverse("bench_observations", args=[bench.study.slug]),
        {
            "date": bench.today.isoformat(),
            "animal": bench.animals["R04"].pk,
            "terms": ["found dead"],
        },
    )
    animal = Animal.objects.get(pk=bench.animals["R04"].pk)
    assert (animal.status, animal.status_date) == ("died", bench.today)
    assert animal.history.first().history_change_reason == "found dead (observation)"
    html = client.get(reverse("bench_today", args=[bench.study.slug])).content.decode()
    assert '<span class="bench-code">R04</span>' not in html


@pytest.mark.django_db
def test_an_observation_is_voided_with_a_reason(client_for, bench):
    client = client_for("technician")
    url = reverse("bench_observations", args=[bench.study.slug])
    client.post(
        url,
        {"date": bench.today.isoformat(), "animal": bench.animals["R01"].pk, "terms": ["autotomy"]},
    )
    observation = Observation.objects.get()
    client.post(
        reverse("bench_observation_void", args=[bench.study.slug, observation.pk]),
        {"date": bench.today.isoformat(), "reason": "wrong rat"},
    )
    observation.refresh_from_db()
    assert (observation.voided, observation.void_reason) == (True, "wrong rat")
    assert "void: wrong rat" in client.get(url).content.decode()


@pytest.mark.django_db
def test_weights_in_the_future_are_refused(bench, people):
    with pytest.raises(ValidationError, match="in the future"):
        services.record_weight(
            animal=bench.animals["R01"],
            grams=Decimal("300"),
            date=bench.today + dt.timedelta(days=1),
            user=people["technician"],
        )


@pytest.mark.django_db
def test_severity_offers_not_graded_picked_by_default_and_stores_it_empty(client_for, bench):
    client = client_for("technician")
    url = reverse("bench_observations", args=[bench.study.slug])
    page = client.get(url).content.decode()
    assert re.search(r'<input[^>]*id="obs-sev-none"[^>]*value=""[^>]*checked', page)
    assert 'for="obs-sev-none">Not graded</label>' in page
    assert not re.search(r'<input[^>]*id="obs-sev-mild"[^>]*checked', page)
    day = bench.today.isoformat()
    # The "Not graded" radio sends an empty value; a form without the field sends nothing.
    client.post(url, {"date": day, "animal": bench.animals["R01"].pk, "terms": ["sedation"],
                      "severity": ""})  # fmt: skip
    client.post(url, {"date": day, "animal": bench.animals["R02"].pk, "notes": "calm"})
    assert sorted(Observation.objects.values_list("animal__code", "severity")) == [
        ("R01", ""),
        ("R02", ""),
    ]
    # A refused form keeps the grade the technician picked.
    page = client.post(url, {"date": day, "severity": "moderate", "notes": "x"}).content.decode()
    assert re.search(r'<input[^>]*id="obs-sev-moderate"[^>]*checked', page)
    assert not re.search(r'<input[^>]*id="obs-sev-none"[^>]*checked', page)


@pytest.mark.django_db
def test_a_long_void_reason_is_kept_whole_in_the_record_and_its_history(client_for, bench):
    """django-simple-history's default reason column holds 100 characters (PostgreSQL
    refuses more); ours is a text column (SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD),
    so a 256-character reason is kept whole in both. Runs on PostgreSQL in CI."""
    client = client_for("technician")
    post_weight(client, bench, "305")
    weight = BodyWeight.objects.get(date=bench.today)
    reason = "scale not tared after cleaning; " * 8
    client.post(
        reverse("bench_weight_void", args=[bench.study.slug, weight.pk]),
        {"date": bench.today.isoformat(), "reason": reason},
        HTTP_HX_REQUEST="true",
    )
    weight.refresh_from_db()
    assert (weight.voided, weight.void_reason) == (True, reason.strip())
    assert weight.history.first().history_change_reason == reason.strip()
