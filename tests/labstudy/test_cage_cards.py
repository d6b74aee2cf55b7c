"""Cage cards (issue 12): the printable sheet, its QR codes read back with zxing-cpp, and the
page a scanned card opens, for every role and for the addresses a careless or curious
person might type.

The world is the blinded reference study on day 28 (tests.worlds.make_bench_study): T3
testing of the right hind paw, a dosed day, every animal last weighed a week ago (so a
weight is due), R01 and R04 in cage C2, R02 alone in C10, R03 alone in C1.
"""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from animals import services as animal_services
from animals.models import Animal, DoseAdministration, Surgery
from labstudy import services
from labstudy.models import Membership, Role
from tests.conftest import PASSWORD
from tests.worlds import make_bench_study, qr_pixels, read_qr

LETTER = re.compile(r"\bSolution ([A-Z])\b")
CARD = re.compile(r'<article class="cage-card" aria-label="([^"]+)">(.*?)</article>', re.S)


def _secrets(study) -> re.Pattern:
    """Any group code, name or drug of the study, or any dose: what a blinded card hides."""
    words = set()
    for group in study.groups.all():
        words |= {group.code, group.name, group.drug}
    alternatives = [rf"(?<![\w-]){re.escape(w)}(?![\w-])" for w in words if w]
    return re.compile("|".join(alternatives + [r"\d+(?:[.,]\d+)?\s*mg\s*/\s*kg"]), re.I)


def _visible(html: str) -> str:
    """Page text and attribute values, without class names ("form-control")."""
    return re.sub(r'class="[^"]*"', "", html)


@pytest.fixture
def world(study, people, make_user):
    bench = make_bench_study(study)
    r02 = bench.animals["R02"]
    r02.date_of_birth = dt.date(2026, 6, 5)
    r02.save()
    Surgery.objects.create(animal=r02, date=bench.today - dt.timedelta(days=20), side="left")
    for username, role in (("theo", Role.TESTER), ("dora", Role.DOSING_TECHNICIAN)):
        people[role] = make_user(username)
        Membership.objects.create(user=people[role], study=study, role=role)
    other = services.create_study(
        template_key="psnl-vf-3x8",
        slug="other",
        title="Another study",
        day0_date=bench.today - dt.timedelta(days=28),
        user=people["data_manager"],
    )
    Animal.objects.create(study=other, code="Z01", cage="C99")
    bench.other = other
    return bench


def _cards(html: str) -> dict[str, str]:
    return dict(CARD.findall(html))


def _animal(card: str, code: str) -> str:
    """One animal's lines on a card."""
    return re.search(rf'cage-card-code">{re.escape(code)}<(.*?)</li>', card, re.S).group(1)


@pytest.mark.parametrize("role", ["investigator", "data_manager"])
def test_blinded_sheet_shows_every_cage_with_letters_and_never_a_group(world, client_for, role):
    study = world.study
    assert study.blinded
    page = client_for(role).get(reverse("cage_cards", args=[study.slug]))
    assert page.status_code == 200
    html = page.content.decode()
    cards = _cards(html)
    assert list(cards) == ["Cage C1", "Cage C2", "Cage C10"]  # cage order, C2 before C10
    assert re.findall(r'cage-card-code">([^<]+)<', cards["Cage C2"]) == ["R01", "R04"]
    for code, animal in world.animals.items():
        card = next(text for text in cards.values() if f">{code}<" in text)
        row = _animal(card, code)
        assert LETTER.findall(row) == [animal.group.coded_letter], code
    assert "Male · surgery left · born 5 Jun 2026" in _animal(cards["Cage C10"], "R02")
    assert _secrets(study).findall(_visible(html)) == []
    assert "blinded: each card shows the animal's solution letter, never its group" in html


def test_paper_size_sets_the_print_page_and_odd_values_fall_back_to_a4(world, client_for):
    url = reverse("cage_cards", args=[world.study.slug])
    client = client_for("investigator")
    assert "@page { size: Letter;" in client.get(url, {"paper": "letter"}).content.decode()
    for odd in ("a3", "</style><script>alert(1)</script>", "x" * 5000, ""):
        page = client.get(url, {"paper": odd})
        assert page.status_code == 200
        assert "@page { size: A4;" in page.content.decode()
        assert "<script>alert(1)" not in page.content.decode()


