"""Pasting animals with an optional 4th column: date of birth (YYYY-MM-DD) or age on
arrival in weeks. A bad value names its line and column, and nothing is added."""

import datetime as dt
import html

import pytest
from django.urls import reverse
from django.utils import timezone


def paste(client, study, text):
    return client.post(reverse("study_add_animals", args=[study.slug]), {"codes": text})


@pytest.mark.django_db
def test_date_of_birth_or_age_in_weeks_as_the_fourth_column(client_for, study):
    text = (
        "R01, C1, male, 2026-06-15\n"
        "R02\tC1\tf\t8 wk\n"
        "R03; C2; ; 9\n"
        "R04, C2, m, 10 weeks\n"
        "R05, C3\n"
        "R06, C3, female,\n"
    )
    response = paste(client_for("data_manager"), study, text)
    assert response.status_code == 302
    rows = list(
        study.animals.order_by("code").values_list(
            "code", "cage", "sex", "date_of_birth", "age_at_arrival_weeks"
        )
    )
    assert rows == [
        ("R01", "C1", "male", dt.date(2026, 6, 15), None),
        ("R02", "C1", "female", None, 8),
        ("R03", "C2", "male", None, 9),
        ("R04", "C2", "male", None, 10),
        ("R05", "C3", "male", None, None),
        ("R06", "C3", "female", None, None),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("2026-02-30", "'2026-02-30' is not a real date"),
        ("TOMORROW", "is in the future"),
        ("8.5 wk", "is neither a date of birth (YYYY-MM-DD"),
        ("15/06/2026", "is neither a date of birth (YYYY-MM-DD"),
        ("eight weeks", "nor an age in whole weeks (e.g. 8 wk)"),
        ("0 wk", "age 0 weeks is outside 1–200 weeks"),
        ("201", "age 201 weeks is outside 1–200 weeks"),
    ],
)
def test_a_bad_birth_value_names_line_and_column_and_adds_nothing(client_for, study, value, reason):
    if value == "TOMORROW":
        value = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    text = f"R01, C1, male, 8 wk\nR02, C1, male, {value}\nR03, C2"
    response = paste(client_for("data_manager"), study, text)
    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    assert "line 2, column 4 (date of birth or age): " in page
    assert reason in page
    assert study.animals.count() == 0


@pytest.mark.django_db
def test_more_than_four_values_is_refused(client_for, study):
    response = paste(client_for("data_manager"), study, "R01, C1, male, 8 wk, extra")
    page = html.unescape(response.content.decode())
    assert "line 1: expected at most 4 values (code, cage, sex, date of birth or age)" in page
    assert study.animals.count() == 0


@pytest.mark.django_db
def test_the_page_explains_the_fourth_column(client_for, study):
    page = client_for("data_manager").get(reverse("study_add_animals", args=[study.slug]))
    text = html.unescape(page.content.decode())
    assert "date of birth (YYYY-MM-DD, e.g. 2026-06-15)" in text
    assert "age on arrival in weeks (e.g. 8 wk, or just 8)" in text


@pytest.mark.django_db
@pytest.mark.parametrize(
    "header",
    ["Animal\tCage\tSex\tDOB", "animal id, cage, sex", "Rat #;Cage no.;Sex;Age (weeks)", "ID"],
)
def test_a_pasted_header_row_is_named_and_nothing_is_added(client_for, study, header):
    before = study.animals.count()
    text = f"{header}\nR01\tC1\tmale\t2026-06-15\nR02\tC1\tmale\t8\n"
    response = paste(client_for("data_manager"), study, text)
    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    assert "line 1 looks like a header row (" in page
    assert "remove it or keep it out of the selection" in page
    assert study.animals.count() == before


@pytest.mark.django_db
def test_an_animal_coded_like_a_column_word_is_still_an_animal(client_for, study):
    # "Rat 7" is not a column title, and a lone code next to a real cage is data.
    response = paste(client_for("data_manager"), study, "Rat 7, C1\nRat, C2\n")
    assert response.status_code == 302
    assert set(study.animals.values_list("code", flat=True)) >= {"Rat 7", "Rat"}
