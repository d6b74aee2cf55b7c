"""Input that used to take pages down (issue 18), sent through the real views as the
person who would send it: a '/' or an invisible character in an animal code or timepoint
label, dates at the ends of the calendar on the bench pages, weights and doses that are
not finite numbers, ids larger than the database's integers.

Each one gets a clear message or a 404, never a 500, and nothing is half-written: the row
counts of every table of ours (history included) are unchanged after a refusal.
"""

import datetime as dt
import re
import uuid
from decimal import Decimal

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from animals.models import Animal, BodyWeight, DoseAdministration, Observation
from labstudy.models import Study, Timepoint
from sessions.models import Stimulus, TestSession
from sessions.services import record_stimulus, start_session

BIG = "99999999999999999999"  # more than SQLite's and PostgreSQL's largest integer


def counts() -> dict[str, int]:
    """Row counts of every model of ours, history tables included."""
    return {
        m._meta.label: m._default_manager.count()
        for m in apps.get_models()
        if m._meta.app_label in ("labstudy", "animals", "vf_sessions")
    }


def text_of(response) -> str:
    """The page as a person reads it: tags dropped, entities decoded, spaces collapsed."""
    import html

    body = re.sub(r"<[^>]+>", " ", response.content.decode("utf-8", "replace"))
    return re.sub(r"\s+", " ", html.unescape(body))


@pytest.fixture
def bench(study, people):
    """The reference study running, today = study day 28 (T3), four animals with a
    weight, a dose, an observation and a started T3 session with one tap."""
    today = timezone.localdate()
    study.day0_date = today - dt.timedelta(days=28)
    study.status = Study.Status.RUNNING
    study.save()
    groups = {g.code: g for g in study.groups.all()}
    animals = {}
    for code, group in (("R01", "control"), ("R02", "K5"), ("R03", "K10"), ("R04", "K10")):
        animals[code] = Animal.objects.create(
            study=study, code=code, cage="C1", group=groups[group]
        )
    weight = BodyWeight.objects.create(
        animal=animals["R01"], date=today - dt.timedelta(days=1), grams=Decimal("300.0")
    )
    dose = DoseAdministration.objects.create(
        animal=animals["R01"], scheduled_date=today, study_day=28
    )
    observation = Observation.objects.create(animal=animals["R01"], date=today, term="hematuria")
    tp = study.timepoints.get(day=28)
    session = start_session(
        animal=animals["R01"], timepoint=tp, paw="right", user=people["technician"]
    )
    record_stimulus(
        session=session,
        filament_size="4.31",
        withdrew=True,
        client_uuid=uuid.uuid4(),
        user=people["technician"],
    )
    return {
        "study": study,
        "today": today,
        "animals": animals,
        "tp": tp,
        "session": session,
        "weight": weight,
        "dose": dose,
        "observation": observation,
    }


# ------------------------------------------------------------------ codes and labels

