"""Writes from the bench for animals: body weights, doses given/missed/refused, observations.

Each function validates first and writes in one transaction. Nothing is deleted: a wrong
entry is voided with a reason (django-simple-history keeps the reason with the change).
"""

import datetime as dt
import uuid
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from simple_history.utils import bulk_update_with_history

from animals.intake import parse_animal_lines
from animals.models import Animal, BodyWeight, DoseAdministration, Observation
from labstudy.models import Study, TreatmentGroup
from labstudy.voiding import void_record

# Plausible body weights (g) per species: outside them a weight is refused as a typo or
# the wrong unit. A species without its own range gets a wide one; the >10 % change
# confirmation still catches a slip there.
WEIGHT_RANGES_G = {
    "rat": (Decimal("50"), Decimal("1000")),
    "mouse": (Decimal("10"), Decimal("60")),
}
WEIGHT_RANGE_OTHER_G = (Decimal("1"), Decimal("100000"))
_SPECIES_ALIASES = {
    "rats": "rat",
    "rattus norvegicus": "rat",
    "mice": "mouse",
    "mus musculus": "mouse",
}
WEIGHT_CONFIRM_CHANGE = Decimal("0.10")  # a change above 10 % asks for confirmation
WEIGHT_STALE_DAYS = 7  # a dose volume from an older weight carries a warning
ML = Decimal("0.01")

# Quick picks on the observations screen: term -> (kind, severity suggested).
OBSERVATION_PICKS = {
    "hematuria": Observation.Kind.ADVERSE_EVENT,
    "weight loss > 15 %": Observation.Kind.ADVERSE_EVENT,
    "wound dehiscence": Observation.Kind.ADVERSE_EVENT,
    "autotomy": Observation.Kind.ADVERSE_EVENT,
    "sedation": Observation.Kind.CLINICAL_SIGN,
    "found dead": Observation.Kind.ADVERSE_EVENT,
}
FOUND_DEAD = "found dead"
WEIGHT_LOSS = "weight loss > 15 %"  # offered when a weight is over 15 % below the last


class NeedsConfirmation(ValidationError):
    """The value is possible but unusual: save it only when the technician confirms."""


class FormReused(ValidationError):
    """A form id already stored with different content: not a resend of the same entry.

    Most likely a page shown from the tablet's offline copy. Saying so beats dropping the
    new entry as "already saved"; the view shows the form again with a new id.
    """


def check_study_open(study: Study) -> None:
    """Refuse any write to a locked or archived study (Study.recording_refusal)."""
    refusal = study.recording_refusal()
    if refusal:
        raise ValidationError(refusal)


def check_record_date(study: Study, date: dt.date) -> None:
    """Refuse a weight, dose or observation dated in the future or before the study's
    first day (the rule animal status dates follow: Study.date_refusal). The models'
    clean() holds the same rule, so the admin obeys it too."""
    refusal = study.date_refusal(date)
    if refusal:
        raise ValidationError({"date": refusal})


def parse_grams(text: str) -> Decimal:
    """A weight typed on the tablet: '312', '312.5' or '312,5' grams."""
    cleaned = (text or "").strip().replace(",", ".").removesuffix("g").strip()
    try:
        grams = Decimal(cleaned)
    except InvalidOperation:
        raise ValidationError({"grams": "Enter the weight in grams, e.g. 312.5."}) from None
    if not grams.is_finite():
        raise ValidationError({"grams": "Enter the weight in grams, e.g. 312.5."})
    if grams.adjusted() >= 6:  # a million grams or more: no column holds it, no rat weighs it
        raise ValidationError(
            {
                "grams": f"{text.strip()} g is not a body weight: enter the weight in grams, "
                "e.g. 312.5."
            }
        )
    return grams.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def latest_weight(animal: Animal, on_or_before: dt.date) -> BodyWeight | None:
    return (
        BodyWeight.objects.filter(animal=animal, voided=False, date__lte=on_or_before)
        .order_by("-date", "-created_at")
        .first()
    )


def species_key(species: str) -> str:
    """Study.species is free text: 'Rat', 'rats', 'mice' -> 'rat', 'mouse'."""
    key = (species or "").strip().lower()
    return _SPECIES_ALIASES.get(key, key)


def weight_range_g(species: str) -> tuple[Decimal, Decimal]:
    """The plausible body weight range (min, max) in grams for a study's species."""
    return WEIGHT_RANGES_G.get(species_key(species), WEIGHT_RANGE_OTHER_G)


