"""Bench screens for von Frey testing: the day's list and the guided session.

Thin views: access, form, one service call, render. Taps come from the tablet's queue
(static/js/bench-queue.js) as htmx POSTs and get the updated panel back. A tap the
server refuses (session voided or locked meanwhile, series changed elsewhere) gets the
server's panel with status 409, so the tablet shows the conflict and drops the tap.
Blinded technicians see animal codes, cages and filaments here, never a group.
"""

import time
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from animals import selectors as animal_selectors
from animals.models import Animal
from labstudy import bench_keys
from labstudy.access import HIDDEN_WHILE_BLINDED, StudyAccess, study_access
from labstudy.bench import bench_date, day_links
from labstudy.models import Study, Timepoint
from sessions import selectors
from sessions.forms import TapForm, UndoForm, VoidSessionForm
from sessions.models import TestSession
from sessions.services import (
    UNCHECKED,
    TapConflict,
    session_state,
    tap_slot,
    undo_tap,
    void_session,
)

SERVICE_WORKER = Path(settings.BASE_DIR) / "static" / "js" / "bench-sw.js"


@login_required
@require_GET
def bench_today(request: HttpRequest, slug: str) -> HttpResponse:
    access = study_access(request.user, slug, may="can_record")
    study = access.study
    date = bench_date(request, access)
    day = selectors.bench_day(study, date)
    doses = animal_selectors.dose_sheet(study, date)
    weights = animal_selectors.weight_sheet(study, date)
    return render(
        request,
        "sessions/bench_today.html",
        {
            "access": access,
            "study": study,
            "section": "bench",
            "day": day,
            "doses": doses,
            "weights": weights,
            "links": day_links(study, date, "bench_today", access),
            "precache": ([s.url for s in day.slots] if access.can_test else [])
            + _form_pages(access, date),
        },
    )


def _form_pages(access: StudyAccess, date) -> list[str]:
    """The dosing, weights and observations pages this person may open, as the menu and
    the day list link them: kept for offline reloads, as the day's sessions are."""
    names = ["bench_weights", "bench_observations"]
    if access.can_dose:
        names.insert(0, "bench_doses")
    pages = [reverse(name, args=[access.study.slug]) for name in names]
    # The cage-card reader for browsers without BarcodeDetector loads only when Scan cage
    # is pressed: fetched ahead too, so scanning works on a tablet that went offline first.
    reader = static("vendor/jsqr-1.4.0/jsQR.js")
    return pages + [f"{page}?date={date.isoformat()}" for page in pages] + [reader]


class HiddenWhileBlinded(Http404):
    """A blinded bench role asked for another day's von Frey session (its series and
    threshold), or a dosing technician for any session."""


def _session_access(request: HttpRequest, slug: str, timepoint_pk: int) -> StudyAccess:
    """The access for a von Frey session URL: testers and technicians, and for a blinded
    bench role only the sessions of today (or later): the session in hand, never the past."""
    access = study_access(request.user, slug, may="can_test")
    if not access.sees_past_results:
        timepoint = get_object_or_404(Timepoint, pk=timepoint_pk, study=access.study)
        if not access.sees_day(access.study.date_of_day(timepoint.day)):
            raise HiddenWhileBlinded(HIDDEN_WHILE_BLINDED)
    return access


def _hidden_page(request: HttpRequest, slug: str, exc: Http404) -> HttpResponse:
    return render(
        request,
        "sessions/hidden_while_blinded.html",
        {"message": str(exc), "today_url": reverse("bench_today", args=[slug])},
        status=404,
    )


def _key_objects(study: Study, animal_pk: int, timepoint_pk: int, paw: str):
    animal = get_object_or_404(Animal, pk=animal_pk, study=study)
    timepoint = get_object_or_404(Timepoint, pk=timepoint_pk, study=study)
    animal.study = timepoint.study = study  # already read by study_access
    if paw not in study.paws:
        raise Http404("This paw is not tested in this study.")
    return animal, timepoint


