"""Bench screens for dosing, body weights and observations, and the animal status page.
Thin: access, form, service.

Row forms post with htmx and get their row back (with the message); without htmx they
redirect to the page. A blinded technician's rows show coded solution letters and
volumes only (see animals.selectors.solution_label).
"""

import datetime as dt
import uuid
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from animals import selectors, services
from animals.forms import AnimalStatusForm, DoseForm, ObservationForm, VoidForm, WeightForm
from animals.models import Animal, BodyWeight, DoseAdministration, Observation
from labstudy.access import StudyAccess, study_access
from labstudy.bench import answer_queued, bench_date, day_links


def _page(name: str, study, date: dt.date) -> str:
    return f"{reverse(name, args=[study.slug])}?date={date.isoformat()}"


def _errors(exc: ValidationError) -> str:
    return " ".join(exc.messages)


# A blinded bench role works on today only (issue 18): recording, voiding or reading a
# row of another day would show that day's records, and change them behind the people who
# may see the results.
PAST_DAY_CLOSED = (
    "Past days are closed while the study is blinded: record and correct today's work only."
)


def _closed_day(access: StudyAccess, date: dt.date) -> bool:
    return not access.sees_day(date)


def _form_errors(form) -> str:
    """Every error of a form, each after the name of its field ("Reason: ...")."""
    return " ".join(
        f"{form.fields[field].label or field.replace('_', ' ').capitalize()}: {' '.join(errors)}"
        if field in form.fields
        else " ".join(errors)
        for field, errors in form.errors.items()
    )


def _refusal(exc: ValidationError) -> str:
    """The queue's outcome for an entry a service refused (labstudy.bench.answer_queued)."""
    if isinstance(exc, services.NeedsConfirmation):
        return "conflict:confirm"
    if isinstance(exc, services.FormReused):
        return "conflict:reused"
    return "conflict:refused"


def _posted_uuid(form) -> uuid.UUID | None:
    """The form id a refused form is shown again with, so its corrected resend is one record."""
    return getattr(form, "cleaned_data", {}).get("client_uuid")


ALREADY_SAVED = " (already saved)"
BAD_FORM_ID = "This form is out of date: reload the page and enter it again."


# ---------------------------------------------------------------------------
# Dosing worksheet


def _dose_access(request: HttpRequest, slug: str) -> StudyAccess:
    """The worksheet shows solution letters: not for a tester (StudyAccess.can_dose)."""
    return study_access(request.user, slug, may="can_dose")


@login_required
@require_GET
def bench_doses(request: HttpRequest, slug: str) -> HttpResponse:
    access = _dose_access(request, slug)
    study = access.study
    date = bench_date(request, access)
    return render(
        request,
        "animals/bench_doses.html",
        {
            "access": access,
            "study": study,
            "section": "doses",
            "sheet": selectors.dose_sheet(study, date, sees_treatment=access.sees_treatment),
            "links": day_links(study, date, "bench_doses", access),
        },
    )


def _dose_row_response(
    request: HttpRequest,
    access: StudyAccess,
    animal: Animal,
    date: dt.date,
    message: tuple,
    *,
    result: str = "",
) -> HttpResponse:
    if not request.htmx:
        getattr(messages, message[0])(request, message[1])
        return redirect(_page("bench_doses", access.study, date))
    dose = (
        DoseAdministration.objects.filter(animal=animal, scheduled_date=date, voided=False)
        .select_related("given_by")
        .first()
    )
    row = selectors.dose_row(
        animal,
        date,
        dose=dose,
        weight=services.latest_weight(animal, date),
        sees_treatment=access.sees_treatment,
    )
    response = render(
        request,
        "animals/_dose_row.html",
        {"row": row, "study": access.study, "date": date, "message": message},
    )
    if result:
        answer_queued(request, response, result=result, message=message[1])
    return response


@login_required
@require_POST
def bench_dose_record(request: HttpRequest, slug: str, animal_pk: int) -> HttpResponse:
    access = _dose_access(request, slug)
    animal = get_object_or_404(
        Animal.objects.select_related("group", "study"), pk=animal_pk, study=access.study
    )
    form = DoseForm(request.POST)
    if not form.is_valid():
        date = bench_date(request, access)
        text = BAD_FORM_ID if set(form.errors) == {"client_uuid"} else _form_errors(form)
        return _dose_row_response(request, access, animal, date, ("error", text), result="invalid")
    date = form.cleaned_data["date"]
    if _closed_day(access, date):
        today = timezone.localdate()
        return _dose_row_response(
            request, access, animal, today, ("error", PAST_DAY_CLOSED), result="conflict:closed"
        )
    try:
        dose = services.record_dose(
            animal=animal,
            date=date,
            status=form.cleaned_data["status"],
            reason=form.cleaned_data["reason"],
            user=request.user,
            client_uuid=form.cleaned_data["client_uuid"],
        )
    except ValidationError as exc:
        message, result = ("error", _errors(exc)), _refusal(exc)
    else:
        text = f"{animal.code}: dose {dose.get_status_display().lower()}"
        text += (ALREADY_SAVED if dose.already_saved else "") + "."
        message, result = ("success", text), "duplicate" if dose.already_saved else "created"
    return _dose_row_response(request, access, animal, date, message, result=result)


