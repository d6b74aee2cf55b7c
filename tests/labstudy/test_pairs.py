"""Chosen timepoint comparisons (the reference paper's T7 vs T4) reach page and export."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from analysis import selectors
from front.demo import DEMO_SLUG
from labstudy.models import Study
from labstudy.pairs import bad_pair_message, parse_pairs, unknown_pair_timepoints
from tests.worlds import settings_as_posted


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


# ---------------------------------------------------------------------------
# The one reading of "T7-T4" (labstudy.pairs), on the worst input


@pytest.mark.parametrize(
    "text, pairs, bad",
    [
        ("", [], []),
        (" , ,", [], []),  # empty items are nothing, as a trailing comma is
        ("T7-T4", [("T7", "T4")], []),
        (" T7 - T4 , T5-T1,", [("T7", "T4"), ("T5", "T1")], []),
        ("T7-", [], ["T7-"]),
        ("-T4", [], ["-T4"]),
        ("T7-T7", [], ["T7-T7"]),  # a timepoint against itself compares nothing
        ("T7T4", [], ["T7T4"]),
        ("T7-T4, T3", [("T7", "T4")], ["T3"]),
        # A dash pasted from a paper or a word processor is the hyphen.
        ("T7\u2013T4", [("T7", "T4")], []),  # en dash
        ("T7\u2212T4, T5\u2014T1", [("T7", "T4"), ("T5", "T1")], []),  # minus sign, em dash
        ("T7-Pre-op", [("T7", "Pre-op")], []),  # the first dash splits; labels hold dashes
    ],
)
def test_parse_pairs(text, pairs, bad):
    parsed = parse_pairs(text)
    assert (parsed.pairs, parsed.bad) == (pairs, bad)


@pytest.mark.django_db
@pytest.mark.parametrize("text", ["T7-", "-T4", "T7-T7"])
def test_a_half_pair_or_a_timepoint_against_itself_is_refused(study, text):
    study.comparison_pairs = text
    with pytest.raises(ValidationError) as err:
        study.full_clean()
    assert err.value.message_dict["comparison_pairs"] == [f"'{text}' is not a pair like T7-T4."]


@pytest.mark.django_db
def test_an_en_dash_pair_is_the_pair_the_paper_means(study):
    study.comparison_pairs = "T7\u2013T4"
    study.full_clean()
    assert study.chosen_pairs() == [("T7", "T4")]


@pytest.mark.django_db
def test_ten_thousand_characters_are_refused_without_echoing_them(study):
    study.comparison_pairs = "T" * 10_000
    with pytest.raises(ValidationError) as err:
        study.full_clean()
    messages = err.value.message_dict["comparison_pairs"]
    assert f"'{'T' * 40}…' is not a pair like T7-T4." in messages
    assert any("at most 200 characters (it has 10000)" in m for m in messages)
    assert all(len(m) < 120 for m in messages)
    # Ten thousand characters of good pairs: too long to store, read all the same.
    assert len(parse_pairs("T7-T4," * 1700).pairs) == 1700


def test_an_invisible_character_in_a_bad_pair_is_shown():
    assert bad_pair_message("T7\u202eT4") == "'T7<U+202E>T4' is not a pair like T7-T4"
    assert bad_pair_message("T3", noun="timepoint pair") == (
        "'T3' is not a timepoint pair like T7-T4"
    )


def test_a_pair_naming_an_unknown_timepoint_says_which():
    known = {"T0", "T4", "T7"}
    assert unknown_pair_timepoints("T7-T4, T9-T4, T8\u2013T10, T7-", known) == [
        ("T9-T4", ["T9"]),
        ("T8-T10", ["T8", "T10"]),
    ]


@pytest.mark.django_db
def test_the_settings_page_stores_an_en_dash_pair_as_t7_t4(client_for, study):
    url = reverse("study_setup", args=[study.slug])
    client = client_for("data_manager")
    data = settings_as_posted(client, url, comparison_pairs="T7\u2013T4, T5-T1")
    assert client.post(url, data).status_code == 302
    study.refresh_from_db()
    assert study.comparison_pairs == "T7-T4, T5-T1"