@pytest.mark.parametrize("role", ["technician", "tester", "dosing_technician", "outsider"])
def test_blinded_bench_roles_and_outsiders_get_no_sheet(world, client_for, role):
    page = client_for(role).get(reverse("cage_cards", args=[world.study.slug]))
    assert page.status_code == 404
    assert LETTER.findall(page.content.decode()) == []
    overview = client_for(role).get(reverse("study_overview", args=[world.study.slug]))
    assert "Print cage cards" not in overview.content.decode()


def test_overview_links_the_sheet_for_those_who_may_print(world, client_for):
    overview = client_for("investigator").get(reverse("study_overview", args=[world.study.slug]))
    assert reverse("cage_cards", args=[world.study.slug]) in overview.content.decode()


@pytest.mark.parametrize("role", ["technician", "tester", "dosing_technician", "investigator"])
def test_open_study_cards_name_the_group_for_every_member(world, people, client_for, role):
    study = services.unblind_study(
        study=world.study, user=people["investigator"], password=PASSWORD, reason="study over"
    )
    html = client_for(role).get(reverse("cage_cards", args=[study.slug])).content.decode()
    row = _animal(_cards(html)["Cage C10"], "R02")
    group = world.animals["R02"].group
    assert f"Solution {group.coded_letter} · {group.code} " in row


def test_each_qr_code_reads_back_as_its_cage_link_and_that_link_opens_the_cage(world, client_for):
    study = world.study
    html = client_for("investigator").get(reverse("cage_cards", args=[study.slug])).content
    technician = client_for("technician")
    for label, card in _cards(html.decode()).items():
        cage = label.removeprefix("Cage ")
        svg = re.search(r"<svg.*?</svg>", card, re.S).group(0)
        expected = f"http://testserver{reverse('scan_cage', args=[study.slug, cage])}"
        assert read_qr(qr_pixels(svg)) == [expected], label
        opened = technician.get(expected.removeprefix("http://testserver"))
        codes = sorted(a.code for a in world.animals.values() if a.cage == cage)
        shown = re.findall(r'<span class="bench-code">([^<]+)</span>', opened.content.decode())
        assert (opened.status_code, shown) == (200, codes), label


def test_an_animal_without_a_cage_gets_its_own_card(world, client_for):
    Animal.objects.create(study=world.study, code="R05", cage="", group=None)
    html = client_for("investigator").get(reverse("cage_cards", args=[world.study.slug]))
    card = _cards(html.content.decode())["Animal R05"]
    svg = re.search(r"<svg.*?</svg>", card, re.S).group(0)
    link = reverse("scan_animal", args=[world.study.slug, "R05"])
    assert read_qr(qr_pixels(svg)) == [f"http://testserver{link}"]
    assert "not allocated" in card


def test_a_cage_name_with_spaces_and_signs_survives_the_round_trip(world, client_for):
    r03 = world.animals["R03"]
    r03.cage = "Rack 2 #3?"
    r03.save()
    html = client_for("investigator").get(reverse("cage_cards", args=[world.study.slug]))
    card = _cards(html.content.decode())["Cage Rack 2 #3?"]
    [link] = read_qr(qr_pixels(re.search(r"<svg.*?</svg>", card, re.S).group(0)))
    assert link.endswith("/scan/cage/Rack%202%20%233%3F/")
    opened = client_for("technician").get(link.removeprefix("http://testserver"))
    assert opened.status_code == 200 and "Cage Rack 2 #3?" in opened.content.decode()


# --- What a scanned card opens ------------------------------------------------------------


def _buttons(response) -> list[str]:
    return re.findall(r'<a class="btn btn-lg [^"]*" href="([^"]+)"', response.content.decode())


def test_scan_lists_todays_work_for_the_cage_by_role(world, client_for):
    study, r02, tp = world.study, world.animals["R02"], world.tp
    url = reverse("scan_cage", args=[study.slug, "C10"])
    session = reverse("bench_session", args=[study.slug, r02.pk, tp.pk, "right"])
    today = world.today.isoformat()
    dose = f"{reverse('bench_doses', args=[study.slug])}?date={today}#dose-{r02.pk}"
    weight = f"{reverse('bench_weights', args=[study.slug])}?date={today}#weight-{r02.pk}"
    expected = {
        "technician": [session, dose, weight],
        "tester": [session, weight],  # no dosing worksheet: it shows solution letters
        "dosing_technician": [dose, weight],  # no von Frey
        "investigator": [session, dose, weight],
    }
    secrets = _secrets(study)
    for role, links in expected.items():
        page = client_for(role).get(url, {"date": "2026-01-01"})  # a scan is always today
        assert page.status_code == 200, role
        assert [link.replace("&amp;", "&") for link in _buttons(page)] == links, role
        text = _visible(page.content.decode())
        if role != "investigator":
            assert LETTER.findall(text) == [] and secrets.findall(text) == [], role


