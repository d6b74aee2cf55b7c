"""A weight over 15 % below the animal's last one: the weights screen offers the matching
observation and the study overview flags the animal; a second weight on one day asks."""

import datetime as dt
import re
import uuid
from decimal import Decimal

import pytest
from django.urls import reverse

from animals.models import BodyWeight
from animals.selectors import weight_loss_flags


def save_weight(client, bench, code, grams, **extra):
    animal = bench.animals[code]
    return client.post(
        reverse("bench_weight_record", args=[bench.study.slug, animal.pk]),
        {
            "date": bench.today.isoformat(),
            "grams": grams,
            "client_uuid": str(uuid.uuid4()),
            **extra,
        },
        HTTP_HX_REQUEST="true",
    )


def test_a_loss_over_15_percent_offers_the_observation_and_flags_the_overview(bench, client_for):
    technician = client_for("technician")
    # 300 g a week ago -> 250 g: 16.7 % less. Over 10 %, so it is confirmed first.
    asked = save_weight(technician, bench, "R02", "250")
    assert "Yes, save 250 g" in asked.content.decode()
    assert not BodyWeight.objects.filter(animal=bench.animals["R02"], date=bench.today).exists()
    html = save_weight(technician, bench, "R02", "250", confirm="1").content.decode()
    assert "250.0 g saved. That is 16 % less than the last weight (300.0 g on" in html
    link = re.search(r'<a class="btn btn-warning[^"]*" href="([^"]+)">([^<]+)</a>', html)
    assert link.group(2) == "Record “weight loss &gt; 15 %” for R02"
    observations = technician.get(link.group(1).replace("&amp;", "&")).content.decode()
    animal_box = re.search(
        rf'<input[^>]*id="obs-animal-{bench.animals["R02"].pk}"[^>]*>', observations
    )
    assert "checked" in animal_box.group(0)
    term_box = re.search(r'<input[^>]*value="weight loss &gt; 15 %"[^>]*>', observations)
    assert "checked" in term_box.group(0)

    overview = client_for("investigator").get(reverse("study_overview", args=[bench.study.slug]))
    page = overview.content.decode()
    flags = re.search(
        r'<div class="alert alert-warning" role="status" id="weight-loss-flags">(.*?)</div>',
        page,
        re.S,
    ).group(1)
    assert "R02 (300 g on" in flags and "→ 250 g on" in flags and "−16 %" in flags
    assert "R01" not in flags
    assert "lost 16 % weight" in page


def test_exactly_15_percent_is_not_flagged_and_a_voided_weight_does_not_count(bench, people):
    today = bench.today
    BodyWeight.objects.create(animal=bench.animals["R01"], date=today, grams=Decimal("255.0"))
    wrong = BodyWeight.objects.create(
        animal=bench.animals["R03"], date=today, grams=Decimal("200.0")
    )
    assert bench.animals["R03"].pk in weight_loss_flags(bench.study)
    wrong.voided, wrong.void_reason = True, "typo"
    wrong.save()
    flags = weight_loss_flags(bench.study)
    assert bench.animals["R01"].pk not in flags  # 15.0 %, not over
    assert bench.animals["R03"].pk not in flags
    BodyWeight.objects.create(
        animal=bench.animals["R04"], date=today - dt.timedelta(days=1), grams=Decimal("254.9")
    )
    assert flags_of(bench) == {"R04": 15}


def flags_of(bench) -> dict[str, int]:
    by_pk = {a.pk: code for code, a in bench.animals.items()}
    return {by_pk[pk]: loss.percent for pk, loss in weight_loss_flags(bench.study).items()}


def test_a_gain_or_a_small_loss_says_nothing_more(bench, client_for):
    html = save_weight(client_for("technician"), bench, "R01", "290").content.decode()
    assert "290.0 g saved." in html and "less than the last weight" not in html
    assert "btn btn-warning" not in html


def test_a_second_weight_on_the_same_day_asks_first(bench, client_for):
    technician = client_for("technician")
    assert "saved" in save_weight(technician, bench, "R03", "301").content.decode()
    html = save_weight(technician, bench, "R03", "302").content.decode()
    assert "already has a weight on" in html and "Yes, save 302 g" in html
    assert BodyWeight.objects.filter(animal=bench.animals["R03"], date=bench.today).count() == 1
    save_weight(technician, bench, "R03", "302", confirm="1")
    assert BodyWeight.objects.filter(animal=bench.animals["R03"], date=bench.today).count() == 2


@pytest.mark.parametrize(
    "query",
    [
        {"animal": "<script>alert(1)</script>", "terms": "<img src=x onerror=alert(1)>"},
        {"animal": "99999999999999999999", "terms": "weight loss > 15 %"},
        {"animal": "-1", "terms": ["hematuria", "x" * 5000]},
        {"animal": "\x00", "terms": "\x00"},
    ],
)
def test_hostile_prefill_links_show_the_plain_form(bench, client_for, query):
    response = client_for("technician").get(
        reverse("bench_observations", args=[bench.study.slug]), query
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert not re.search(r'<input[^>]*name="animal"[^>]*checked', html)