@login_required
@require_POST
def bench_dose_void(request: HttpRequest, slug: str, dose_pk: int) -> HttpResponse:
    access = _dose_access(request, slug)
    dose = get_object_or_404(
        DoseAdministration.objects.select_related("animal__group", "animal__study"),
        pk=dose_pk,
        animal__study=access.study,
    )
    form = VoidForm(request.POST)
    date = dose.scheduled_date
    if _closed_day(access, date):
        today = timezone.localdate()
        return _dose_row_response(request, access, dose.animal, today, ("error", PAST_DAY_CLOSED))
    if not form.is_valid():
        message = ("error", "Give the reason the dose record is void.")
    else:
        try:
            services.void_dose(dose=dose, user=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            message = ("error", _errors(exc))
        else:
            message = ("success", f"{dose.animal.code}: dose record voided; mark it again.")
    return _dose_row_response(request, access, dose.animal, date, message)


# ---------------------------------------------------------------------------
# Weights


@login_required
@require_GET
def bench_weights(request: HttpRequest, slug: str) -> HttpResponse:
    access = study_access(request.user, slug, may="can_record")
    study = access.study
    date = bench_date(request, access)
    sheet = selectors.weight_sheet(study, date)
    return render(
        request,
        "animals/bench_weights.html",
        {
            "access": access,
            "study": study,
            "section": "weights",
            "sheet": sheet,
            # One id per row's entry form: a resent save finds the weight it stored.
            "entries": [(row, uuid.uuid4()) for row in sheet.rows],
            "links": day_links(study, date, "bench_weights", access),
        },
    )


def _weight_row_response(
    request: HttpRequest,
    access: StudyAccess,
    animal: Animal,
    date: dt.date,
    message: tuple,
    *,
    entered: str = "",
    confirm: bool = False,
    client_uuid: uuid.UUID | None = None,
    result: str = "",
    observation_url: str = "",
) -> HttpResponse:
    """The animal's row again. `client_uuid` keeps a refused form's id; without it (after a
    save) the form gets a new one for the next weight."""
    if not request.htmx:
        getattr(messages, message[0])(request, message[1])
        return redirect(_page("bench_weights", access.study, date))
    row = selectors.weight_rows(access.study, [animal], date)[0]
    response = render(
        request,
        "animals/_weight_row.html",
        {
            "row": row,
            "study": access.study,
            "date": date,
            "message": message,
            "entered": entered,
            "confirm": confirm,
            "client_uuid": client_uuid or uuid.uuid4(),
            "observation_url": observation_url,
            "observation_term": services.WEIGHT_LOSS,
        },
    )
    if result:
        answer_queued(request, response, result=result, message=message[1])
    return response


@login_required
@require_POST
def bench_weight_record(request: HttpRequest, slug: str, animal_pk: int) -> HttpResponse:
    access = study_access(request.user, slug, may="can_record")
    animal = get_object_or_404(
        Animal.objects.select_related("study"), pk=animal_pk, study=access.study
    )
    form = WeightForm(request.POST)
    if not form.is_valid():
        date = bench_date(request, access)
        text = "Enter the weight in grams, e.g. 312.5."
        if set(form.errors) == {"client_uuid"}:
            text = BAD_FORM_ID
        elif "date" in form.errors and form.data.get("date"):
            text = " ".join(form.errors["date"])
        return _weight_row_response(
            request,
            access,
            animal,
            date,
            ("error", text),
            client_uuid=_posted_uuid(form),
            result="invalid",
        )
    date = form.cleaned_data["date"]
    if _closed_day(access, date):
        today = timezone.localdate()
        return _weight_row_response(
            request, access, animal, today, ("error", PAST_DAY_CLOSED), result="conflict:closed"
        )
    entered = form.cleaned_data["grams"]
    client_uuid = form.cleaned_data["client_uuid"]
    try:
        grams = services.parse_grams(entered)
        weight = services.record_weight(
            animal=animal,
            grams=grams,
            date=date,
            user=request.user,
            confirmed=form.cleaned_data["confirm"],
            client_uuid=client_uuid,
        )
    except services.NeedsConfirmation as exc:
        return _weight_row_response(
            request,
            access,
            animal,
            date,
            ("warning", _errors(exc)),
            entered=entered,
            confirm=True,
            client_uuid=client_uuid,
            result="conflict:confirm",
        )
    except ValidationError as exc:
        # A reused form id gets a new one: the next Save is a separate entry.
        kept = None if isinstance(exc, services.FormReused) else client_uuid
        return _weight_row_response(
            request,
            access,
            animal,
            date,
            ("error", _errors(exc)),
            entered=entered,
            client_uuid=kept,
            result=_refusal(exc),
        )
    text = f"{animal.code}: {weight.grams:f} g saved."
    if weight.already_saved:
        text = text.removesuffix(".") + ALREADY_SAVED + "."
    result = "duplicate" if weight.already_saved else "created"
    loss = selectors.weight_loss_after(weight)
    if loss is None:
        return _weight_row_response(request, access, animal, date, ("success", text), result=result)
    text += (
        f" That is {loss.percent} % less than the last weight ({loss.previous_grams:f} g on "
        f"{loss.previous_date:%d %b}); the study overview flags {animal.code}."
    )
    query = urlencode(
        {"date": date.isoformat(), "animal": animal.pk, "terms": services.WEIGHT_LOSS}
    )
    offer = f"{reverse('bench_observations', args=[access.study.slug])}?{query}"
    return _weight_row_response(
        request, access, animal, date, ("warning", text), observation_url=offer, result=result
    )


@login_required
@require_POST
def bench_weight_void(request: HttpRequest, slug: str, weight_pk: int) -> HttpResponse:
    access = study_access(request.user, slug, may="can_record")
    weight = get_object_or_404(
        BodyWeight.objects.select_related("animal__study"),
        pk=weight_pk,
        animal__study=access.study,
    )
    if _closed_day(access, weight.date):
        today = timezone.localdate()
        return _weight_row_response(
            request, access, weight.animal, today, ("error", PAST_DAY_CLOSED)
        )
    form = VoidForm(request.POST)
    if not form.is_valid():
        message = ("error", "Give the reason the weight is void.")
    else:
        try:
            services.void_weight(
                weight=weight, user=request.user, reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            message = ("error", _errors(exc))
        else:
            message = ("success", f"{weight.animal.code}: {weight.grams:f} g voided.")
    return _weight_row_response(request, access, weight.animal, weight.date, message)


# ---------------------------------------------------------------------------
# Observations


@login_required
@require_http_methods(["GET", "POST"])
def bench_observations(request: HttpRequest, slug: str) -> HttpResponse:
    access = study_access(request.user, slug, may="can_record")
    study = access.study
    date = bench_date(request, access)
    form = ObservationForm(
        request.POST if request.method == "POST" else None,
        initial={"date": date, "client_uuid": uuid.uuid4()},
    )
    reused = False
    if request.method == "POST" and request.headers.get("X-Bench-Client"):
        return _observation_queued(request, access, form)
    if request.method == "POST":
        if form.is_valid() and _closed_day(access, form.cleaned_data["date"]):
            messages.error(request, PAST_DAY_CLOSED)
            return redirect(_page("bench_observations", study, timezone.localdate()))
        if form.is_valid():
            date = form.cleaned_data["date"]
            animal = get_object_or_404(
                Animal.objects.select_related("study"),
                pk=form.cleaned_data["animal"],
                study=study,
            )
            try:
                rows = _record_observations(request, animal, form)
            except ValidationError as exc:
                form.add_error(None, _errors(exc))
                reused = isinstance(exc, services.FormReused)
            else:
                messages.success(request, _observations_saved(animal, rows, form))
                return redirect(_page("bench_observations", study, date))
        elif "animal" in form.errors:
            form.errors["animal"] = form.error_class(["Pick the animal."])
        if "client_uuid" in form.errors:
            form.errors["client_uuid"] = form.error_class([BAD_FORM_ID])
    return render(
        request,
        "animals/bench_observations.html",
        {
            "access": access,
            "study": study,
            "section": "observations",
            "form": form,
            # A refused form keeps its id, so the corrected resend is still one record.
            # A reused form id gets a new one: the next submission is a separate entry.
            "client_uuid": (not reused and _posted_uuid(form)) or form.initial["client_uuid"],
            # Posted values, or those of a link from the weights screen (a big weight loss).
            "picked_animal": str(request.POST.get("animal", request.GET.get("animal", ""))),
            "picked_terms": request.POST.getlist("terms") or request.GET.getlist("terms"),
            "animals": selectors.active_animals(study, date),
            "terms": list(services.OBSERVATION_PICKS),
            # "Not graded" first and picked by default, so a mis-tapped grade can be cleared.
            "severities": [
                (value, label if value else "Not graded")
                for value, label in Observation.Severity.choices
            ],
            "picked_severity": str(request.POST.get("severity", "")),
            # A blinded bench role sees the day's observations only, not a fortnight's.
            "recent": selectors.recent_observations(
                study, date, days=14 if access.sees_past_results else 0
            ),
            "recent_days": 14 if access.sees_past_results else 0,
            "links": day_links(study, date, "bench_observations", access),
        },
    )


def _record_observations(request: HttpRequest, animal: Animal, form) -> list[Observation]:
    return services.record_observations(
        animal=animal,
        date=form.cleaned_data["date"],
        terms=form.cleaned_data["terms"],
        notes=form.cleaned_data["notes"],
        severity=form.cleaned_data["severity"] or "",
        user=request.user,
        client_uuid=form.cleaned_data["client_uuid"],
    )


def _observations_saved(animal: Animal, rows: list[Observation], form) -> str:
    text = f"{animal.code}: recorded {', '.join(r.term for r in rows)}"
    text += (ALREADY_SAVED if rows[0].already_saved else "") + "."
    if services.FOUND_DEAD in form.cleaned_data["terms"]:
        text += f" {animal.code} is now marked as died and leaves the day lists."
    return text


def _observation_queued(request: HttpRequest, access: StudyAccess, form) -> HttpResponse:
    """An observation from the tablet's queue: the outcome in headers, no page.

    Saved, it is also the page's message at the next load (the queue reloads the page
    when the technician is still on it), as a plain form post's is.
    """

    def answer(result: str, text: str) -> HttpResponse:
        response = HttpResponse(text, content_type="text/plain; charset=utf-8")
        return answer_queued(request, response, result=result, message=text)

    if not form.is_valid():
        if set(form.errors) == {"client_uuid"}:
            return answer("invalid", BAD_FORM_ID)
        if "animal" in form.errors:
            return answer("invalid", "Pick the animal.")
        return answer("invalid", _form_errors(form))
    if _closed_day(access, form.cleaned_data["date"]):
        return answer("conflict:closed", PAST_DAY_CLOSED)
    animal = Animal.objects.filter(pk=form.cleaned_data["animal"], study=access.study).first()
    if animal is None:
        return answer("conflict:refused", "This animal is not in this study.")
    try:
        rows = _record_observations(request, animal, form)
    except ValidationError as exc:
        return answer(_refusal(exc), _errors(exc))
    text = _observations_saved(animal, rows, form)
    messages.success(request, text)
    return answer("duplicate" if rows[0].already_saved else "created", text)


@login_required
@require_POST
def bench_observation_void(request: HttpRequest, slug: str, observation_pk: int) -> HttpResponse:
    access = study_access(request.user, slug, may="can_record")
    observation = get_object_or_404(
        Observation.objects.select_related("animal__study"),
        pk=observation_pk,
        animal__study=access.study,
    )
    if _closed_day(access, observation.date):
        messages.error(request, PAST_DAY_CLOSED)
        return redirect(_page("bench_observations", access.study, timezone.localdate()))
    form = VoidForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the reason the observation is void.")
    else:
        try:
            services.void_observation(
                observation=observation, user=request.user, reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            messages.error(request, _errors(exc))
        else:
            messages.success(request, f"{observation.animal.code}: {observation.term} voided.")
    return redirect(_page("bench_observations", access.study, observation.date))


# ---------------------------------------------------------------------------
# Animal status (excluded, died, euthanised, active again)


@login_required
@require_http_methods(["GET", "POST"])
def animal_status(request: HttpRequest, slug: str, code: str) -> HttpResponse:
    access = study_access(request.user, slug, may="can_change_status")
    study = access.study
    animal = get_object_or_404(Animal.objects.select_related("group"), study=study, code=code)
    animal.study = study
    form = AnimalStatusForm(
        request.POST if request.method == "POST" else None,
        initial={"date": timezone.localdate().isoformat()},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.change_animal_status(
                animal=animal,
                status=form.cleaned_data["status"],
                date=form.cleaned_data["date"],
                reason=form.cleaned_data["reason"],
                user=request.user,
            )
        except ValidationError as exc:
            animal.refresh_from_db()
            if hasattr(exc, "error_dict"):
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                form.add_error(None, exc.messages)
        else:
            messages.success(
                request,
                f"{animal.code} is now marked {animal.get_status_display().lower()}, dated "
                f"{animal.status_date:%d %b %Y}; the reason is kept in its audit trail.",
            )
            return redirect(f"{reverse('study_overview', args=[study.slug])}#animals-heading")
    return render(
        request,
        "animals/animal_status.html",
        {"access": access, "study": study, "animal": animal, "form": form},
    )