def _grams_text(grams: Decimal) -> str:
    return f"{grams:,f}"


def _stored_with(model, *, animal: Animal, client_uuid: uuid.UUID | None) -> list:
    """Rows already stored under this form id for this animal (empty for a new form).

    Locks the animal row first, so a resend arriving while the first request is still
    writing waits for it and then finds its rows instead of writing them again. Call it
    inside the writing transaction. A form id stored for another animal is FormReused.
    """
    Animal.objects.select_for_update().filter(pk=animal.pk).first()
    if client_uuid is None:
        return []
    rows = list(model.objects.filter(client_uuid=client_uuid).order_by("pk"))
    if any(row.animal_id != animal.pk for row in rows):
        raise _form_reused("an entry for another animal")
    return rows


def _save_once(record, user: AbstractBaseUser | None) -> None:
    """Save a new bench record; its form id already taken meanwhile (two copies of one
    submission for two animals, at the same moment) is FormReused, never a server error."""
    record._history_user = user
    try:
        with transaction.atomic():
            record.save()
    except IntegrityError:
        if record.client_uuid is None:
            raise
        raise _form_reused("another entry") from None


def _form_reused(what: str) -> FormReused:
    return FormReused(
        {
            "client_uuid": f"This form was already used to save {what}. "
            "To record this as another entry, save again."
        }
    )


@transaction.atomic
def record_weight(
    *,
    animal: Animal,
    grams: Decimal,
    date: dt.date,
    user: AbstractBaseUser | None,
    confirmed: bool = False,
    client_uuid: uuid.UUID | None = None,
) -> BodyWeight:
    """Record a body weight; refuse the impossible, ask about the unusual.

    A weight outside the study species' range (weight_range_g: rat 50–1,000 g, mouse
    10–60 g) is refused as a typo or the wrong unit. A change of more than 10 % from the
    last weight, or a second weight on the same day, raises NeedsConfirmation unless
    `confirmed`.

    `client_uuid` is the entry form's id: a resent form (lost answer, second tap) gets the
    weight it already stored, marked `already_saved`, and nothing is written twice; the
    same id with another weight or date is refused.
    """
    stored = _stored_with(BodyWeight, animal=animal, client_uuid=client_uuid)
    if stored:
        weight = stored[0]
        if (weight.date, weight.grams) != (date, grams):
            raise _form_reused(f"{weight.grams:f} g on {weight.date:%d %b %Y}")
        weight.already_saved = True
        return weight
    study = animal.study
    check_study_open(study)
    check_record_date(study, date)
    low, high = weight_range_g(study.species)
    if grams < low or grams > high:
        species = species_key(study.species) or "animal"
        raise ValidationError(
            {
                "grams": f"{grams:f} g is not a plausible {species} weight "
                f"({_grams_text(low)}–{_grams_text(high)} g). "
                "Check the scale and that it shows grams."
            }
        )
    last = latest_weight(animal, date)
    if last is not None and not confirmed and last.date == date:
        # A second weight on one day is usually the same weighing saved twice from two
        # forms (two tablets, a reopened page); asked, not refused: reweighing happens.
        raise NeedsConfirmation(
            {
                "grams": f"{animal.code} already has a weight on {date:%d %b} "
                f"({last.grams:f} g). Save {grams:f} g as a second weight for that day?"
            }
        )
    if last is not None and not confirmed:
        change = (grams - last.grams) / last.grams
        if abs(change) > WEIGHT_CONFIRM_CHANGE:
            direction = "more" if change > 0 else "less"
            raise NeedsConfirmation(
                {
                    "grams": f"{grams:f} g is {abs(change) * 100:.0f} % {direction} than the "
                    f"last weight ({last.grams:f} g on {last.date:%d %b}). Save it anyway?"
                }
            )
    weight = BodyWeight(
        animal=animal, date=date, grams=grams, client_uuid=client_uuid, created_by=user
    )
    weight.full_clean()
    _save_once(weight, user)
    weight.already_saved = False
    return weight


@transaction.atomic
def void_weight(*, weight: BodyWeight, user: AbstractBaseUser | None, reason: str) -> BodyWeight:
    return void_record(
        weight,
        by=user,
        reason=reason,
        missing="Give the reason the weight is void.",
        what=f"This weight ({weight.grams:f} g)",
        check=lambda: check_study_open(weight.animal.study),
    )