def test_scan_goes_straight_to_the_one_thing_left(world, client_for):
    study, r02, tp = world.study, world.animals["R02"], world.tp
    technician = client_for("technician")
    animal_services.record_weight(
        animal=r02, grams=Decimal("301"), date=world.today, user=None, confirmed=True
    )
    animal_services.record_dose(
        animal=r02, date=world.today, status=DoseAdministration.Status.GIVEN, reason="", user=None
    )
    page = technician.get(reverse("scan_cage", args=[study.slug, "C10"]))
    assert page.status_code == 302
    assert page["Location"] == reverse("bench_session", args=[study.slug, r02.pk, tp.pk, "right"])
    # By the animal's own card, the same.
    page = technician.get(reverse("scan_animal", args=[study.slug, "R02"]))
    assert page["Location"].endswith(f"/bench/vf/{r02.pk}/{tp.pk}/right/")


def test_scan_of_a_cage_with_two_animals_lists_both(world, client_for):
    page = client_for("technician").get(reverse("scan_cage", args=[world.study.slug, "C2"]))
    html = page.content.decode()
    assert re.findall(r'<span class="bench-code">([^<]+)</span>', html) == ["R01", "R04"]
    assert "Cage C2" in html


def test_scan_refuses_other_studies_unknown_cards_and_outsiders(world, client_for):
    study = world.study
    technician = client_for("technician")
    # A card of a study the technician is not a member of: the study's 404, nothing of it.
    other = technician.get(reverse("scan_cage", args=["other", "C99"]))
    assert other.status_code == 404 and not re.search(r"\bZ01\b", other.content.decode())
    # That cage asked for in this study: no such cage here, said in words.
    unknown = technician.get(reverse("scan_cage", args=[study.slug, "C99"]))
    assert unknown.status_code == 404
    assert "This study has no cage &#x27;C99&#x27;" in unknown.content.decode()
    # a word of its own: a random CSRF token on the page may hold the letters
    assert not re.search(r"\bZ01\b", unknown.content.decode())
    missing = technician.get(reverse("scan_animal", args=[study.slug, "Z01"]))
    assert missing.status_code == 404 and "This study has no animal" in missing.content.decode()
    # An outsider scanning this study's card learns nothing of it.
    outsider = client_for("outsider").get(reverse("scan_cage", args=[study.slug, "C10"]))
    assert outsider.status_code == 404 and not re.search(r"\bR02\b", outsider.content.decode())


def test_scan_of_animals_that_left_the_study_says_so(world, client_for):
    r03 = world.animals["R03"]
    r03.status, r03.status_date, r03.status_reason = "died", world.today, "found dead"
    r03.save()
    technician = client_for("technician")
    cage = technician.get(reverse("scan_cage", args=[world.study.slug, "C1"]))
    assert cage.status_code == 404 and "No active animal in cage C1" in cage.content.decode()
    animal = technician.get(reverse("scan_animal", args=[world.study.slug, "R03"]))
    assert animal.status_code == 404 and "R03 is died" in animal.content.decode()


HOSTILE = [
    "../../admin/",
    "C10/../../other",
    "%00",
    "C1%00",
    "A" * 300,
    "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "C10'; DROP TABLE animals_animal;--",
    "%F0%9F%90%80",
    "%2e%2e%2f%2e%2e%2f",
    "C10%0d%0aSet-Cookie:%20x=1",
    "%ff%fe",
    "%20",
]


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("kind", ["cage", "animal"])
def test_hostile_scan_addresses_get_a_plain_404(world, client_for, value, kind):
    page = client_for("technician").get(f"/s/{world.study.slug}/scan/{kind}/{value}/")
    assert page.status_code == 404
    html = page.content.decode()
    assert "<script>alert" not in html
    assert "Set-Cookie" not in str(page.headers)
    assert not re.search(r"\bR02\b", html)  # never another cage's animals