REFUSED_CODES = [
    ("R/1", "'/' is not allowed"),
    ("R\\1", "is not allowed"),
    ("R\u202e10", "invisible or control character (U+202E"),
    ("R\u200b01", "invisible or control character (U+200B"),
    ("R\u200c01", "invisible or control character (U+200C"),
    ("R\u200d01", "invisible or control character (U+200D"),
    ("R\ufeff01", "invisible or control character (U+FEFF"),
    ("R\u00a001", "invisible or control character (U+00A0"),
    ("R\u0410\u041001", "mixes Cyrillic and Latin letters"),  # Latin R + Cyrillic АА
    ("\u03a101", None),  # Greek capital rho alone is one alphabet: accepted, see below
    ("\uff32\uff10\uff11", "styled or compatibility form of 'R'"),  # fullwidth R01
    ("\U0001d411\U0001d7ce\U0001d7cf", "styled or compatibility form"),  # bold maths R01
    ("R01 🐀", "is not allowed"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("code", "why"), [c for c in REFUSED_CODES if c[1]])
def test_a_pasted_animal_code_that_breaks_pages_or_fools_the_eye_is_refused(
    client_for, study, code, why
):
    before = counts()
    response = client_for("data_manager").post(
        reverse("study_add_animals", args=[study.slug]), {"codes": f"R00\n{code}, C1\n"}
    )
    assert response.status_code == 200
    page = text_of(response)
    assert "line 2, animal code" in page
    assert why in page
    assert "\u202e" not in page.split("line 2", 1)[1][:200]  # shown as <U+202E>, not obeyed
    assert counts() == before


@pytest.mark.django_db
def test_codes_people_use_are_accepted(client_for, study):
    codes = ["R01", "R 02", "M-1.2", "#7 (left)", "rat_9+", "Крыса1", "\u03a101", "鼠3", "Émile"]
    response = client_for("data_manager").post(
        reverse("study_add_animals", args=[study.slug]), {"codes": "\n".join(codes)}
    )
    assert response.status_code == 302
    assert sorted(study.animals.values_list("code", flat=True)) == sorted(codes)
    overview = client_for("data_manager").get(reverse("study_overview", args=[study.slug]))
    assert overview.status_code == 200
    for code in codes:
        assert code in text_of(overview)


def _timepoint_rows(study, **change) -> dict:
    """The timepoints editor's POST with the stored rows, `change` applied to row 0."""
    data = {}
    rows = list(study.timepoints.order_by("order", "day"))
    for i, tp in enumerate(rows):
        values = {
            "id": tp.pk,
            "study": study.pk,
            "order": tp.order,
            "label": tp.label,
            "day": tp.day,
            "description": tp.description,
        }
        if tp.is_baseline:
            values["is_baseline"] = "on"
        if i == 0:
            values.update(change)
        data.update({f"timepoints-{i}-{k}": v for k, v in values.items()})
    data.update(
        {
            "timepoints-TOTAL_FORMS": len(rows),
            "timepoints-INITIAL_FORMS": len(rows),
            "timepoints-MIN_NUM_FORMS": 0,
            "timepoints-MAX_NUM_FORMS": 1000,
        }
    )
    return data


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("label", "why"),
    [
        ("T0/1", "'/' is not allowed"),
        ("T\u200b0", "U+200B"),
        ("T\u04250", "mixes Cyrillic"),
        ("T2-T1", "'-' is not allowed in a timepoint label"),  # a chosen pair's separator
    ],
)
def test_the_timepoints_editor_refuses_a_label_that_breaks_pages(client_for, study, label, why):
    url = reverse("study_setup_rows", args=[study.slug, "timepoints"])
    before = counts()
    response = client_for("data_manager").post(url, _timepoint_rows(study, label=label))
    assert response.status_code == 200
    assert why in text_of(response)
    assert counts() == before
    assert not Timepoint.objects.filter(label=label).exists()


