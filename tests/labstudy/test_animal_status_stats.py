"""Excluding an animal through the status form takes it out of the statistics' input."""

import pytest
from django.urls import reverse
from django.utils import timezone

from analysis import frames


@pytest.mark.django_db
def test_excluding_through_the_form_removes_the_animal_from_the_statistics(
    client, demo_people_and_urls
):
    study, users, kwargs = demo_people_and_urls
    before = frames.analysis_frame(frames.session_frame(study))
    code = sorted(before["animal"].unique())[0]
    n_before = before.groupby("group")["animal"].nunique()
    group = before.loc[before["animal"] == code, "group"].iloc[0]
    client.force_login(users["data_manager"])
    response = client.post(
        reverse("animal_status", args=[study.slug, code]),
        {"status": "excluded", "date": timezone.localdate().isoformat(), "reason": "sick"},
    )
    assert response.status_code == 302
    after = frames.analysis_frame(frames.session_frame(study))
    assert code not in set(after["animal"])
    n_after = after.groupby("group")["animal"].nunique()
    assert n_after[group] == n_before[group] - 1
    assert n_after.drop(group).equals(n_before.drop(group))
