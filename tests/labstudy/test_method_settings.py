"""Ascending and percent response as study settings (issue 15): chosen on the settings
page with their N, withdrawals needed and filaments in use; bad or hostile input gets a
message naming the field and nothing is saved; once data exist a change needs a reason,
and a change between the up-down family and the ascending family is refused."""

import pytest
from django.urls import reverse

from labstudy.models import Study
from tests.worlds import settings_as_posted


def _settings(client, study, **changes):
    url = reverse("study_setup", args=[study.slug])
    return url, settings_as_posted(client, url, **changes)


@pytest.mark.django_db
def test_percent_response_is_chosen_with_its_settings(study, client_for):
    client = client_for("data_manager")
    html = client.get(reverse("study_setup", args=[study.slug])).content.decode()
    for words in (
        "Percent response (withdrawal frequency per filament)",
        "Ascending method of limits",
        "Applications per filament (N)",
        "Withdrawals needed (of N)",
        "Filaments in use",
    ):
        assert words in html, words
    url, data = _settings(
        client,
        study,
        threshold_method="percent_response",
        applications_per_filament="10",
        withdrawals_needed="5",
        method_filaments="4.56,4.08 4.31, 4.08",
    )
    assert client.post(url, data).status_code == 302
    study.refresh_from_db()
    assert study.threshold_method == "percent_response"
    # Stored as the set spells them, ascending, once each.
    assert study.method_filaments == "4.08, 4.31, 4.56"
    assert study.method_params == {
        "applications": 10,
        "withdrawals": 5,
        "subset": ["4.08", "4.31", "4.56"],
    }


@pytest.mark.django_db
def test_empty_settings_take_the_methods_defaults(study):
    study.threshold_method = "ascending"
    assert (study.method_applications, study.method_withdrawals) == (1, 1)
    study.threshold_method = "percent_response"
    assert (study.method_applications, study.method_withdrawals) == (5, 3)
    study.applications_per_filament = 2
    assert study.method_withdrawals == 2  # 3 of 2 cannot be: capped at N


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"applications_per_filament": "3", "withdrawals_needed": "4"},
            "withdrawals_needed",
            "4 withdrawals cannot be needed out of 3 applications per filament.",
        ),
        ({"applications_per_filament": "0"}, "applications_per_filament", "greater than or"),
        ({"applications_per_filament": "21"}, "applications_per_filament", "less than or"),
        ({"applications_per_filament": "1e9"}, "applications_per_filament", "whole number"),
        ({"withdrawals_needed": "-1"}, "withdrawals_needed", "greater than or"),
        ({"method_filaments": "4.31, 9.99"}, "method_filaments", "Filament '9.99' is not in"),
        (
            {"method_filaments": "<script>alert(1)</script>"},
            "method_filaments",
            "is not a filament size such as 4.31",
        ),
        ({"method_filaments": "4.31; DROP TABLE"}, "method_filaments", "not a filament size"),
        ({"method_filaments": "٤.٣١"}, "method_filaments", "not a filament size"),
        ({"method_filaments": "NaN"}, "method_filaments", "not a filament size"),
        ({"method_filaments": "4.31 " * 60}, "method_filaments", "at most 200 characters"),
    ],
)
def test_bad_method_settings_get_a_message_and_nothing_is_saved(
    study, client_for, changes, field, message
):
    client = client_for("data_manager")
    url, data = _settings(client, study, threshold_method="percent_response", **changes)
    response = client.post(url, data)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors and message in " ".join(errors[field]), errors
    assert "<script>alert(1)</script>" not in response.content.decode()  # escaped if echoed
    study.refresh_from_db()
    assert study.threshold_method == "first_response"


@pytest.mark.django_db
def test_with_taps_recorded_the_family_cannot_change_and_a_setting_needs_a_reason(
    small_study, client_for
):
    assert small_study.has_recorded_data() and small_study.threshold_method == "first_response"
    client = client_for("data_manager")
    url, data = _settings(
        client, small_study, threshold_method="ascending", change_reason="we count now"
    )
    html = client.post(url, data).content.decode()
    assert "The method cannot change from target force" in html
    assert "a series cannot be read the other way" in html
    small_study.refresh_from_db()
    assert small_study.threshold_method == "first_response"

    # Within the up-down family the same stimuli give the new numbers: with a reason.
    url, data = _settings(client, small_study, threshold_method="up_down")
    html = client.post(url, data).content.decode()
    assert "Say why the threshold method or its settings change" in html
    data["study-change_reason"] = "the journal asks for Chaplan's 50 % threshold"
    assert client.post(url, data).status_code == 302
    small_study.refresh_from_db()
    assert small_study.threshold_method == "up_down"
    assert small_study.history.latest().prev_record.threshold_method == "first_response"


@pytest.mark.django_db
def test_without_taps_the_method_changes_freely(study, client_for):
    assert study.status == Study.Status.PLANNING
    client = client_for("data_manager")
    url, data = _settings(client, study, threshold_method="ascending")
    assert client.post(url, data).status_code == 302
    study.refresh_from_db()
    assert study.threshold_method == "ascending"
