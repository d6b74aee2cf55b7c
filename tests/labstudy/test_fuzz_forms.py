"""Hypothesis fuzzing of every form and upload: random text, huge and negative numbers,
unicode, NUL bytes, markup, a 10 MB file. Never a 500; a refusal says why and changes
nothing; whatever is accepted still satisfies the data's invariants."""

import re

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from animals.models import BodyWeight, DoseAdministration
from labstudy.forms import STUDY_FIELDS
from sessions.models import Stimulus
from tests.worlds import client_as, project_urls, route_url

NASTY = st.sampled_from(
    ["", " ", "0", "-1", "1e309", "NaN", "inf", "-0.0", "4.31", "1", "2026-09-08", "R01",
     "given", "missed", "\x00", "' OR 1=1 --", "<script>alert(1)</script>", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 🐀",
     "9" * 400, "T0", "stratified", "block", "psnl-vf-3x8", "right"]
)  # fmt: skip
VALUE = st.one_of(
    NASTY,
    st.text(max_size=40),
    st.integers(-(10**30), 10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
ERROR_MARKERS = ("invalid-feedback", "errorlist", "alert-danger", "text-danger", "alert-warning")

# URL name -> (role, field names, sent as htmx?)
ENDPOINTS = {
    "bench_tap": (
        "technician",
        ["client_uuid", "withdrew", "filament", "pick", "session", "after", "note_pick", "note"],
        True,
    ),
    "bench_undo": ("technician", ["session", "target"], True),
    "bench_void": ("technician", ["session", "reason"], True),
    "bench_weight_record": ("technician", ["date", "grams", "confirm", "client_uuid"], True),
    "bench_weight_void": ("technician", ["date", "reason"], True),
    "bench_dose_record": ("technician", ["date", "status", "reason"], True),
    "bench_dose_void": ("technician", ["date", "reason"], True),
    "bench_observations": (
        "technician", ["date", "animal", "terms", "severity", "notes", "client_uuid"], True
    ),
    "bench_observation_void": ("technician", ["date", "reason"], True),
    "study_new": ("data_manager", ["template", "slug", "title", "day0_date"], False),
    "study_setup": ("data_manager", [f"study-{f}" for f in STUDY_FIELDS], False),
    "study_add_animals": ("data_manager", ["codes"], False),
    "study_allocation": ("data_manager", ["method", "seed", "block_size"], False),
    "study_members": (
        "data_manager", ["action", "add-username", "add-role", "membership", "role", "reason"],
        False,
    ),
    "timepoint_signoff": ("investigator", ["password", "reason"], False),
    "study_unblind": ("investigator", ["password", "reason"], False),
    "import_confirm": ("data_manager", ["token"], False),
    "animal_status": ("data_manager", ["status", "date", "reason"], False),
}  # fmt: skip


def _fingerprint() -> dict[str, int]:
    """Row counts of every model of ours, history tables included (updates add history).

    Not the wrong-password counter: counting a refused password is the point of it. All
    the counts in one query (every row of each table): this runs twice per example."""
    models = [
        m
        for m in apps.get_models()
        if m._meta.app_label in ("labstudy", "animals", "vf_sessions")
        and m._meta.label != "labstudy.PasswordRecheckFailure"
    ]
    quote = connection.ops.quote_name
    counts = ", ".join(f"(SELECT COUNT(*) FROM {quote(m._meta.db_table)})" for m in models)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {counts}")
        row = cursor.fetchone()
    return {m._meta.label: n for m, n in zip(models, row, strict=True)}


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode("utf-8", "replace")))


def _check_invariants(study):
    # Values, not model instances: this runs after every example, over the demo's 660
    # weights and doses, and building the instances took most of the fuzz's time.
    weights = BodyWeight.objects.filter(animal__study=study, voided=False)
    for pk, grams in weights.values_list("pk", "grams"):
        assert 0 < grams <= 1000, (pk, grams)
    doses = DoseAdministration.objects.filter(animal__study=study).values_list(
        "pk", "status", "reason", "voided", "void_reason", "given_at"
    )
    for pk, status, reason, voided, void_reason, given_at in doses:
        if status in ("missed", "refused"):
            assert reason.strip(), (pk, status, reason)
        if voided:
            assert void_reason.strip(), (pk, void_reason)
        if status == "given":
            assert given_at is not None, (pk, status)
    sizes = set(study.filament_set.filaments.values_list("size", flat=True))
    assert (
        set(
            Stimulus.objects.filter(session__animal__study=study).values_list(
                "filament__size", flat=True
            )
        )
        <= sizes
    )
    for stim in Stimulus.objects.filter(voided=True):
        assert stim.void_reason.strip(), stim