def is_dosed(group: TreatmentGroup | None) -> bool:
    """Does this group get an injection (drug, or vehicle by volume)?"""
    return bool(group and (group.dose_mg_kg or group.volume_ml_kg))


def dose_volume_ml(group: TreatmentGroup, weight_g: Decimal) -> Decimal:
    """Volume to inject: dose mg/kg x weight kg / concentration mg/ml, to 0.01 ml.

    A vehicle-only group (no dose, a volume per kg) gets volume ml/kg x weight kg.
    """
    kg = Decimal(weight_g) / 1000
    if group.dose_mg_kg:
        if not group.concentration_mg_ml:
            raise ValidationError(
                f"Solution {group.coded_letter or group.pk} has no concentration: ask the "
                "investigator to set it."
            )
        volume = Decimal(group.dose_mg_kg) * kg / Decimal(group.concentration_mg_ml)
    elif group.volume_ml_kg:
        volume = Decimal(group.volume_ml_kg) * kg
    else:
        raise ValidationError("This solution is not injected.")
    return volume.quantize(ML, rounding=ROUND_HALF_UP)


@transaction.atomic
def record_dose(
    *,
    animal: Animal,
    date: dt.date,
    status: str,
    user: AbstractBaseUser | None,
    reason: str = "",
    client_uuid: uuid.UUID | None = None,
) -> DoseAdministration:
    """Mark the day's dose given (time and volume recorded), missed or refused (reason).

    The volume comes from the latest weight on or before the day. A dose already marked
    must be voided (with a reason) before it is marked again.

    `client_uuid` is the tablet's id for this mark: a mark sent again (a lost answer, a
    queue replayed after the Wi-Fi came back) gets the dose it already stored, marked
    `already_saved`, even if the study closed meanwhile; the same id with another
    animal, day, status or reason is refused (FormReused).
    """
    reason = (reason or "").strip()
    stored = _stored_dose(animal=animal, client_uuid=client_uuid)
    if stored is not None:
        if (stored.scheduled_date, stored.status, stored.reason) != (date, status, reason):
            marked = stored.get_status_display().lower()
            raise _form_reused(f"a dose marked {marked} on {stored.scheduled_date:%d %b %Y}")
        stored.already_saved = True
        return stored
    if status not in (
        DoseAdministration.Status.GIVEN,
        DoseAdministration.Status.MISSED,
        DoseAdministration.Status.REFUSED,
    ):
        raise ValidationError({"status": "Mark the dose given, missed or refused."})
    study = animal.study
    check_study_open(study)
    check_record_date(study, date)
    if animal.status != Animal.Status.ACTIVE:
        raise ValidationError(
            f"{animal.code} is marked {animal.get_status_display().lower()}"
            + (f" since {animal.status_date:%d %b %Y}" if animal.status_date else "")
            + ": no dose is recorded for it."
        )
    group = animal.group
    if not is_dosed(group):
        raise ValidationError(f"{animal.code} gets no injection in this study.")
    if status != DoseAdministration.Status.GIVEN and not reason:
        raise ValidationError({"reason": f"Give the reason the dose was {status}."})
    weight = latest_weight(animal, date)
    volume = dose_volume_ml(group, weight.grams) if weight else None
    if status == DoseAdministration.Status.GIVEN and volume is None:
        raise ValidationError(f"{animal.code} has no weight yet: weigh the animal first.")
    dose = (
        DoseAdministration.objects.select_for_update()
        .filter(animal=animal, scheduled_date=date)
        .filter(voided=False)
        .first()
    )
    if dose is not None and dose.status != DoseAdministration.Status.SCHEDULED:
        marked = dose.get_status_display().lower()
        raise ValidationError(
            f"{animal.code}'s dose for this day is already marked {marked}; "
            "void it first to correct it."
        )
    if dose is None:
        dose = DoseAdministration(animal=animal, scheduled_date=date, created_by=user)
    given = status == DoseAdministration.Status.GIVEN
    dose.study_day = study.day_of_date(date)
    dose.dose_mg_kg = group.dose_mg_kg
    dose.volume_ml = volume
    dose.route = group.route
    dose.status = status
    dose.given_at = timezone.now() if given else None
    dose.given_by = user if given else None
    dose.reason = reason
    dose.client_uuid = client_uuid
    dose.full_clean(validate_unique=False)  # the id's uniqueness: _save_once, race-free
    _save_once(dose, user)
    dose.already_saved = False
    return dose


