"""Who may do what, as one table: each role's answer to each StudyAccess property, and
the controls a few real pages show or hide by those answers.

The table is the policy in the lab's words (labstudy.models.ROLE_DESCRIPTIONS): bench
roles record, a tester does not dose and a dosing technician does not test, investigators
sign off and unblind, data managers set up, allocate, manage people and import, and both
of them export. On a blinded study the bench roles see codes only. A property added to
StudyAccess without a row here fails `test_the_table_covers_every_property`.
"""

import re

import pytest
from django.http import Http404
from django.urls import reverse

from animals.models import Animal
from labstudy.access import StudyAccess, study_access
from labstudy.models import Membership, Role, Study

ROLES = ("investigator", "data_manager", "technician", "dosing_technician", "tester")
Y, N = True, False

# property: investigator, data manager, technician, dosing technician, tester (blinded study)
BLINDED = {
    "can_record": (Y, Y, Y, Y, Y),
    "can_dose": (Y, Y, Y, Y, N),
    "can_test": (Y, Y, Y, N, Y),
    "sees_treatment": (Y, Y, N, N, N),
    "sees_solution_letters": (Y, Y, Y, Y, N),
    "sees_past_results": (Y, Y, N, N, N),
    "can_view_results": (Y, Y, N, N, N),
    "can_view_history": (Y, Y, N, N, N),
    "can_view_allocation": (Y, Y, N, N, N),
    # Cards carry solution letters next to codes: blinded bench roles get theirs printed.
    "can_print_cage_cards": (Y, Y, N, N, N),
    "can_setup": (N, Y, N, N, N),
    "can_allocate": (N, Y, N, N, N),
    "can_manage_members": (N, Y, N, N, N),
    "can_change_status": (Y, Y, N, N, N),
    "can_sign_off": (Y, N, N, N, N),
    "can_unblind": (Y, N, N, N, N),
    "can_export": (Y, Y, N, N, N),
    "can_import": (N, Y, N, N, N),
    "can_plan": (Y, Y, N, N, N),
    "is_technician": (N, N, Y, Y, Y),
}
# Once the study is unblinded the bench roles see groups, letters and past results, and
# read results and histories; everything else stays as on a blinded study.
UNBLINDED_CHANGES = {
    "sees_treatment": (Y, Y, Y, Y, Y),
    "sees_solution_letters": (Y, Y, Y, Y, Y),
    "sees_past_results": (Y, Y, Y, Y, Y),
    "can_view_results": (Y, Y, Y, Y, Y),
    "can_view_history": (Y, Y, Y, Y, Y),
    "can_print_cage_cards": (Y, Y, Y, Y, Y),
}


@pytest.fixture
def members(study, people, make_user):
    """The reference study (blinded) with one member in each role, and an outsider."""
    users = {
        "investigator": people["investigator"],
        "data_manager": people["data_manager"],
        "technician": people["technician"],
        "dosing_technician": make_user("dora"),
        "tester": make_user("theo"),
        "outsider": people["outsider"],
    }
    for role in (Role.DOSING_TECHNICIAN, Role.TESTER):
        Membership.objects.create(user=users[role], study=study, role=role)
    return users


def _fresh(user):
    """The user as a new request loads it (study_access caches on the user object)."""
    return type(user).objects.get(pk=user.pk)


def test_the_table_covers_every_property():
    properties = {name for name, value in vars(StudyAccess).items() if isinstance(value, property)}
    assert properties == set(BLINDED)


@pytest.mark.django_db
@pytest.mark.parametrize("blinded", [True, False], ids=["blinded", "unblinded"])
def test_each_role_against_the_table(study, members, blinded):
    Study.objects.filter(pk=study.pk).update(blinded=blinded)
    table = BLINDED if blinded else {**BLINDED, **UNBLINDED_CHANGES}
    for column, role in enumerate(ROLES):
        access = study_access(_fresh(members[role]), study.slug)
        assert access.role == role
        answers = {name: getattr(access, name) for name in table}
        assert answers == {name: row[column] for name, row in table.items()}, role


@pytest.mark.django_db
def test_an_outsider_may_nothing_and_learns_nothing(study, members):
    for may in ("", *BLINDED):
        with pytest.raises(Http404) as refused:
            study_access(_fresh(members["outsider"]), study.slug, may=may)
        assert str(refused.value) == "No such study.", may


@pytest.mark.django_db
def test_a_page_opens_only_for_the_roles_its_property_lets_in(study, members):
    for column, role in enumerate(ROLES):
        for may, row in BLINDED.items():
            if row[column]:
                assert study_access(_fresh(members[role]), study.slug, may=may).role == role
            else:
                with pytest.raises(Http404):
                    study_access(_fresh(members[role]), study.slug, may=may)