@pytest.mark.django_db
def test_the_admin_refuses_a_bad_animal_code(client, study, make_user):
    admin_user = make_user("root", is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    before = counts()
    response = client.post(
        reverse("admin:animals_animal_add"),
        {
            "study": study.pk,
            "code": "R/9",
            "sex": "male",
            "status": "active",
            "change_reason": "typed by hand",
        },
    )
    assert response.status_code == 200
    assert "&#x27;/&#x27; is not allowed in the animal code" in response.content.decode()
    assert counts() == before


IMPORT_HEADER = "animal,group,timepoint,day,paw,order,filament_size,response\n"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("line", "column", "why"),
    [
        ("R/1,K5,T0,7,right,1,4.31,1", "animal", "'/' is not allowed in the animal code"),
        ("R01,K5,T/0,7,right,1,4.31,1", "timepoint", "'/' is not allowed in the timepoint"),
        ("R\u202e01,K5,T0,7,right,1,4.31,1", "animal", "(U+202E"),
        ("R\u041e1,K5,T0,7,right,1,4.31,1", "animal", "mixes Cyrillic and Latin"),
    ],
)
def test_the_import_refuses_a_bad_code_naming_line_and_column(client_for, study, line, column, why):
    before = counts()
    upload = SimpleUploadedFile(
        "hostile.csv", (IMPORT_HEADER + "R00,K5,T0,7,right,1,4.31,1\n" + line + "\n").encode()
    )
    response = client_for("data_manager").post(
        reverse("import_upload", args=[study.slug]), {"file": upload}
    )
    assert response.status_code == 200
    page = text_of(response)
    assert f"line 3, {column}:" in page
    assert why in page
    assert counts() == before


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["data_manager", "investigator"])
def test_a_code_stored_before_the_rule_still_gives_working_pages(client_for, bench, who):
    """Codes saved without the validator (an old database, a raw SQL fix) are linked
    percent-encoded and open the page they name."""
    study = bench["study"]
    odd = ["R/1", "R?x#y", "..", "50%", "R 1/../2"]
    for code in odd:
        Animal.objects.create(study=study, code=code, group=bench["animals"]["R02"].group)
    Timepoint.objects.filter(pk=bench["tp"].pk).update(label="T3/b")
    client = client_for(who)
    overview = client.get(reverse("study_overview", args=[study.slug]))
    assert overview.status_code == 200
    page = overview.content.decode()
    status_links = re.findall(r'href="(/s/psnl/animals/[^"]+/status/)"', page)
    assert len(status_links) == len(odd) + 4
    for code in odd:
        response = client.get(reverse("animal_status", args=[study.slug, code]))
        assert response.status_code == 200, code
        assert f"{code}" in text_of(response)
        history = client.get(reverse("animal_history", args=[study.slug, code]))
        assert history.status_code == 200
        assert f"Animal {code}" in text_of(history)
    for link in status_links:
        assert client.get(link).status_code == 200, link
    if who == "investigator":
        signoff = re.findall(r'href="(/s/psnl/timepoints/[^"]+/sign-off/)"', page)
        assert len(signoff) == 8
        for link in signoff:
            assert client.get(link).status_code == 200, link
        assert "T3/b" in text_of(client.get(reverse("timepoint_signoff", args=["psnl", "T3/b"])))


# --------------------------------------------------------------------- bench dates

BENCH_PAGES = ["bench_today", "bench_doses", "bench_weights", "bench_observations"]


@pytest.mark.django_db
@pytest.mark.parametrize("name", BENCH_PAGES)
@pytest.mark.parametrize("date", ["9999-12-31", "0001-01-01", "2999-01-01", "1900-01-01"])
def test_a_bench_page_for_a_date_far_from_the_study_says_so_and_shows_today(
    client_for, bench, name, date
):
    response = client_for("technician").get(
        reverse(name, args=[bench["study"].slug]), {"date": date}
    )
    assert response.status_code == 200
    page = text_of(response)
    assert f"'{date}' is outside this study" in page
    assert "showing today" in page


@pytest.mark.django_db
@pytest.mark.parametrize("date", ["9999-12-31", "0001-01-01"])
def test_a_weight_or_observation_posted_for_the_end_of_the_calendar_is_refused(
    client_for, bench, date
):
    client = client_for("technician")
    animal = bench["animals"]["R02"]
    before = counts()
    weight = client.post(
        reverse("bench_weight_record", args=["psnl", animal.pk]),
        {"date": date, "grams": "301", "client_uuid": str(uuid.uuid4())},
        HTTP_HX_REQUEST="true",
    )
    observation = client.post(
        reverse("bench_observations", args=["psnl"]),
        {"date": date, "animal": animal.pk, "terms": ["hematuria"], "notes": "x"},
    )
    dose = client.post(
        reverse("bench_dose_record", args=["psnl", animal.pk]),
        {"date": date, "status": "given"},
        HTTP_HX_REQUEST="true",
    )
    for response in (weight, observation, dose):
        assert response.status_code in (200, 400, 409)
        assert f"Date: {date} is outside the dates the bench records" in text_of(response)
    assert counts() == before


# ---------------------------------------------------------------- numbers