def _stored_dose(*, animal: Animal, client_uuid: uuid.UUID | None) -> DoseAdministration | None:
    """The dose already stored under this mark's id (None for a new mark).

    Locks the animal row first: two copies of one mark (a re-sent request, a second
    tablet) queue here, so the second finds the first's dose ("already saved", or
    "already marked" for another mark). Call it inside the writing transaction.
    """
    Animal.objects.select_for_update().filter(pk=animal.pk).first()
    if client_uuid is None:
        return None
    dose = DoseAdministration.objects.filter(client_uuid=client_uuid).first()
    if dose is not None and dose.animal_id != animal.pk:
        raise _form_reused("a dose for another animal")
    return dose


@transaction.atomic
def restate_dose_days(*, study: Study, user: AbstractBaseUser | None, reason: str) -> int:
    """After Day 0 moved, every dose keeps its calendar date and takes that date's study
    day; each changed dose's history says why. Returns how many changed."""
    changed = []
    for dose in DoseAdministration.objects.filter(animal__study=study):
        day = study.day_of_date(dose.scheduled_date)
        if dose.study_day != day:
            dose.study_day = day
            changed.append(dose)
    bulk_update_with_history(
        changed,
        DoseAdministration,
        ["study_day"],
        default_user=user,
        default_change_reason=f"Day 0 moved: {reason}",
    )
    return len(changed)


@transaction.atomic
def void_dose(
    *, dose: DoseAdministration, user: AbstractBaseUser | None, reason: str
) -> DoseAdministration:
    """Void a dose record; its status (given, missed, refused) stays as it was marked."""
    return void_record(
        dose,
        by=user,
        reason=reason,
        missing="Give the reason the dose record is void.",
        what="This dose record",
        check=lambda: check_study_open(dose.animal.study),
    )


@transaction.atomic
def record_observations(
    *,
    animal: Animal,
    date: dt.date,
    terms: list[str],
    notes: str,
    severity: str,
    user: AbstractBaseUser | None,
    client_uuid: uuid.UUID | None = None,
) -> list[Observation]:
    """One observation per quick-picked term (free text as their notes), or one note.

    "found dead" also marks the animal as died on that date, so it leaves the day lists.
    All rows of one submission share `client_uuid` (the form's id): a resent form gets the
    rows it already stored, marked `already_saved`, and nothing is written twice; the same
    id with other terms, notes, severity or date is refused.
    """
    notes = notes.strip()
    terms = list(dict.fromkeys(terms))  # a term sent twice in one submission is one row
    stored = _stored_with(Observation, animal=animal, client_uuid=client_uuid)
    if stored:
        sent = (date, sorted(terms or ["note"]), notes, severity)
        first = stored[0]
        if (first.date, sorted(r.term for r in stored), first.notes, first.severity) != sent:
            raise _form_reused(", ".join(r.term for r in stored) + f" on {first.date:%d %b %Y}")
        for row in stored:
            row.already_saved = True
        return stored
    check_study_open(animal.study)
    check_record_date(animal.study, date)
    unknown = [t for t in terms if t not in OBSERVATION_PICKS]
    if unknown:
        raise ValidationError({"terms": f"Unknown observation '{unknown[0]}'."})
    if not terms and not notes:
        raise ValidationError("Pick what you saw or write a note.")
    if severity not in Observation.Severity.values:
        raise ValidationError({"severity": "Pick mild, moderate or severe."})
    found_dead = FOUND_DEAD in terms and animal.status == Animal.Status.ACTIVE
    if found_dead and (refusal := _death_date_refusal(animal, date)):
        raise ValidationError({"date": refusal})
    rows = [
        Observation(
            animal=animal,
            date=date,
            kind=OBSERVATION_PICKS[term],
            term=term,
            severity=severity,
            notes=notes,
            client_uuid=client_uuid,
            created_by=user,
        )
        for term in terms
    ] or [
        Observation(
            animal=animal,
            date=date,
            kind=Observation.Kind.NOTE,
            term="note",
            severity=severity,
            notes=notes,
            client_uuid=client_uuid,
            created_by=user,
        )
    ]
    for row in rows:
        row.full_clean()
        _save_once(row, user)
        row.already_saved = False
    if found_dead:
        animal.status = Animal.Status.DIED
        animal.status_date = date
        animal.status_reason = "found dead" + (f": {notes}" if notes else "")
        animal.status_reason = animal.status_reason[:300]
        animal._change_reason = "found dead (observation)"
        animal._history_user = user
        animal.save(update_fields=["status", "status_date", "status_reason", "updated_at"])
    return rows