@login_required
@require_GET
def bench_session(
    request: HttpRequest, slug: str, animal_pk: int, timepoint_pk: int, paw: str
) -> HttpResponse:
    try:
        access = _session_access(request, slug, timepoint_pk)
    except HiddenWhileBlinded as exc:
        return _hidden_page(request, slug, exc)
    study = access.study
    animal, timepoint = _key_objects(study, animal_pk, timepoint_pk, paw)
    read_at = time.time()  # before the read: see selectors.Panel.read_at
    live = selectors.live_session(study, animal.pk, timepoint.pk, paw)
    notice = ""
    if live is None:
        voided = selectors.last_voided_session(study, animal.pk, timepoint.pk, paw)
        if voided is not None:
            notice = (
                f"An earlier session was voided ({voided.void_reason}). "
                "The next tap starts a new one."
            )
    panel = selectors.panel(
        study,
        animal=animal,
        timepoint=timepoint,
        paw=paw,
        state=session_state(live.pk, study=study) if live else None,
        voided_notice=notice,
        read_at=read_at,
        dose_given_at=getattr(
            animal_selectors.dose_given_on(animal.pk, timepoint.date), "given_at", None
        ),
    )
    day = selectors.bench_day(study, timepoint.date)
    keys = [s.key for s in day.slots]
    here = f"{animal.pk}/{timepoint.pk}/{paw}"
    position = keys.index(here) + 1 if here in keys else None
    day_list = [{"key": s.key, "url": s.url, "animal": s.animal.code} for s in day.slots]
    return render(
        request,
        "sessions/bench_session.html",
        {
            "access": access,
            "study": study,
            "section": "bench",
            "panel": panel,
            "position": position,
            "day_size": len(keys),
            "day_list": day_list,
            "config": _config(request, panel),
            "today_url": f"{reverse('bench_today', args=[study.slug])}?date={timepoint.date}",
            "void_form": VoidSessionForm(),
            "key_hints": _key_hints(study),
        },
    )


def _key_hints(study: Study) -> list[tuple[str, str]]:
    """(action, "Page Down or → (right arrow)") for the hint under the answer buttons."""
    keys = bench_keys.study_keys(study)
    return [
        (label, " or ".join(bench_keys.label(k) for k in keys[action]))
        for action, label in bench_keys.ACTIONS
    ]


def _config(request: HttpRequest, panel: selectors.Panel) -> dict:
    """What the session script needs besides the panel state: the set and the rule."""
    return {
        "key": panel.key,
        "user": request.user.get_username(),
        "method": panel.method,
        "start": panel.study.start_filament,
        "cutoff_g": panel.study.cutoff_g,
        "params": panel.study.method_params,
        "filaments": [{"size": f.size, "grams": f.grams} for f in panel.table.specs],
        "urls": panel.urls,
        "label": f"{panel.animal.code} {panel.timepoint.label} {panel.paw_label.lower()}",
        "keys": bench_keys.study_keys(panel.study),
    }


def _panel_response(
    request: HttpRequest, panel: selectors.Panel, *, result: str, status: int = 200
) -> HttpResponse:
    if not (request.htmx or request.headers.get("X-Bench-Client")):
        if panel.conflict:
            messages.error(request, panel.conflict["message"])
        return redirect(panel.urls["page"], permanent=False)
    response = render(request, "sessions/_bench_panel.html", {"panel": panel}, status=status)
    response["X-Bench-Result"] = result
    return response


def _refused(
    request: HttpRequest,
    study: Study,
    key: tuple[int, int, str],
    *,
    code: str,
    message: str,
    status: int,
) -> HttpResponse:
    """The server's current panel for this animal x timepoint x paw, with why we refused."""
    animal, timepoint = _key_objects(study, *key)
    read_at = time.time()  # nothing written here: stamped before the read, as a page
    live = selectors.live_session(study, animal.pk, timepoint.pk, key[2])
    panel = selectors.panel(
        study,
        animal=animal,
        timepoint=timepoint,
        paw=key[2],
        state=session_state(live.pk, study=study) if live else None,
        conflict={"code": code, "message": message},
        read_at=read_at,
    )
    return _panel_response(request, panel, result=f"conflict:{code}", status=status)


@login_required
@require_POST
def bench_tap(
    request: HttpRequest, slug: str, animal_pk: int, timepoint_pk: int, paw: str
) -> HttpResponse:
    access = _session_access(request, slug, timepoint_pk)
    study = access.study
    key = (animal_pk, timepoint_pk, paw)
    form = TapForm(request.POST)
    if not form.is_valid():
        errors = "; ".join(f"{f}: {' '.join(e)}" for f, e in form.errors.items())
        return _refused(request, study, key, code="invalid", message=errors, status=400)
    session_pk = form.cleaned_data["session"]

    def tap():
        return tap_slot(
            study=study,
            slot=key,
            session_pk=session_pk,
            filament_size=form.filament_size(),
            withdrew=form.cleaned_data["withdrew"],
            client_uuid=form.cleaned_data["client_uuid"],
            user=request.user,
            note=form.note_text(),
            expected_last=form.cleaned_data["after"] if "after" in request.POST else UNCHECKED,
            slot_objects=lambda: _key_objects(study, *key),
        )

    return _answer(request, study, key, tap, lambda t: "created" if t.created else "duplicate")