@pytest.mark.django_db
@pytest.mark.parametrize(
    "grams", ["1e308", "inf", "-inf", "nan", "NaN", "sNaN", "Infinity", "-0", "1e-400", "9" * 40]
)
def test_a_weight_that_is_no_usable_number_is_refused_naming_the_field(client_for, bench, grams):
    animal = bench["animals"]["R02"]
    before = counts()
    response = client_for("technician").post(
        reverse("bench_weight_record", args=["psnl", animal.pk]),
        {"date": bench["today"].isoformat(), "grams": grams, "client_uuid": str(uuid.uuid4())},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    page = text_of(response)
    assert re.search(r"weight|grams", page, re.I)
    assert "saved" not in page
    assert counts() == before


def _group_rows(study, **change) -> dict:
    """The groups editor's POST with the stored rows, `change` applied to row 0."""
    data = {}
    rows = list(study.groups.order_by("order", "code"))
    fields = ["order", "code", "name", "drug", "dose_mg_kg", "route", "vehicle"]
    fields += ["concentration_mg_ml", "volume_ml_kg", "colour", "coded_letter"]
    for i, group in enumerate(rows):
        values = {"id": group.pk, "study": study.pk}
        for f in fields:
            value = getattr(group, f)
            values[f] = "" if value is None else value
        if group.is_control:
            values["is_control"] = "on"
        if i == 0:
            values.update(change)
        data.update({f"groups-{i}-{k}": v for k, v in values.items()})
    data.update(
        {
            "groups-TOTAL_FORMS": len(rows),
            "groups-INITIAL_FORMS": len(rows),
            "groups-MIN_NUM_FORMS": 0,
            "groups-MAX_NUM_FORMS": 1000,
        }
    )
    return data


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["dose_mg_kg", "concentration_mg_ml", "volume_ml_kg"])
@pytest.mark.parametrize("value", ["sNaN", "NaN", "Infinity", "-inf", "1e308", "-0", "-0.000"])
def test_a_dose_that_is_no_usable_number_is_refused_naming_the_field(
    client_for, study, field, value
):
    before = counts()
    response = client_for("data_manager").post(
        reverse("study_setup_rows", args=[study.slug, "groups"]),
        _group_rows(study, **{field: value}),
    )
    assert response.status_code == 200
    label = {"dose_mg_kg": "dose", "concentration_mg_ml": "concentration"}.get(field, "volume")
    errors = re.findall(r'<div class="text-danger small">(.*?)</div>', response.content.decode())
    assert len(errors) == 1, errors
    assert label in errors[0].lower(), errors
    assert counts() == before


# ------------------------------------------------------------------------ ids


def _routes_by_converter() -> dict[str, list[tuple[str, list[str]]]]:
    """Named URLs by the converter of their numeric parameters: 'IntConverter' (any
    number of digits) or 'IdConverter' (what a database integer holds)."""
    found: dict[str, list[tuple[str, list[str]]]] = {"IntConverter": [], "IdConverter": []}

    def walk(patterns, outer):
        for entry in patterns:
            converters = {**outer, **entry.pattern.converters}
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, converters)
            elif isinstance(entry, URLPattern) and entry.name:
                for kind, routes in found.items():
                    params = [k for k, c in converters.items() if type(c).__name__ == kind]
                    if params:
                        routes.append((entry.name, params))

    walk(get_resolver().url_patterns, {})
    return found


ROUTES = _routes_by_converter()
INT_ROUTES = ROUTES["IntConverter"] + ROUTES["IdConverter"]


def test_every_id_in_an_address_is_bounded():
    assert ROUTES["IntConverter"] == []
    names = {name for name, _ in ROUTES["IdConverter"]}
    assert {"bench_tap", "bench_session", "session_history", "dashboard_animal"} <= names
    assert len(names) >= 12


