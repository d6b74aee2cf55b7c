"""Set-up screens people can read: doses as entered, plain labels with help lines, and a
study navigation grouped by role that never links to a page the role cannot open."""

import html
import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

NAV = re.compile(r'<nav aria-label="Study pages">(.*?)</nav>', re.S)
LINK = re.compile(r'<a class="(?:nav-link|dropdown-item)[^"]*" href="([^"]+)"[^>]*>([^<]+)</a>')
GROUP = re.compile(r'data-bs-toggle="dropdown"[^>]*>([^<]+)')


def nav_of(response) -> tuple[list[str], list[tuple[str, str]]]:
    """The group menus and the (url, label) links of the study navigation."""
    block = NAV.search(response.content.decode()).group(1)
    groups = [g.strip() for g in GROUP.findall(block)]
    return groups, [(url, html.unescape(label).strip()) for url, label in LINK.findall(block)]


@pytest.mark.django_db
def test_doses_print_as_entered_in_the_groups_editor_and_overview(client_for, study):
    k10 = study.groups.get(code="K10")
    k10.dose_mg_kg = Decimal("2.5")
    k10.save()
    client = client_for("data_manager")
    page = client.get(reverse("study_setup_rows", args=[study.slug, "groups"])).content.decode()
    doses = re.findall(r'name="groups-\d+-dose_mg_kg" value="([^"]*)"', page)
    assert sorted(doses) == ["2.5", "5"]
    volumes = re.findall(r'name="groups-\d+-volume_ml_kg" value="([^"]*)"', page)
    assert volumes == ["1", "1", "1"]
    assert "000" not in " ".join(doses + volumes)
    legends = re.findall(r"<legend[^>]*>(.*?)</legend>", html.unescape(page), re.S)
    assert (
        'K10 — Ketamine 10 mg/kg<span class="text-muted"> · ketamine 2.5 mg/kg i.p.</span>'
        in legends
    )
    overview = html.unescape(
        client.get(reverse("study_overview", args=[study.slug])).content.decode()
    )
    assert "ketamine 2.5 mg/kg" in overview and "ketamine 5 mg/kg" in overview
    assert "5.000" not in overview and "2.500" not in overview


@pytest.mark.django_db
def test_groups_editor_labels_every_field_and_says_what_a_solution_letter_is(client_for, study):
    page = html.unescape(
        client_for("data_manager")
        .get(reverse("study_setup_rows", args=[study.slug, "groups"]))
        .content.decode()
    )
    for label in ("Dose (mg/kg)", "Route", "Drug", "Solution letter", "Control group"):
        assert f">{label}</label>" in page
    assert "the only thing a blinded technician sees" in page
    assert "Add a group" in page


@pytest.mark.django_db
def test_set_up_forms_use_words_people_know(client_for, study, people):
    people["data_manager"].user_permissions.add(Permission.objects.get(codename="add_study"))
    client = client_for("data_manager")
    new = html.unescape(client.get(reverse("study_new")).content.decode())
    assert "Short name (in links)" in new and "Slug" not in new
    assert ">Day 0</label>" in new or "Day 0*</label>" in new or "Day 0<span" in new
    settings_page = html.unescape(
        client.get(reverse("study_setup", args=[study.slug])).content.decode()
    )
    for text in (
        "Cut-off (g)",
        "Day 0",
        "Between-group post-hoc test",
        "which groups differ",  # posthoc help
        "Chosen timepoint comparisons (pairs)",
        "the lowest force that made the paw withdraw",  # method help
        "Technicians see coded solution letters",  # blinding help
        "The von Frey filaments",  # filament set help
    ):
        assert text in settings_page, text
    assert "Cutoff" not in settings_page and "Day0" not in settings_page
    assert 'name="study-cutoff_g" value="300"' in settings_page  # not "300.0"


ALL_GROUPS = ["Bench", "Results", "Set-up", "Records"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "groups", "must", "must_not"),
    [
        (
            "technician",
            [],  # one group: shown as tabs, no menus
            {"Overview", "Bench today", "Dosing", "Weights", "Observations"},
            {"Dashboard", "Settings", "Exports", "ARRIVE", "Allocation", "Import", "People"},
        ),
        (
            "investigator",
            ALL_GROUPS,
            {
                "Dashboard",
                "Figure",
                "Exports",
                "ARRIVE",
                "Allocation",
                "Bench today",
                "Sample size",
            },
            {"Settings", "Groups", "Import", "People", "Add animals"},
        ),
        (
            "data_manager",
            ALL_GROUPS,
            {
                "Settings",
                "Groups",
                "Phases",
                "Timepoints",
                "Add animals",
                "People",
                "Import",
                "Sample size",
            },
            set(),
        ),
    ],
)
def test_study_navigation_shows_what_the_role_can_open_and_every_link_opens(
    client_for, study, role, groups, must, must_not
):
    client = client_for(role)
    shown_groups, links = nav_of(client.get(reverse("study_overview", args=[study.slug])))
    labels = {label for _, label in links}
    assert shown_groups == groups
    assert must <= labels
    assert not labels & must_not
    if role == "technician":
        assert labels == must
    if role == "data_manager":
        assert len(links) == 20  # 19 pages (Sample size included) and the package download
    for url, label in links:
        assert client.get(url).status_code == 200, (role, label, url)


@pytest.mark.django_db
def test_the_current_page_is_named_on_its_group(client_for, study):
    response = client_for("data_manager").get(reverse("dashboard", args=[study.slug]))
    block = NAV.search(response.content.decode()).group(1)
    assert re.search(
        r'dropdown-toggle active"[^>]*>Results'
        r'<span class="study-nav-current" aria-hidden="true">: Dashboard',
        block,
    )
    assert 'aria-current="page">Dashboard</a>' in block


@pytest.mark.django_db
def test_a_page_outside_the_menus_does_not_claim_to_be_the_overview(client_for, study):
    from animals.models import Animal

    animal = Animal.objects.create(study=study, code="R01")
    client = client_for("data_manager")
    history = client.get(reverse("animal_history", args=[study.slug, animal.code]))
    assert 'aria-current="page"' not in NAV.search(history.content.decode()).group(1)
    overview = client.get(reverse("study_overview", args=[study.slug]))
    assert 'aria-current="page">Overview</a>' in NAV.search(overview.content.decode()).group(1)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "labels"),
    [
        # A tester never opens the dosing worksheet (it shows solution letters, issue 18).
        ("tester", {"Overview", "Bench today", "Weights", "Observations"}),
        ("dosing_technician", {"Overview", "Bench today", "Dosing", "Weights", "Observations"}),
    ],
)
def test_split_bench_roles_are_shown_only_the_pages_they_open(
    client, make_user, study, role, labels
):
    from labstudy.models import Membership

    user = make_user(f"bench-{role}")
    Membership.objects.create(user=user, study=study, role=role)
    client.force_login(user)
    groups, links = nav_of(client.get(reverse("study_overview", args=[study.slug])))
    assert groups == []  # one group: tabs, no menus
    assert {label for _, label in links} == labels
    for url, label in links:
        assert client.get(url).status_code == 200, (role, label, url)
    if role == "tester":
        assert client.get(reverse("bench_doses", args=[study.slug])).status_code == 404
