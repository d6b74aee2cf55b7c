"""The cage card sheet and the page a scanned card opens.

Thin views: access, one read from front.cage_cards, render. A scanned card opens today's
work for its animals: straight to it when there is one thing left to do, else a page of
buttons. An unknown card, or an address no stored cage could have, is a 404 page that says
so in words; a non-member gets the study's usual 404 (labstudy.access), so a card never
discloses another study.
"""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from animals.models import Animal
from front import cage_cards as cards
from labstudy.access import StudyAccess, study_access

PAPERS = {"a4": "A4", "letter": "Letter"}
OTHER_STUDY = "Is the card from another study? Scan it from that study's bench."


@login_required
@require_GET
def cage_card_sheet(request: HttpRequest, slug: str) -> HttpResponse:
    access = study_access(request.user, slug, may="can_print_cage_cards")
    paper = request.GET.get("paper", "a4")
    if paper not in PAPERS:
        paper = "a4"
    sheet = cards.cage_cards(access.study, absolute=request.build_absolute_uri)
    return render(
        request,
        "labstudy/cage_cards.html",
        {
            "access": access,
            "study": access.study,
            "cards": sheet,
            "paper": paper,
            "page_size": PAPERS[paper],
            "papers": PAPERS,
            "printed": timezone.localdate(),
            "site": request.build_absolute_uri("/"),
        },
    )


def _message(request: HttpRequest, access: StudyAccess, heading: str, text: str) -> HttpResponse:
    return render(
        request,
        "labstudy/scan_message.html",
        {
            "study": access.study,
            "heading": heading,
            "text": text,
            "today_url": reverse("bench_today", args=[access.study.slug]),
        },
        status=404,
    )


def _open(request: HttpRequest, access: StudyAccess, animals: list[Animal], what: str):
    """Today's work for the scanned animals: the one open item, or the list of them."""
    date = timezone.localdate()
    work = cards.todays_work(access, animals, date)
    open_items = [item for w in work for item in w.open_items]
    if len(open_items) == 1:
        return redirect(open_items[0].url)
    return render(
        request,
        "labstudy/scan_today.html",
        {
            "access": access,
            "study": access.study,
            "section": "bench",
            "what": what,
            "work": work,
            "date": date,
            "anything_open": bool(open_items),
        },
    )


@login_required
@require_GET
def scan_cage(request: HttpRequest, slug: str, cage: str) -> HttpResponse:
    access = study_access(request.user, slug, may="can_record")
    unknown = ("Unknown cage card", f"This study has no cage {cage!r}. {OTHER_STUDY}")
    if not cards.plausible_key(cage):
        return _message(request, access, *unknown)
    animals = list(Animal.objects.filter(study=access.study, cage=cage))
    if not animals:
        return _message(request, access, *unknown)
    active = [a for a in animals if a.status == Animal.Status.ACTIVE]
    if not active:
        return _message(
            request,
            access,
            f"No active animal in cage {cage}",
            "Every animal of this cage has left the study: there is no bench work for it.",
        )
    return _open(request, access, active, f"Cage {cage}")


@login_required
@require_GET
def scan_animal(request: HttpRequest, slug: str, code: str) -> HttpResponse:
    access = study_access(request.user, slug, may="can_record")
    unknown = ("Unknown card", f"This study has no animal {code!r}. {OTHER_STUDY}")
    if not cards.plausible_key(code):
        return _message(request, access, *unknown)
    animal = Animal.objects.filter(study=access.study, code=code).first()
    if animal is None:
        return _message(request, access, *unknown)
    if animal.status != Animal.Status.ACTIVE:
        return _message(
            request,
            access,
            f"{animal.code} is {animal.get_status_display().lower()}",
            "This animal has left the study: there is no bench work for it.",
        )
    return _open(request, access, [animal], f"Animal {animal.code}")
