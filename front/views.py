"""Home, study overview and study set-up pages, sign-off, unblinding and the history pages.

Pages that gather several apps (the study core, animals, sessions), so they sit above them.
Thin: access, form, one service call.
"""

import secrets

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from analysis import frames
from animals import allocation_service
from animals import selectors as animal_selectors
from animals import services as animal_services
from animals.models import Animal
from front import selectors
from front.services import save_study_settings
from labstudy import audit, services
from labstudy.access import can_create_studies, studies_for, study_access
from labstudy.forms import (
    AddAnimalsForm,
    AllocationForm,
    GroupFormSet,
    NewStudyForm,
    PasswordConfirmForm,
    PhaseFormSet,
    ReasonedPasswordForm,
    StudyForm,
    TimepointFormSet,
    needs_reason,
)
from labstudy.models import Role, Study, Timepoint
from labstudy.selectors import volume_advice
from sessions.models import TestSession


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    studies = list(studies_for(request.user).order_by("status", "-day0_date"))
    for study in studies:
        study.role_label = Role(study.my_role).label
    return render(
        request,
        "labstudy/home.html",
        {"studies": studies, "can_create": can_create_studies(request.user)},
    )


@login_required
@require_GET
def study_overview(request: HttpRequest, slug: str) -> HttpResponse:
    access = study_access(request.user, slug)
    study = access.study
    today = timezone.localdate()
    # A blinded bench role sees no group and no letter here: letters next to codes could
    # be averaged against results; the dosing worksheet is where a letter is needed.
    groups = study.groups.all() if access.sees_treatment else study.groups.none()
    animals = list(selectors.animals_with_groups(study))
    losses = animal_selectors.weight_loss_flags(study)
    for animal in animals:
        animal.weight_loss = losses.get(animal.pk)
    return render(
        request,
        "labstudy/study_overview.html",
        {
            "access": access,
            "study": study,
            "groups": groups,
            "phases": study.phases.all(),
            "timepoints": study.timepoints.all(),
            "animals": animals,
            "weight_losses": [a for a in animals if a.weight_loss],
            "due": selectors.due_today(study, today),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def study_new(request: HttpRequest) -> HttpResponse:
    if not can_create_studies(request.user):
        raise PermissionDenied("Only data managers can create studies.")
    form = NewStudyForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            study = services.create_study(
                template_key=form.cleaned_data["template"],
                slug=form.cleaned_data["slug"],
                title=form.cleaned_data["title"],
                day0_date=form.cleaned_data["day0_date"],
                user=request.user,
            )
        except ValidationError as exc:
            _attach(form, exc)
        else:
            messages.success(request, f"Study '{study.title}' created. Check its design below.")
            return redirect("study_setup", slug=study.slug)
    return render(request, "labstudy/study_new.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def study_setup(request: HttpRequest, slug: str) -> HttpResponse:
    access = study_access(request.user, slug, may="can_setup")
    study = access.study
    form = StudyForm(_posted(request), instance=study, prefix="study")
    day_change, refusals = None, {}
    if request.method == "POST":
        valid = form.is_valid()
        reason = form.cleaned_data.get("change_reason", "").strip()
        day0 = form.cleaned_data.get("day0_date")
        if day0 and "day0_date" in form.changed_data:
            day_change = selectors.day_change_effects(study, day0_date=day0)
            refusals = _day_change_refusals(day_change, request.POST, reason)
            if "change_reason" in refusals and "change_reason" not in form.errors:
                form.add_error("change_reason", refusals["change_reason"])
        if valid and not refusals:
            save_study_settings(
                study=form.save(commit=False),
                user=request.user,
                reason=reason,
                day0_moved=day_change is not None and day_change.day0_moves,
            )
            messages.success(request, "Study settings saved.")
            return redirect("study_setup", slug=study.slug)
    return render(
        request,
        "labstudy/study_setup.html",
        {
            "access": access,
            "study": study,
            "form": form,
            "section": "settings",
            "volume_advice": volume_advice(study),
            **_day_change_context(day_change, refusals, request),
        },
    )


def _day_change_refusals(day_change, post, reason: str) -> dict[str, str]:
    """What is missing before a change that moves recorded data may be saved: the
    confirmation, the second confirmation when sessions would leave their timepoint's day,
    and a reason (whatever the study's status)."""
    if day_change is None or not day_change.moves_records:
        return {}
    what = "Day 0" if day_change.day0_moves else "the timepoint day"
    refusals = {}
    if not post.get("confirm_move"):
        refusals["confirm_move"] = (
            f"Nothing was saved: tick the box to confirm that data already recorded move "
            f"with {what}."
        )
    if day_change.off_day_sessions and not post.get("confirm_off_day"):
        refusals["confirm_off_day"] = (
            "Nothing was saved: tick the second box too, or keep the sessions on their "
            "timepoint's day."
        )
    if not reason:
        refusals["change_reason"] = (
            f"Say why {what} changes: data already recorded move (listed above)."
        )
    return refusals


def _day_change_context(day_change, refusals: dict[str, str], request: HttpRequest) -> dict:
    return {
        "day_change": day_change,
        "day_change_errors": refusals,
        "confirm_move": bool(request.POST.get("confirm_move")),
        "confirm_off_day": bool(request.POST.get("confirm_off_day")),
    }


# The longest reason for a set-up change, as on the settings form (StudyForm.change_reason).
REASON_MAX_CHARS = 300

_FORMSETS = {
    "groups": (GroupFormSet, "Treatment groups"),
    "phases": (PhaseFormSet, "Phases"),
    "timepoints": (TimepointFormSet, "Timepoints"),
}


@login_required
@require_http_methods(["GET", "POST"])
def study_setup_rows(request: HttpRequest, slug: str, section: str) -> HttpResponse:
    access = study_access(request.user, slug, may="can_setup")
    study = access.study
    formset_class, title = _FORMSETS[section]
    formset = formset_class(_posted(request), instance=study, prefix=section)
    reason = request.POST.get("change_reason", "").strip()
    reason_error = ""
    day_change, refusals = None, {}
    if len(reason) > REASON_MAX_CHARS:
        # As the settings form refuses it: a reason is kept whole or not at all.
        reason_error = (
            f"The reason is {len(reason):,} characters; keep it to {REASON_MAX_CHARS}. "
            "Nothing was saved."
        )
        reason = reason[:REASON_MAX_CHARS]
    elif request.method == "POST" and formset.is_valid():
        if section == "timepoints":
            days = {
                form.instance.pk: form.cleaned_data["day"]
                for form in formset.forms
                if form.instance.pk and "day" in form.changed_data
            }
            if days:
                day_change = selectors.day_change_effects(study, timepoint_days=days)
                refusals = _day_change_refusals(day_change, request.POST, reason)
        if formset.has_changed() and needs_reason(study) and not reason:
            reason_error = (
                f"Say why the {title.lower()} changed: the study is "
                f"{study.get_status_display().lower()}."
            )
        elif refusals:
            reason_error = refusals.get("change_reason", "")
        else:
            services.save_setup_rows(
                rows=formset.save(commit=False), user=request.user, reason=reason
            )
            messages.success(request, f"{title} saved.")
            return redirect("study_setup_rows", slug=study.slug, section=section)
    return render(
        request,
        "labstudy/study_setup_rows.html",
        {
            "access": access,
            "study": study,
            "formset": formset,
            "section": section,
            "title": title,
            "needs_reason": needs_reason(study),
            "reason": reason,
            "reason_error": reason_error,
            "volume_advice": volume_advice(study) if section == "groups" else None,
            **_day_change_context(day_change, refusals, request),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def study_add_animals(request: HttpRequest, slug: str) -> HttpResponse:
    access = study_access(request.user, slug, may="can_setup")
    study = access.study
    form = AddAnimalsForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            animals = animal_services.add_animals(
                study=study, text=form.cleaned_data["codes"], user=request.user
            )
        except ValidationError as exc:
            _attach(form, exc)
        else:
            messages.success(request, f"Added {len(animals)} animals.")
            return redirect("study_overview", slug=study.slug)
    return render(
        request,
        "labstudy/study_add_animals.html",
        {"access": access, "study": study, "form": form, "section": "animals"},
    )


@login_required
@require_http_methods(["GET", "POST"])
def study_allocation(request: HttpRequest, slug: str) -> HttpResponse:
    access = study_access(request.user, slug, may="can_view_allocation")
    study = access.study
    form = AllocationForm(
        _posted(request), initial={"seed": secrets.randbelow(10**9), "method": "stratified"}
    )
    reallocate = request.POST.get("action") == "reallocate"
    if request.method == "POST":
        access.require("can_allocate")
        if form.is_valid():
            try:
                record = allocation_service.allocate(
                    study=study,
                    method=form.cleaned_data["method"],
                    seed=form.cleaned_data["seed"],
                    block_size=form.cleaned_data["block_size"],
                    baselines_g=_baselines(study, form.cleaned_data["method"]),
                    user=request.user,
                    reallocate=reallocate,
                    reason=form.cleaned_data["reason"],
                )
            except ValidationError as exc:
                _attach(form, exc)
            else:
                sizes = allocation_service.group_sizes(record)
                verb = "Re-allocated" if reallocate else "Allocated"
                messages.success(
                    request,
                    f"{verb} {record.entries.count()} animals ({record.method}, "
                    f"seed {record.seed}). Group sizes: {sizes.shown}.",
                )
                if not sizes.equal:
                    messages.warning(request, f"Groups are not equal: {sizes.note}")
                return redirect("study_allocation", slug=study.slug)
    records = [
        (
            record,
            allocation_service.check(record),
            record.entries.select_related("animal", "group"),
            allocation_service.group_sizes(record),
        )
        for record in study.allocations.select_related("created_by", "superseded_by")
    ]
    active = study.animals.filter(status="active")
    unallocated = active.filter(group__isnull=True).count()
    return render(
        request,
        "labstudy/study_allocation.html",
        {
            "access": access,
            "study": study,
            "form": form,
            "records": records,
            "unallocated": unallocated,
            "active": active.count(),
            "reallocating": reallocate,
            "planning": study.status == Study.Status.PLANNING,
            "section": "allocation",
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def timepoint_signoff(request: HttpRequest, slug: str, label: str) -> HttpResponse:
    """Investigators sign off a timepoint (password) or reopen it (password + reason)."""
    access = study_access(request.user, slug, may="can_sign_off")
    study = access.study
    timepoint = get_object_or_404(Timepoint, study=study, label=label)
    form_class = ReasonedPasswordForm if timepoint.is_locked else PasswordConfirmForm
    form = form_class(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            if timepoint.is_locked:
                services.unlock_timepoint(
                    timepoint=timepoint,
                    user=request.user,
                    password=form.cleaned_data["password"],
                    reason=form.cleaned_data["reason"],
                )
                messages.success(request, f"{timepoint.label} reopened; the reason is recorded.")
            else:
                services.sign_off_timepoint(
                    timepoint=timepoint, user=request.user, password=form.cleaned_data["password"]
                )
                messages.success(
                    request, f"{timepoint.label} signed off: its sessions are now read-only."
                )
        except ValidationError as exc:
            _attach(form, exc)
        else:
            return redirect("study_overview", slug=study.slug)
    return render(
        request,
        "labstudy/timepoint_signoff.html",
        {"access": access, "study": study, "timepoint": timepoint, "form": form},
    )


@login_required
@require_http_methods(["GET", "POST"])
def study_unblind(request: HttpRequest, slug: str) -> HttpResponse:
    access = study_access(request.user, slug, may="can_unblind")
    study = access.study
    form = ReasonedPasswordForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.unblind_study(
                study=study,
                user=request.user,
                password=form.cleaned_data["password"],
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            _attach(form, exc)
        else:
            messages.success(request, "The study is unblinded; everyone on it now sees the groups.")
            return redirect("study_overview", slug=study.slug)
    return render(
        request, "labstudy/study_unblind.html", {"access": access, "study": study, "form": form}
    )


def _audit_access(request: HttpRequest, slug: str):
    # A blinded technician would read the allocation from an animal's history.
    return study_access(request.user, slug, may="can_view_history")


@login_required
@require_GET
def animal_history(request: HttpRequest, slug: str, code: str) -> HttpResponse:
    access = _audit_access(request, slug)
    animal = get_object_or_404(Animal, study=access.study, code=code)
    return render(
        request,
        "labstudy/history.html",
        {
            "access": access,
            "study": access.study,
            "subject": f"Animal {animal.code}",
            "animal": animal,
            "rows": audit.animal_trail(animal),
        },
    )


@login_required
@require_GET
def session_history(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    access = _audit_access(request, slug)
    session = get_object_or_404(
        TestSession.objects.select_related("animal", "timepoint"), pk=pk, animal__study=access.study
    )
    subject = f"Session {session.animal.code} {session.timepoint.label} {session.paw} paw"
    return render(
        request,
        "labstudy/history.html",
        {
            "access": access,
            "study": access.study,
            "subject": subject,
            "rows": audit.session_trail(session),
        },
    )


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever a page links to: send them to the icon."""
    return redirect(static("favicon.svg"))


def _baselines(study: Study, method: str) -> dict[str, float] | None:
    """The baseline thresholds a stratified allocation sorts on (read only for it)."""
    return frames.baseline_thresholds(study) if method == "stratified" else None


def _attach(form, exc: ValidationError) -> None:
    """Show a service's ValidationError on the form, under the field it names."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _posted(request: HttpRequest):
    """The POST data for a bound form, even when empty (an empty submit must show errors)."""
    return request.POST if request.method == "POST" else None
