"""The study's bench keys (keyboard, foot pedal, presentation clicker): set on the study
settings page, validated (known key names only, each key one action), shown on the von
Frey screen and handed to its script."""

import json
import re

import pytest
from django.urls import reverse

from labstudy import bench_keys
from labstudy.models import Study
from tests.worlds import session_url, settings_as_posted


@pytest.fixture
def setup(client_for, study):
    client = client_for("data_manager")
    url = reverse("study_setup", args=[study.slug])
    return client, url


def post_keys(client, url, **keys):
    data = settings_as_posted(client, url, **keys)
    return client.post(url, data)


def test_new_study_has_the_clicker_defaults(study):
    assert study.bench_keys_withdrawal == "PageDown ArrowRight"
    assert study.bench_keys_no_response == "PageUp ArrowLeft"
    assert study.bench_keys_undo == "b ."


def test_keys_are_saved_in_their_canonical_spelling(setup, study):
    client, url = setup
    response = post_keys(
        client,
        url,
        bench_keys_withdrawal="pagedown, ENTER",
        bench_keys_no_response="space",
        bench_keys_undo="B",
    )
    assert response.status_code == 302, response.context["form"].errors
    study.refresh_from_db()
    assert study.bench_keys_withdrawal == "PageDown Enter"
    assert study.bench_keys_no_response == "Space"
    assert study.bench_keys_undo == "b"


def test_a_running_study_changes_keys_without_a_reason(setup, study):
    client, url = setup
    Study.objects.filter(pk=study.pk).update(status=Study.Status.RUNNING)
    response = post_keys(client, url, bench_keys_undo="u")
    assert response.status_code == 302
    study.refresh_from_db()
    assert study.bench_keys_undo == "u"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("bench_keys_undo", "PageDown", "'PageDown' is already the key for Withdrawal"),
        ("bench_keys_withdrawal", "F5", "'F5' is not a key name this screen accepts"),
        ("bench_keys_withdrawal", "Tab", "'Tab' is not a key name"),
        ("bench_keys_withdrawal", "<script>alert(1)</script>", "is not a key name"),
        ("bench_keys_withdrawal", "Ctrl+Alt+Delete", "is not a key name"),
        ("bench_keys_withdrawal", "'; DROP TABLE labstudy_study; --", "is not a key name"),
        ("bench_keys_withdrawal", '=HYPERLINK("http://x")', "is not a key name"),
        ("bench_keys_withdrawal", "\u202eevil", "is not a key name"),
        ("bench_keys_withdrawal", "a b c d e", "at most 4 keys"),
        ("bench_keys_withdrawal", "   ", "required"),
        ("bench_keys_no_response", "x" * 500, "at most 60 characters"),
    ],
)
def test_hostile_or_wrong_keys_get_a_field_message(setup, study, field, value, message):
    client, url = setup
    response = post_keys(client, url, **{field: value})
    assert response.status_code == 200
    errors = " ".join(response.context["form"].errors.get(field, []))
    assert message in errors
    study.refresh_from_db()
    assert study.bench_keys_withdrawal == "PageDown ArrowRight"  # nothing half-written
    assert study.bench_keys_undo == "b ."


def test_the_same_key_twice_in_one_action_is_one_key():
    assert bench_keys.parse("b B b", label="Undo") == ["b"]


def test_a_comma_alone_is_the_comma_key():
    assert bench_keys.parse("b ,", label="Undo") == ["b", ","]
    assert bench_keys.parse("PageDown,ArrowRight", label="Withdrawal") == [
        "PageDown",
        "ArrowRight",
    ]


def test_the_session_screen_names_the_keys_and_hands_them_to_its_script(client_for, bench):
    study = bench.study
    study.bench_keys_withdrawal = "AudioVolumeUp"
    study.save()
    response = client_for("technician").get(session_url(bench))
    html = response.content.decode()
    hint = re.search(r'<p id="bench-keys-hint".*?</p>', html, re.S).group(0)
    assert "<strong>Withdrawal</strong> Volume up" in hint
    assert "<strong>Undo</strong> B or full stop (.)" in hint
    config = json.loads(
        re.search(
            r'<script id="bench-config" type="application/json">(.*?)</script>', html, re.S
        ).group(1)
    )
    assert config["keys"] == {
        "withdrawal": ["AudioVolumeUp"],
        "no_response": ["PageUp", "ArrowLeft"],
        "undo": ["b", "."],
    }


def test_a_stored_value_the_screen_cannot_use_falls_back_to_the_defaults(client_for, bench):
    Study.objects.filter(pk=bench.study.pk).update(bench_keys_withdrawal="Escape")  # not via clean
    response = client_for("technician").get(session_url(bench))
    assert "<strong>Withdrawal</strong> Page Down or → (right arrow)" in response.content.decode()
