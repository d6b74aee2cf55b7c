"""Statistics computed once per state of the data (issue 17): the cache
(analysis/stats_cache.py) is keyed on a digest of what the numbers are made of, so after
every kind of write the numbers served are the ones a cold computation gives, and a second
look with no write in between computes nothing.

Each write goes through the service or view a person uses (or, for design edits, a bare
queryset.update(), which sends no signal: the cache must not rely on one). After it, the
statistics served through the cache must equal those computed with the cache switched off,
and where the write changes the data they must differ from the ones served before it.
"""

import pandas as pd
import pytest
from django.test import override_settings
from django.urls import reverse

from analysis import inputs, selectors, stats, stats_cache
from animals import allocation_service
from animals import services as animal_services
from animals.models import Animal, BodyWeight, DoseAdministration, Observation, TreatmentGroup
from labstudy import services as study_services
from labstudy.models import Study, Timepoint
from sessions import services as session_services
from sessions.importing.service import import_study_csv
from sessions.models import TestSession
from tests.conftest import PASSWORD
from tests.worlds import record, rows_for, series_to, settings_as_posted, to_csv

LOCMEM = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "statistics": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "test-stats",
    },
}
OFF = {**LOCMEM, "statistics": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}


@pytest.fixture(autouse=True)
def fresh_cache(settings):
    settings.CACHES = LOCMEM
    from django.core.cache import caches

    caches["statistics"].clear()


def served(study_pk: int, *, mixed_model: bool = False) -> dict[str, pd.DataFrame]:
    """Both outcomes' statistics as every page and export gets them (the one route)."""
    study = Study.objects.get(pk=study_pk)
    analysed = inputs.analysis_inputs(study)
    numbers = {
        outcome: inputs.study_statistics(analysed, outcome, mixed_model=mixed_model).table
        for outcome in inputs.OUTCOMES
    }
    # The dashboard's tables and marks (selectors.measure_results, cached too).
    results = selectors.study_results(study, analysed=analysed)
    for measure in (results.threshold, results.mpe):
        for part in ("summary", "statistics", "marks"):
            numbers[f"dashboard {measure.measure.key} {part}"] = getattr(measure, part)
        numbers[f"dashboard {measure.measure.key} auc"] = pd.DataFrame(measure.auc)
    return numbers


def cold(study_pk: int, **kwargs) -> dict[str, pd.DataFrame]:
    with override_settings(CACHES=OFF):
        return served(study_pk, **kwargs)