@pytest.mark.django_db
def test_a_refusal_says_why_in_the_lab_words(study, members):
    tester, dosing = _fresh(members["tester"]), _fresh(members["dosing_technician"])
    with pytest.raises(Http404, match="^Dosing is not part of your role in this study.$"):
        study_access(tester, study.slug, may="can_dose")
    with pytest.raises(Http404, match="^von Frey testing is not part of your role"):
        study_access(dosing, study.slug, may="can_test")
    with pytest.raises(Http404, match="^This page is not available to your role.$"):
        study_access(dosing, study.slug, may="can_import")


@pytest.mark.django_db
def test_a_misspelt_property_fails_loudly_instead_of_opening_the_page(study, members):
    with pytest.raises(ValueError, match="no property 'can_sign_of'"):
        study_access(_fresh(members["investigator"]), study.slug, may="can_sign_of")


# --- pages ---------------------------------------------------------------------------

# (page, what the control is, the address it links to or posts, shown to investigator,
# shown to data manager). The addresses are filled in with the study's slug; {code} is an
# animal, {label} a timepoint.
CONTROLS = [
    ("study_overview", "sign-off button", "timepoint_signoff {label}", Y, N),
    ("study_overview", "unblind link", "study_unblind", Y, N),
    ("study_overview", "change-status button", "animal_status {code}", Y, Y),
    ("study_overview", "People in the menu", "study_members", N, Y),
    ("study_overview", "Import in the menu", "import_upload", N, Y),
    ("study_overview", "Settings in the menu", "study_setup", N, Y),
    ("study_overview", "Exports in the menu", "export_index", Y, Y),
    ("animal_history", "change-status button", "animal_status {code}", Y, Y),
    ("export_index", "import button", "import_upload", N, Y),
    ("export_index", "ARRIVE report", "arrive_report", Y, Y),
    ("export_index", "publication package", "export_package", Y, Y),
    ("study_allocation", "allocation form", "form:allocate", N, Y),
]
DOWNLOADS = {"export_package"}


def _address(study, spec: str, animal: Animal) -> str:
    name, *rest = spec.split()
    extra = [part.format(code=animal.code, label="T0") for part in rest]
    return reverse(name, args=[study.slug, *extra])


def _page(client, study, name: str, animal: Animal) -> str:
    args = [study.slug, animal.code] if name == "animal_history" else [study.slug]
    response = client.get(reverse(name, args=args))
    assert response.status_code == 200, name
    return response.content.decode()


def _links(html: str) -> set[str]:
    return {href.split("?")[0] for href in re.findall(r'href="([^"]+)"', html)}


@pytest.fixture
def animal(study):
    return Animal.objects.create(study=study, code="R01", cage="C1")


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["investigator", "data_manager"])
def test_pages_show_the_controls_of_the_role_and_no_others(client, study, members, animal, who):
    client.force_login(members[who])
    column = 0 if who == "investigator" else 1
    for page, control, target, *shown in CONTROLS:
        html = _page(client, study, page, animal)
        if target.startswith("form:"):
            present = f'name="action" value="{target[5:]}"' in html
        else:
            present = _address(study, target, animal) in _links(html)
        assert present == shown[column], f"{who}: {control} on {page}"


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["investigator", "data_manager"])
def test_a_control_a_role_is_shown_opens_and_one_it_is_not_shown_is_refused(
    client, study, members, animal, who
):
    """A shown control never leads to a 404; a hidden one is refused, not just hidden."""
    client.force_login(members[who])
    column = 0 if who == "investigator" else 1
    for _page_name, control, target, *shown in CONTROLS:
        if target.startswith("form:") or target.split()[0] in DOWNLOADS:
            continue
        status = client.get(_address(study, target, animal)).status_code
        assert status == (200 if shown[column] else 404), f"{who}: {control} -> {status}"


@pytest.mark.django_db
def test_only_the_data_manager_allocates_even_by_a_hand_made_post(client, study, members, animal):
    client.force_login(members["investigator"])
    url = reverse("study_allocation", args=[study.slug])
    response = client.post(url, {"action": "allocate", "method": "simple", "seed": "1"})
    assert response.status_code == 404
    assert "Only data managers allocate animals." in response.content.decode()
    assert not study.allocations.exists()
    assert Animal.objects.get(pk=animal.pk).group is None


@pytest.mark.django_db
def test_a_blinded_bench_role_gets_no_status_form_and_no_change_button(
    client, study, members, animal
):
    client.force_login(members["technician"])
    overview = client.get(reverse("study_overview", args=[study.slug])).content.decode()
    assert "Change status" not in overview
    assert reverse("timepoint_signoff", args=[study.slug, "T0"]) not in overview
    status_page = client.get(reverse("animal_status", args=[study.slug, animal.code]))
    assert status_page.status_code == 404