def _kwargs(bench, name: str, params) -> dict:
    args = {
        "slug": "psnl",
        "animal_pk": bench["animals"]["R01"].pk,
        "animal_id": bench["animals"]["R01"].pk,
        "timepoint_pk": bench["tp"].pk,
        "paw": "right",
        "pk": bench["session"].pk,
        "dose_pk": bench["dose"].pk,
        "weight_pk": bench["weight"].pk,
        "observation_pk": bench["observation"].pk,
    }
    pattern = next(p for p in get_resolver().reverse_dict.getlist(name) if isinstance(p, tuple))
    wanted = pattern[0][0][1]
    return {k: args[k] for k in wanted}


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "params"), INT_ROUTES, ids=[n for n, _ in INT_ROUTES])
@pytest.mark.parametrize("who", ["technician", "investigator", "data_manager"])
def test_an_id_larger_than_the_database_integer_in_the_address_is_a_404(
    client_for, bench, name, params, who
):
    client = client_for(who)
    for param in params:
        kwargs = _kwargs(bench, name, params)
        url = reverse(name, kwargs=kwargs)
        url = url.replace(f"/{kwargs[param]}/", f"/{BIG}/", 1)
        before = counts()
        for method in (client.get, client.post):
            response = method(url, HTTP_HX_REQUEST="true")
            assert response.status_code in (404, 405), (url, response.status_code)
        assert counts() == before


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["bench_tap", "bench_undo", "bench_void"])
@pytest.mark.parametrize("session", [BIG, "-" + BIG, "9223372036854775808", "1e30"])
def test_a_huge_session_id_posted_from_the_bench_changes_nothing(client_for, bench, name, session):
    url = reverse(name, args=["psnl", bench["animals"]["R01"].pk, bench["tp"].pk, "right"])
    data = {
        "session": session,
        "client_uuid": str(uuid.uuid4()),
        "withdrew": "0",
        "filament": "4.56",
        "reason": "testing",
    }
    before = counts()
    taps = list(Stimulus.objects.values_list("pk", "voided"))
    response = client_for("technician").post(url, data, HTTP_HX_REQUEST="true")
    assert response.status_code in (302, 400, 404, 409)
    assert counts() == before
    assert list(Stimulus.objects.values_list("pk", "voided")) == taps
    assert TestSession.objects.get().status == bench["session"].status


@pytest.mark.django_db
def test_a_huge_animal_id_posted_as_an_observation_is_refused(client_for, bench):
    before = counts()
    response = client_for("technician").post(
        reverse("bench_observations", args=["psnl"]),
        {
            "date": bench["today"].isoformat(),
            "animal": BIG,
            "terms": ["hematuria"],
            "client_uuid": str(uuid.uuid4()),
        },
    )
    assert response.status_code in (200, 404)
    assert counts() == before


# ------------------------------------------------------------- labels in the statistics


@pytest.mark.django_db
def test_labels_ending_in_a_backslash_leave_the_statistics_and_exports_working(
    demo_people_and_urls, client
):
    """The control group 'ctrl\\' and the baseline 'T0\\' (stored before the label rule):
    the mixed model put the reference levels into its patsy formula, and stats.csv, the
    package and the mixed-model page gave 500s."""
    study, users, _ = demo_people_and_urls
    study.groups.filter(code="control").update(code="ctrl\\")
    study.groups.filter(code="K5").update(code='K5 "a"')
    study.timepoints.filter(label="T0").update(label="T0\\")
    client.force_login(users["data_manager"])
    stats_csv = client.get(reverse("export_table", args=[study.slug, "stats"]))
    assert stats_csv.status_code == 200
    body = b"".join(stats_csv.streaming_content) if stats_csv.streaming else stats_csv.content
    lines = body.decode("utf-8-sig").splitlines()
    mixed = [line for line in lines if line.startswith("mixed_model,")]
    assert any("ctrl\\" in line and "T0\\" in line for line in mixed), mixed[:5]
    assert not any("could not be fitted" in line for line in mixed)
    package = client.get(reverse("export_package", args=[study.slug]))
    assert package.status_code == 200
    page = client.get(reverse("dashboard_mixed_model", args=[study.slug]))
    assert page.status_code == 200
    assert "ctrl\\" in text_of(page) and 'K5 "a"' in text_of(page)


# ------------------------------------------------------------------ the study's dates