def same(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> bool:
    return all(a[o].reset_index(drop=True).equals(b[o].reset_index(drop=True)) for o in a)


def session_of(study, code: str, label: str) -> TestSession:
    return TestSession.objects.get(
        animal__study=study, animal__code=code, timepoint__label=label, status="complete"
    )


# ----------------------------------------------------------------------------- the writes
# Each: (prepare or None, write, changes). `prepare` runs before the numbers are first
# served, `write` after. changes: True, the numbers change; KEY, they are looked up under
# a new key though the small study's numbers happen not to move (a post-hoc between two
# groups is a single Mann-Whitney either way); False, the statistics do not read what the
# write touched (the cached numbers are the right ones).
KEY = "key"


def _undo(study, people, client):
    session_services.undo_last_stimulus(
        session=session_of(study, "B2", "T2"), user=people["technician"]
    )


def _tap_prepare(study, people, client):
    _undo(study, people, client)


def _tap(study, people, client):
    session = TestSession.objects.get(animal__study=study, animal__code="B2", timepoint__label="T2")
    last = session.stimuli.filter(voided=False).order_by("order").last()
    session_services.record_stimulus(
        session=session,
        filament_size=last.filament.size,
        withdrew=not last.withdrew,
        user=people["technician"],
    )


def _void_session(study, people, client):
    session_services.void_session(
        session=session_of(study, "A1", "T1"),
        user=people["data_manager"],
        reason="wrong rat",
        study=study,
    )


def _import(study, people, client):
    rows = (
        rows_for("A3", "control", 8, tp="T0", day=7)
        + rows_for("A3", "control", 4, tp="T1", day=14)
        + rows_for("A3", "control", 2, tp="T2", day=21)
    )
    result = import_study_csv(
        data=to_csv(rows), source_name="more.csv", slug=study.slug, user=people["data_manager"]
    )
    assert not result.errors, result.errors


def _exclude(study, people, client):
    animal_services.change_animal_status(
        animal=Animal.objects.get(study=study, code="B2"),
        status=Animal.Status.EXCLUDED,
        date=study.date_of_day(16),
        reason="wound infection",
        user=people["data_manager"],
    )


def _allocate_prepare(study, people, client):
    a5 = Animal.objects.create(study=study, code="A5", cage="C5")
    for tp, true_g in zip(study.timepoints.order_by("day"), (26, 2, 1), strict=True):
        record(a5, tp, series_to(true_g))


def _allocate(study, people, client):
    allocation_service.allocate(study=study, method="simple", seed=7, user=people["data_manager"])


def _move_animal(study, people, client):
    k10 = TreatmentGroup.objects.get(study=study, code="K10")
    Animal.objects.filter(study=study, code="A2").update(group=k10)


def _control_flag(study, people, client):
    TreatmentGroup.objects.filter(study=study).update(is_control=False)
    TreatmentGroup.objects.filter(study=study, code="K10").update(is_control=True)


def _group_code(study, people, client):
    TreatmentGroup.objects.filter(study=study, code="K10").update(code="K20")


def _baseline(study, people, client):
    Timepoint.objects.filter(study=study).update(is_baseline=False)
    Timepoint.objects.filter(study=study, label="T1").update(is_baseline=True)


def _timepoint_label(study, people, client):
    Timepoint.objects.filter(study=study, label="T2").update(label="T3")


def _setting(**changes):
    def write(study, people, client):
        client.force_login(people["data_manager"])
        url = reverse("study_setup", args=[study.slug])
        response = client.post(url, settings_as_posted(client, url, **changes))
        assert response.status_code == 302, response.context["form"].errors
        stored = Study.objects.get(pk=study.pk)
        for name, value in changes.items():
            if name != "change_reason":
                assert str(getattr(stored, name)) == str(value)

    return write


def _wide_alpha(study, people, client):
    """The widest alpha the settings allow, so the post-hocs run on four animals."""
    Study.objects.filter(pk=study.pk).update(alpha=0.5)


def _dose_void(study, people, client):
    dose = DoseAdministration.objects.get(animal__study=study)
    animal_services.void_dose(dose=dose, user=people["data_manager"], reason="wrong animal")


def _weight_void(study, people, client):
    weight = BodyWeight.objects.get(animal__study=study)
    animal_services.void_weight(weight=weight, user=people["data_manager"], reason="typo")


def _observation_void(study, people, client):
    observation = Observation.objects.get(animal__study=study)
    animal_services.void_observation(
        observation=observation, user=people["data_manager"], reason="wrong animal"
    )


def _sign_off(study, people, client):
    study_services.sign_off_timepoint(
        timepoint=Timepoint.objects.get(study=study, label="T0"),
        user=people["data_manager"],
        password=PASSWORD,
    )


def _unblind(study, people, client):
    study_services.unblind_study(
        study=study, user=people["data_manager"], password=PASSWORD, reason="analysis done"
    )


def _undo_tap_by_uuid(study, people, client):
    """The bench's Undo of one tap the tablet names (the stimulus voided by its UUID)."""
    session = TestSession.objects.get(animal__study=study, animal__code="B2", timepoint__label="T2")
    last = session.stimuli.filter(voided=False).order_by("order").last()
    session_services.undo_tap(
        session=session, user=people["technician"], client_uuid=last.client_uuid
    )


def _animal_died(study, people, client):
    """After its last test: an animal that died keeps its data (analysis.frames)."""
    animal_services.change_animal_status(
        animal=Animal.objects.get(study=study, code="A1"),
        status=Animal.Status.DIED,
        date=study.date_of_day(22),
        reason="found dead in cage",
        user=people["data_manager"],
    )


def _study_status(study, people, client):
    Study.objects.filter(pk=study.pk).update(status=Study.Status.LOCKED)


WRITES = {
    "undo (a stimulus voided)": (None, _undo, True),
    "tap undone by its UUID (the bench's Undo)": (None, _undo_tap_by_uuid, True),
    "tap": (_tap_prepare, _tap, True),
    "session void": (None, _void_session, True),
    "import": (None, _import, True),
    "animal excluded": (None, _exclude, True),
    "allocation": (_allocate_prepare, _allocate, True),
    "animal moved to another group": (None, _move_animal, True),
    "control group changed": (None, _control_flag, True),
    "group code edited": (None, _group_code, True),
    "baseline timepoint changed": (None, _baseline, True),
    "timepoint relabelled": (None, _timepoint_label, True),
    "animal died (status change)": (None, _animal_died, False),
    "alpha": (None, _setting(alpha=0.5), True),
    "cut-off": (None, _setting(cutoff_g=60.0, change_reason="wrong set entered"), True),
    "post-hoc": (_wide_alpha, _setting(posthoc="dunn_holm"), KEY),
    "comparison family": (
        None,
        _setting(comparison_family=stats.FAMILY_VS_CONTROL, change_reason="pre-registered"),
        True,
    ),
    "threshold method": (
        None,
        _setting(threshold_method="up_down", change_reason="the protocol says up-down"),
        True,
    ),
    "dose void": (None, _dose_void, False),
    "weight void": (None, _weight_void, False),
    "observation void": (None, _observation_void, False),
    "timepoint signed off": (None, _sign_off, False),
    "unblinding": (None, _unblind, False),
    "study status (locked)": (None, _study_status, False),
}


@pytest.mark.parametrize("name", list(WRITES))
def test_every_write_serves_fresh_numbers(name, small_study, people, client):
    prepare, write, changes = WRITES[name]
    if prepare:
        prepare(small_study, people, client)
    before = served(small_study.pk)
    assert same(before, served(small_study.pk))  # the second look is the cached one
    key_before = _keys()

    write(Study.objects.get(pk=small_study.pk), people, client)

    after = served(small_study.pk)
    assert same(after, cold(small_study.pk)), f"{name}: the cache served numbers of an older state"
    if changes is True:
        assert not same(before, after), f"{name} should change the statistics"
    if changes:
        assert _keys() - key_before, f"{name}: no new cache entry"


def _keys() -> set[str]:
    from django.core.cache import caches

    return set(caches["statistics"]._cache)  # LocMemCache's own store


def test_a_second_look_computes_nothing(small_study, monkeypatch):
    calls = []
    real = stats.study_statistics
    monkeypatch.setattr(stats, "study_statistics", lambda *a, **k: calls.append(1) or real(*a, **k))
    first = served(small_study.pk)
    assert len(calls) == len(inputs.OUTCOMES)
    second = served(small_study.pk)
    assert len(calls) == len(inputs.OUTCOMES)  # served from the cache
    assert same(first, second)


def test_a_caller_changing_its_table_does_not_change_the_next_one(small_study):
    first = served(small_study.pk)
    first["threshold_g"]["p"] = -1.0
    assert (served(small_study.pk)["threshold_g"]["p"] != -1.0).all()


def test_the_mixed_model_is_cached_too_and_follows_the_data(small_study, people, monkeypatch):
    calls = []
    real = stats.mixed_model
    monkeypatch.setattr(stats, "mixed_model", lambda *a, **k: calls.append(1) or real(*a, **k))
    study = Study.objects.get(pk=small_study.pk)
    first = inputs.mixed_model_statistics(inputs.analysis_inputs(study))
    again = inputs.mixed_model_statistics(inputs.analysis_inputs(study))
    assert len(calls) == 1 and first.equals(again)
    _exclude(study, people, None)
    after = inputs.mixed_model_statistics(inputs.analysis_inputs(study))
    assert len(calls) == 2 and not after.equals(first)


def test_a_new_code_version_is_a_new_key(small_study, monkeypatch):
    served(small_study.pk)
    keys = _keys()
    stats_cache.code_version.cache_clear()
    monkeypatch.setattr(stats_cache, "code_version", lambda: "another-release")
    served(small_study.pk)
    assert _keys() - keys


def test_an_unreachable_cache_computes_instead_of_failing(small_study, monkeypatch):
    class Broken:
        def get(self, key):
            raise ConnectionError("redis is down")

        def set(self, key, value):
            raise ConnectionError("redis is down")

    monkeypatch.setattr(stats_cache, "caches", {stats_cache.ALIAS: Broken()})
    assert same(served(small_study.pk), cold(small_study.pk))


def test_the_stats_file_after_a_void_is_the_fresh_one(small_study, people, client):
    """End to end: stats.csv downloaded, a session voided, stats.csv again equals what a
    cold computation writes."""
    client.force_login(people["data_manager"])
    url = reverse("export_table", args=[small_study.slug, "stats"])
    first = b"".join(client.get(url).streaming_content)
    again = b"".join(client.get(url).streaming_content)
    assert first == again
    _void_session(small_study, people, client)
    after = b"".join(client.get(url).streaming_content)
    with override_settings(CACHES=OFF):
        fresh = b"".join(client.get(url).streaming_content)
    assert after == fresh and after != first


# ----------------------------------------------------------------------------- Redis
# LABSTUDY_CACHE_URL=redis://... (README "Statistics cache"): Django's RedisCache, which
# needs the `redis` package (requirements.txt). Run against the Redis on this machine;
# the keys carry a prefix of their own, so nothing else stored there is read or cleared.
REDIS_URL = "redis://127.0.0.1:6379/0"


def _redis_or_skip():
    import os

    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        if os.environ.get("CI") == "true":
            pytest.fail(f"no Redis at {REDIS_URL}")
        pytest.skip(f"no Redis at {REDIS_URL}: start one to run this test")


def test_the_settings_choose_redis_when_the_url_names_it():
    import subprocess
    import sys

    from tests.worlds import ROOT, manage_env

    env = manage_env(LABSTUDY_CACHE_URL=REDIS_URL, DJANGO_SETTINGS_MODULE="labstudy.settings")
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "c = settings.CACHES['statistics']; print(c['BACKEND'], c['LOCATION'])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["django.core.cache.backends.redis.RedisCache", REDIS_URL]


def test_redis_serves_the_statistics_and_never_a_stale_number(
    small_study, people, client, monkeypatch
):
    import uuid

    _redis_or_skip()
    redis_caches = {
        **LOCMEM,
        "statistics": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": f"labstudy-test-{uuid.uuid4().hex}",
            "TIMEOUT": 60,
        },
    }
    calls = []
    real = stats.study_statistics
    monkeypatch.setattr(stats, "study_statistics", lambda *a, **k: calls.append(1) or real(*a, **k))
    with override_settings(CACHES=redis_caches):
        first = served(small_study.pk)
        assert len(calls) == len(inputs.OUTCOMES)
        again = served(small_study.pk)
        assert len(calls) == len(inputs.OUTCOMES)  # a lookup in Redis, nothing computed
        assert same(first, again)
        _void_session(small_study, people, client)
        after = served(small_study.pk)
    assert same(after, cold(small_study.pk)) and not same(after, first)
