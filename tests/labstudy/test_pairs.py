"""Chosen timepoint comparisons (the reference paper's T7 vs T4) reach page and export."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from analysis import selectors
from front.demo import DEMO_SLUG
from labstudy.models import Study


@pytest.mark.django_db
def test_pairs_must_look_like_t7_t4(study):
    assert study.chosen_pairs() == [("T7", "T4")]  # from the PSNL template
    study.comparison_pairs = "T7-T4, T3"
    with pytest.raises(ValidationError) as err:
        study.full_clean()
    assert "'T3' is not a pair like T7-T4." in err.value.message_dict["comparison_pairs"]


@pytest.mark.django_db
def test_t7_vs_t4_is_picked_out_on_the_dashboard_and_in_the_stats_export(client, demo_study):
    study = Study.objects.get(slug=DEMO_SLUG)
    results = selectors.study_results(study).threshold.statistics
    chosen = results[results["role"] == "chosen pair"]
    k10 = chosen[chosen["group"] == "K10"]
    assert (k10["a"].tolist(), k10["b"].tolist()) == (["T7"], ["T4"])
    assert (k10["test"] == "nemenyi_friedman").all()
    client.login(username="investigator", password="labstudy-demo")
    page = client.get(reverse("dashboard", args=[study.slug])).content.decode()
    assert "T7 vs T4" in page
    csv = b"".join(
        client.get(reverse("export_table", args=[study.slug, "stats"])).streaming_content
    ).decode()
    assert any(line.startswith("nemenyi_friedman,K10,,T7,T4,") for line in csv.splitlines()), csv[
        :500
    ]