@pytest.mark.django_db
@pytest.mark.parametrize("day0", ["9999-12-31", "0001-01-01"])
def test_a_study_dated_at_the_end_of_the_calendar_is_refused(client_for, study, people, day0):
    from django.contrib.auth.models import Permission

    people["data_manager"].user_permissions.add(Permission.objects.get(codename="add_study"))
    client = client_for("data_manager")
    before = counts()
    new = client.post(
        reverse("study_new"),
        {"template": "psnl-vf-3x8", "slug": "far", "title": "Far", "day0_date": day0},
    )
    assert new.status_code == 200
    assert "Day 0" in text_of(new) and "1900" in text_of(new)
    assert counts() == before
    form = client.get(reverse("study_setup", args=[study.slug])).context["form"]
    data = {f"study-{k}": v for k, v in form.initial.items() if v is not None}
    data = {k: ("on" if v is True else v) for k, v in data.items() if v is not False}
    data["study-day0_date"] = day0
    setup = client.post(reverse("study_setup", args=[study.slug]), data)
    assert setup.status_code == 200
    assert "1900" in text_of(setup)
    assert counts() == before
    assert client.get(reverse("study_overview", args=[study.slug])).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value"), [("first_day", "-2147483648"), ("last_day", "2147483647")]
)
def test_study_days_beyond_ten_years_are_refused(client_for, study, field, value):
    client = client_for("data_manager")
    form = client.get(reverse("study_setup", args=[study.slug])).context["form"]
    data = {f"study-{k}": v for k, v in form.initial.items() if v is not None}
    data = {k: ("on" if v is True else v) for k, v in data.items() if v is not False}
    data[f"study-{field}"] = value
    before = counts()
    response = client.post(reverse("study_setup", args=[study.slug]), data)
    assert response.status_code == 200
    assert f"Day {value} is more than 3660 days (ten years) from day 0." in text_of(response)
    assert counts() == before
    assert client.get(reverse("study_overview", args=[study.slug])).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["sNaN", "Infinity", "-0"])
@pytest.mark.parametrize(("record", "field"), [("weight", "grams"), ("dose", "volume_ml")])
def test_the_admin_refuses_a_weight_or_dose_that_is_no_usable_number(
    client, bench, make_user, record, field, value
):
    """The admin change form compared the posted 'sNaN' with the stored value: a 500."""
    obj = bench[record]
    if record == "dose":
        DoseAdministration.objects.filter(pk=obj.pk).update(volume_ml=Decimal("0.30"))
    # The admin changes records only while their study is in planning (issue 18).
    Study.objects.filter(pk=obj.animal.study_id).update(status=Study.Status.PLANNING)
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    url = reverse(f"admin:animals_{type(obj).__name__.lower()}_change", args=[obj.pk])
    form = client.get(url).context["adminform"].form
    data = {}
    for name, bound in form.fields.items():
        initial = form.initial.get(name, bound.initial)
        if initial in (None, False):
            continue
        data[name] = "on" if initial is True else initial
    for name in [n for n in data if n.endswith(("_date", "_at")) or n == "date"]:
        value_of = data.pop(name)  # split date-times the way the admin widget posts them
        if hasattr(value_of, "hour"):
            local = timezone.localtime(value_of)
            data[f"{name}_0"], data[f"{name}_1"] = (
                local.date().isoformat(),
                local.time().isoformat(),
            )
        else:
            data[name] = value_of.isoformat()
    data.update({field: value, "change_reason": "checking the admin"})
    before = counts()
    response = client.post(url, data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "errornote" in page
    assert "is not a number" in page or "without a minus sign" in page
    assert counts() == before


@pytest.mark.django_db
def test_an_animal_with_a_code_stored_before_the_rule_can_still_be_excluded(client_for, bench):
    study = bench["study"]
    animal = Animal.objects.create(study=study, code="R/1", group=bench["animals"]["R02"].group)
    response = client_for("data_manager").post(
        reverse("animal_status", args=[study.slug, "R/1"]),
        {"status": "excluded", "date": bench["today"].isoformat(), "reason": "autotomy"},
    )
    assert response.status_code == 302
    animal.refresh_from_db()
    assert (animal.status, animal.status_reason) == ("excluded", "autotomy")
    assert animal.history.first().history_change_reason == "active → excluded: autotomy"