def test_every_form_endpoint_is_fuzzed():
    """Form-taking URLs of the project that the fuzz does not cover must be added."""
    posting = {
        "bench_tap", "bench_undo", "bench_void", "bench_weight_record",
        "bench_weight_void", "bench_dose_record", "bench_dose_void", "bench_observations",
        "bench_observation_void", "study_new", "study_setup", "study_setup_rows",
        "study_add_animals", "study_allocation", "timepoint_signoff", "study_unblind",
        "import_upload", "import_confirm", "animal_status", "study_members",
    }  # fmt: skip
    # import_upload and study_setup_rows have their own fuzz tests below.
    covered = set(ENDPOINTS) | {"import_upload", "study_setup_rows"}
    assert posting <= covered
    assert posting <= set(project_urls())


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(ENDPOINTS))
def test_fuzzed_posts_never_fail_and_refusals_change_nothing(demo_people_and_urls, name):
    study, users, kwargs = demo_people_and_urls
    role, fields, htmx = ENDPOINTS[name]
    client = client_as(users, role)
    url = route_url(name, project_urls()[name], kwargs)
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.fixed_dictionaries({}, optional=dict.fromkeys(fields, VALUE)))
    def fuzz(data):
        before = _fingerprint()
        response = client.post(url, data, **headers)
        assert response.status_code < 500, (data, response.status_code)
        after = _fingerprint()
        if response.status_code >= 400:
            assert after == before, data
            assert len(_text(response).strip()) > 20, "a refusal must say why"
        elif response.status_code == 200 and not htmx:
            # A page form re-rendered instead of redirecting is a refusal.
            assert after == before, data
            assert any(m in response.content.decode() for m in ERROR_MARKERS), data
        _check_invariants(study)

    fuzz()


@pytest.mark.django_db
@pytest.mark.parametrize("section", ["groups", "phases", "timepoints"])
def test_fuzzed_design_rows_never_fail(demo_people_and_urls, section):
    study, users, kwargs = demo_people_and_urls
    client = client_as(users, "data_manager")
    url = route_url(
        "study_setup_rows", project_urls()["study_setup_rows"], {**kwargs, "section": section}
    )
    formset = client.get(url).context["formset"]
    fields = [f"{section}-0-{name}" for name in formset.forms[0].fields]
    management = {f"{section}-{k}": v for k, v in formset.management_form.initial.items()}

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.fixed_dictionaries({}, optional=dict.fromkeys(fields, VALUE)))
    def fuzz(data):
        before = _fingerprint()
        response = client.post(url, {**management, **data})
        assert response.status_code < 500, data
        if response.status_code == 200:
            assert _fingerprint() == before, data

    fuzz()


@pytest.mark.django_db
def test_fuzzed_uploads_never_fail_and_write_nothing(demo_people_and_urls):
    study, users, kwargs = demo_people_and_urls
    client = client_as(users, "data_manager")
    url = route_url("import_upload", project_urls()["import_upload"], kwargs)

    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        st.one_of(
            st.binary(max_size=2000),
            st.text(max_size=2000).map(lambda t: t.encode("utf-8", "surrogatepass")),
            st.lists(st.lists(VALUE, min_size=1, max_size=10), max_size=20).map(
                lambda rows: "\n".join(",".join(r) for r in rows).encode("utf-8", "replace")
            ),
        )
    )
    def fuzz(payload):
        before = _fingerprint()
        upload = SimpleUploadedFile("fuzz.csv", payload, content_type="text/csv")
        response = client.post(url, {"file": upload})
        assert response.status_code < 500
        assert _fingerprint() == before  # the upload only previews; confirming writes

    fuzz()
    before = _fingerprint()
    big = SimpleUploadedFile("big.csv", b"animal,group\n" + b"x" * (10 * 1024 * 1024))
    response = client.post(url, {"file": big})
    assert response.status_code < 500
    assert "MB" in _text(response) or "too large" in _text(response).lower()
    assert _fingerprint() == before