def _answer(request, study, key, change, result) -> HttpResponse:
    """Make a tap or undo (`change`) and answer with the server's panel after it.

    A refusal (session voided or locked, series changed, bad input) answers with the
    current panel and why; `result` names the outcome in the X-Bench-Result header.
    """
    try:
        outcome = change()
    except TestSession.DoesNotExist:
        raise Http404("No such session.") from None
    except TapConflict as conflict:
        return _refused(
            request, study, key, code=conflict.code, message=conflict.message, status=409
        )
    except ValidationError as exc:
        message = " ".join(exc.messages)
        return _refused(request, study, key, code="invalid", message=message, status=400)
    state = outcome.state
    panel = selectors.panel(
        study,
        animal=state.session.animal,
        timepoint=state.session.timepoint,
        paw=state.session.paw,
        state=state,
    )
    return _panel_response(request, panel, result=result(outcome))


@login_required
@require_POST
def bench_undo(
    request: HttpRequest, slug: str, animal_pk: int, timepoint_pk: int, paw: str
) -> HttpResponse:
    access = _session_access(request, slug, timepoint_pk)
    study = access.study
    key = (animal_pk, timepoint_pk, paw)
    form = UndoForm(request.POST)
    if not form.is_valid():
        return _refused(request, study, key, code="invalid", message="Nothing to undo.", status=400)
    session_pk = form.cleaned_data["session"]
    if session_pk is None:
        live = selectors.live_session(study, animal_pk, timepoint_pk, paw)
        if live is None:
            return _refused(
                request, study, key, code="changed", message="Nothing to undo.", status=409
            )
        session_pk = live.pk
    return _answer(
        request,
        study,
        key,
        lambda: undo_tap(
            session=TestSession(pk=session_pk),
            user=request.user,
            client_uuid=form.cleaned_data["target"],
            study=study,
            slot=key,
        ),
        lambda undone: "undone" if undone.stimulus else "nothing",
    )


@login_required
@require_POST
def bench_void(
    request: HttpRequest, slug: str, animal_pk: int, timepoint_pk: int, paw: str
) -> HttpResponse:
    access = _session_access(request, slug, timepoint_pk)
    study = access.study
    form = VoidSessionForm(request.POST)
    page = reverse("bench_session", args=[study.slug, animal_pk, timepoint_pk, paw])
    if not form.is_valid():
        messages.error(request, "Give the reason the session is voided.")
        return redirect(page)
    session = get_object_or_404(
        TestSession.objects.select_related("timepoint"),
        pk=form.cleaned_data["session"],
        animal__study=study,
    )
    try:
        void_session(
            session=session,
            user=request.user,
            reason=form.cleaned_data["reason"],
            study=study,
            slot=(animal_pk, timepoint_pk, paw),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            f"Session voided ({session.void_reason}); its taps are kept. "
            "The next tap starts a new session.",
        )
    return redirect(page)


@login_required
@require_GET
def bench_next(
    request: HttpRequest, slug: str, animal_pk: int, timepoint_pk: int, paw: str
) -> HttpResponse:
    """The next session of the day's list that is not complete, after this one."""
    access = _session_access(request, slug, timepoint_pk)
    study = access.study
    timepoint = get_object_or_404(Timepoint, pk=timepoint_pk, study=study)
    day = selectors.bench_day(study, timepoint.date)
    keys = [s.key for s in day.slots]
    here = f"{animal_pk}/{timepoint_pk}/{paw}"
    start = keys.index(here) + 1 if here in keys else 0
    for slot in day.slots[start:] + day.slots[:start]:
        if slot.status != "done" and slot.key != here:
            return redirect(slot.url)
    messages.success(request, "Every von Frey session of the day is complete.")
    return redirect(f"{reverse('bench_today', args=[study.slug])}?date={timepoint.date}")


@login_required
@never_cache
@require_GET
def bench_service_worker(request: HttpRequest, slug: str) -> HttpResponse:
    """The offline service worker, served under /s/<slug>/bench/ so that is its scope.

    Only to the study's members, like the pages it keeps: a browser that is not signed in
    (or signed out) cannot install or update it; the update check then fails and the
    worker already installed stays until sign-out clears it.
    """
    study_access(request.user, slug, may="can_record")
    return HttpResponse(SERVICE_WORKER.read_bytes(), content_type="text/javascript")