def _death_date_refusal(animal: Animal, date: dt.date) -> str | None:
    """Why `date` cannot be the day `animal` died or was euthanised, or None: a test
    session (not voided) at a later timepoint, whose threshold would otherwise stay in
    the statistics of an animal already dead. A session counts at its timepoint's day,
    as in the statistics, not when it was typed in (paper sheets entered later)."""
    days = animal.test_sessions.exclude(status="voided").values_list("timepoint__day", flat=True)
    last_day = max(days, default=None)
    if last_day is None or (last := animal.study.date_of_day(last_day)) <= date:
        return None
    return (
        f"{animal.code} has a test session at study day {last_day} ({last:%-d %b %Y}), "
        f"after {date:%-d %b %Y}: the day it died cannot come before its recorded data. "
        "Check the date, or void that session first (with a reason)."
    )


@transaction.atomic
def void_observation(
    *, observation: Observation, user: AbstractBaseUser | None, reason: str
) -> Observation:
    return void_record(
        observation,
        by=user,
        reason=reason,
        missing="Give the reason the observation is void.",
        what=f"This observation ({observation.term})",
        check=lambda: check_study_open(observation.animal.study),
    )


@transaction.atomic
def change_animal_status(
    *,
    animal: Animal,
    status: str,
    date: dt.date | None,
    reason: str,
    user: AbstractBaseUser | None,
) -> Animal:
    """Mark an animal excluded, died or euthanised, or active again; date and reason required.

    The date may not be in the future nor before the study's first day (animals can be
    excluded before surgery, e.g. at the pre-surgery check). Who and why are kept in the
    animal's history. Excluded animals leave the statistics (analysis.frames).
    """
    study = animal.study
    check_study_open(study)
    errors: dict[str, str] = {}
    reason = (reason or "").strip()
    if status not in Animal.Status.values:
        errors["status"] = "Choose the new status: active, excluded, died or euthanised."
    elif status == Animal.Status.ACTIVE and animal.status == Animal.Status.ACTIVE:
        errors["status"] = f"{animal.code} is already active."
    if date is None:
        errors["date"] = "Date is required: give the day the change happened."
    elif refusal := study.date_refusal(date):
        errors["date"] = refusal
    if not reason:
        errors["reason"] = "Reason is required: say why the status changes."
    elif len(reason) > 300:
        errors["reason"] = "Keep the reason under 300 characters."
    elif status in (Animal.Status.DIED, Animal.Status.EUTHANISED) and (
        refusal := _death_date_refusal(animal, date)
    ):
        errors["date"] = refusal
    if errors:
        raise ValidationError(errors)
    old = animal.get_status_display().lower()
    animal.status = status
    animal.status_date = date
    animal.status_reason = reason
    # The code is not changing here: one stored before the code rule (labstudy.validators)
    # must not stop an animal from being excluded or marked dead.
    animal.full_clean(exclude=["code"])
    new = animal.get_status_display().lower()
    animal._change_reason = f"{old} → {new}: {reason}"
    animal._history_user = user
    animal.save(update_fields=["status", "status_date", "status_reason", "updated_at"])
    return animal


@transaction.atomic
def add_animals(*, study: Study, text: str, user: AbstractBaseUser | None) -> list[Animal]:
    """Add the animals pasted as text (read by animals.intake.parse_animal_lines); all
    or nothing."""
    rows = parse_animal_lines(text)
    existing = set(
        Animal.objects.filter(study=study, code__in=[r["code"] for r in rows]).values_list(
            "code", flat=True
        )
    )
    clashes = [
        f"line {r['line']}: animal code '{r['code']}' already exists in this study"
        for r in rows
        if r["code"] in existing
    ]
    if clashes:
        raise ValidationError({"codes": clashes})
    default_sex = study.sex if study.sex in ("male", "female") else "male"
    animals = [
        Animal(
            study=study,
            code=r["code"],
            cage=r["cage"],
            sex=r["sex"] or default_sex,
            date_of_birth=r.get("date_of_birth"),
            age_at_arrival_weeks=r.get("age_at_arrival_weeks"),
            created_by=user,
        )
        for r in rows
    ]
    for animal in animals:
        animal.save()
    return animals
