"""The study's comparison family on the settings page: plain words and the R / Prism
analysis each choice matches, a reason once data exist, the change in the study's
history, and the dashboard, exports and ARRIVE report that follow it."""

import re

import pytest
from django.urls import reverse

from analysis import arrive, exports
from labstudy.audit import study_history
from labstudy.models import Study
from tests.worlds import export_text, settings_as_posted


def _settings(client, study, **changes):
    url = reverse("study_setup", args=[study.slug])
    return url, settings_as_posted(client, url, **changes)


@pytest.mark.django_db
def test_the_settings_page_says_what_each_family_compares_and_what_it_matches(
    small_study, client_for
):
    client = client_for("data_manager")
    html = client.get(reverse("study_setup", args=[small_study.slug])).content.decode()
    assert "Comparisons the charts mark" in html
    for words in (
        "Each group against control, at each timepoint",
        "Each timepoint against baseline, within each group",
        "Only the chosen timepoint pairs, within each group",
        "kwManyOneDunnTest",
        "frdManyOneDemsarTest",
        "compare each column with a control column",
    ):
        assert words in html, words
    radios = re.findall(r'<input[^>]*name="study-comparison_family"[^>]*>', html)
    assert len(radios) == 4 and all('type="radio"' in r for r in radios)
    assert [r for r in radios if "checked" in r] == [r for r in radios if 'value="all_pairs"' in r]


@pytest.mark.django_db
def test_with_data_recorded_a_new_family_needs_a_reason_and_nothing_is_saved(
    small_study, client_for
):
    # The small study is still in planning, yet its sessions are recorded.
    assert small_study.status == Study.Status.PLANNING and small_study.has_recorded_data()
    client = client_for("data_manager")
    url, data = _settings(client, small_study, comparison_family="vs_control")
    html = client.post(url, data).content.decode()
    assert "Say why the comparisons marked change: data are already recorded" in html
    small_study.refresh_from_db()
    assert small_study.comparison_family == "all_pairs"

    data["study-change_reason"] = "we compare each dose with control, as in Prism"
    assert client.post(url, data).status_code == 302
    small_study.refresh_from_db()
    assert small_study.comparison_family == "vs_control"
    latest = small_study.history.latest()
    assert latest.history_change_reason == "we compare each dose with control, as in Prism"
    assert latest.history_user.username == "dan"
    assert latest.prev_record.comparison_family == "all_pairs"
    # The audit trail (history export) carries the change and its reason.
    changes = [
        e
        for e in study_history(small_study)
        if e.model == "Study" and e.reason == "we compare each dose with control, as in Prism"
    ]
    assert len(changes) == 1 and ("comparison_family", "vs_control") in changes[0].fields


@pytest.mark.django_db
def test_without_data_the_family_changes_freely(study, client_for):
    assert not study.has_recorded_data()
    client = client_for("data_manager")
    url, data = _settings(client, study, comparison_family="vs_baseline")
    assert client.post(url, data).status_code == 302
    study.refresh_from_db()
    assert study.comparison_family == "vs_baseline"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "hostile", ["everything", "vs_control'; DROP TABLE labstudy_study;--", "<b>x</b>", "x" * 5000]
)
def test_an_unknown_family_is_refused_by_name(small_study, client_for, hostile):
    client = client_for("data_manager")
    url, data = _settings(client, small_study, comparison_family=hostile)
    data["study-change_reason"] = "trying"
    response = client.post(url, data)
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    small_study.refresh_from_db()
    assert small_study.comparison_family == "all_pairs"


@pytest.mark.django_db
def test_the_service_refuses_a_new_family_without_reason_once_data_exist(small_study, people):
    from django.core.exceptions import ValidationError

    from front.services import save_study_settings

    small_study.comparison_family = "vs_baseline"
    with pytest.raises(ValidationError, match="Say why the comparisons marked change"):
        save_study_settings(study=small_study, user=people["data_manager"], reason="")
    assert Study.objects.get(pk=small_study.pk).comparison_family == "all_pairs"


@pytest.mark.django_db
def test_exports_methods_and_arrive_follow_the_family(small_study, client_for):
    # Two groups in the small study: Mann-Whitney at each timepoint, which is in the
    # vs-control family (control is one of the two), and Wilcoxon within groups, in none.
    Study.objects.filter(pk=small_study.pk).update(comparison_family="vs_control")
    small_study.refresh_from_db()
    header, *rows = export_text(small_study, "stats").splitlines()
    columns = header.split(",")
    assert columns[-6:] == ["outcome", "family", "estimate", "ci_low", "ci_high", "estimate_name"]
    assert "test,group,timepoint,a,b,statistic,df,p,p_adj" in header
    methods = " ".join(exports.StudyExport(small_study).methods_text().split())
    assert "Dunn's many-to-one test against control with Holm correction" in methods
    assert "each group against the control group at each timepoint" in methods
    assert "Hodges–Lehmann estimate of the difference and its 95 % confidence interval" in methods
    item = arrive.statistical_methods_item(small_study, control="control", dropped=[])
    facts = {fact.label: fact.text for fact in item.recorded}
    assert "kwManyOneDunnTest" in facts["Between groups"]
    assert "Nemenyi" not in facts["Within groups"]
    assert "each group against the control group" in facts["Comparisons tested"]


@pytest.mark.django_db
def test_testing_by_the_mixed_model_needs_a_reason_and_reaches_the_methods(small_study, client_for):
    client = client_for("data_manager")
    html = client.get(reverse("study_setup", args=[small_study.slug])).content.decode()
    assert "The mixed model&#x27;s estimated marginal means" in html
    assert "R: lmer + emmeans" in html
    url, data = _settings(client, small_study, comparison_basis="model")
    assert "Say why the comparisons marked change" in client.post(url, data).content.decode()
    assert Study.objects.get(pk=small_study.pk).comparison_basis == "rank"
    data["study-change_reason"] = "as our Prism mixed-effects analysis"
    assert client.post(url, data).status_code == 302
    small_study.refresh_from_db()
    assert small_study.comparison_basis == "model"
    assert small_study.history.latest().history_change_reason == (
        "as our Prism mixed-effects analysis"
    )
    methods = " ".join(exports.StudyExport(small_study).methods_text().split())
    assert "differences of the estimated marginal means of the group × time" in methods
    assert "Tukey's adjustment" in methods  # the default family, every pair
