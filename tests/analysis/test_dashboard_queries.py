"""The results pages read the database in the same number of queries for 5 animals as
for 200: nothing is read per animal, session, stimulus or dose."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from animals.models import Animal
from labstudy import services
from labstudy.models import Membership, Role
from tests.worlds import bulk_study

PAGES = ("dashboard", "dashboard_completeness", "dashboard_figure", "dashboard_mixed_model")


@pytest.fixture
def small_and_large(study, people):
    large = services.create_study(
        template_key="psnl-vf-3x8",
        slug="large",
        title="Large study",
        day0_date=study.day0_date,
        user=people["data_manager"],
    )
    Membership.objects.create(user=people["investigator"], study=large, role=Role.INVESTIGATOR)
    bulk_study(study, 5)
    bulk_study(large, 200)
    return study, large


def count(client, url) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured), response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("name", PAGES)
def test_query_count_is_the_same_for_5_and_200_animals(client_for, small_and_large, name):
    client = client_for("investigator")
    small, large = small_and_large
    n_small, _ = count(client, reverse(name, args=[small.slug]))
    n_large, html = count(client, reverse(name, args=[large.slug]))
    assert n_small == n_large <= 20
    if name == "dashboard":
        assert 'data-test="kruskal"' in html  # the statistics really ran on 200 animals


@pytest.mark.django_db
def test_animal_page_query_count_does_not_grow(client_for, small_and_large):
    client = client_for("investigator")
    small, large = small_and_large
    counts = []
    for study in (small, large):
        animal = Animal.objects.filter(study=study).order_by("code").first()
        counts.append(count(client, reverse("dashboard_animal", args=[study.slug, animal.pk]))[0])
    assert counts[0] == counts[1] <= 25
