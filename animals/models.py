"""Animals and what is recorded about them outside the von Frey sessions.

Records here are never deleted through the application: a wrong entry is voided with a
reason, and django-simple-history keeps who changed what and when.
"""

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from labstudy.models import Study, TimeStamped, TreatmentGroup
from labstudy.validators import validate_animal_code


def _person():
    return models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )


def _date_errors(record, field: str) -> dict[str, str]:
    """{field: why} when the record's date breaks the study's date rule
    (Study.date_refusal: not in the future, not before the first day), else {}."""
    date = getattr(record, field)
    if date is None or not record.animal_id:
        return {}
    label = record._meta.get_field(field).verbose_name.capitalize()
    refusal = record.animal.study.date_refusal(date, label)
    return {field: refusal} if refusal else {}


class Animal(TimeStamped):
    class Sex(models.TextChoices):
        MALE = "male", "Male"
        FEMALE = "female", "Female"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        EXCLUDED = "excluded", "Excluded"
        DIED = "died", "Died"
        EUTHANISED = "euthanised", "Euthanised"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="animals")
    code = models.CharField(
        max_length=30,
        validators=[validate_animal_code],
        help_text="Unique within the study, e.g. R01: letters, digits, spaces and - _ . # ( ) +.",
    )
    cage = models.CharField(max_length=30, blank=True)
    sex = models.CharField(max_length=10, choices=Sex.choices, default=Sex.MALE)
    date_of_birth = models.DateField(null=True, blank=True)
    age_at_arrival_weeks = models.PositiveSmallIntegerField(null=True, blank=True)
    group = models.ForeignKey(
        TreatmentGroup,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="animals",
        help_text="Empty until allocation.",
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    status_date = models.DateField(null=True, blank=True)
    status_reason = models.CharField(max_length=300, blank=True)
    notes = models.TextField(blank=True)
    created_by = _person()
    history = HistoricalRecords()

    class Meta:
        ordering = ["study", "cage", "code"]
        constraints = [
            models.UniqueConstraint(fields=["study", "code"], name="animal_code_unique_in_study"),
        ]
        indexes = [models.Index(fields=["study", "group"])]

    def __str__(self) -> str:
        return self.code

    @property
    def ended_on(self) -> dt.date | None:
        """The day the animal died or was euthanised, or None while it lives (an excluded
        animal lives on): nothing is tested on it after that day (sessions.services),
        and that day cannot come before a session already recorded (animals.services)."""
        if self.status in (self.Status.DIED, self.Status.EUTHANISED):
            return self.status_date
        return None

    def clean(self) -> None:
        errors = {}
        if self.group_id and self.study_id and self.group.study_id != self.study_id:
            errors["group"] = f"Group {self.group.code} belongs to another study."
        if self.status != self.Status.ACTIVE:
            if not self.status_date:
                errors["status_date"] = f"Give the date the animal was {self.status}."
            if not self.status_reason.strip():
                errors["status_reason"] = f"Give the reason the animal was {self.status}."
        if errors:
            raise ValidationError(errors)


class Surgery(TimeStamped):
    class Side(models.TextChoices):
        RIGHT = "right", "Right"
        LEFT = "left", "Left"
        BILATERAL = "bilateral", "Bilateral"
        NA = "n/a", "Not applicable"

    animal = models.ForeignKey(Animal, on_delete=models.CASCADE, related_name="surgeries")
    date = models.DateField()
    procedure = models.CharField(max_length=100, default="PSNL")
    side = models.CharField(max_length=10, choices=Side.choices, default=Side.RIGHT)
    surgeon = models.CharField(max_length=100, blank=True)
    anaesthesia = models.CharField(max_length=150, blank=True)
    notes = models.TextField(blank=True)
    created_by = _person()
    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "surgeries"
        ordering = ["animal", "date"]

    def __str__(self) -> str:
        return f"{self.procedure} ({self.side}) on {self.animal} {self.date}"


class BodyWeight(TimeStamped):
    animal = models.ForeignKey(Animal, on_delete=models.CASCADE, related_name="weights")
    date = models.DateField()
    grams = models.DecimalField(
        max_digits=7, decimal_places=1, validators=[MinValueValidator(Decimal("0.1"))]
    )
    voided = models.BooleanField(default=False)
    void_reason = models.CharField(max_length=300, blank=True)
    client_uuid = models.UUIDField(
        null=True,
        blank=True,
        unique=True,
        help_text="Made when the entry form is shown: a resent save finds the stored weight.",
    )
    created_by = _person()
    history = HistoricalRecords()

    class Meta:
        ordering = ["animal", "date"]
        constraints = [
            models.CheckConstraint(condition=Q(grams__gt=0), name="weight_positive"),
        ]
        indexes = [models.Index(fields=["animal", "date"])]

    def __str__(self) -> str:
        return f"{self.animal} {self.date}: {self.grams} g"

    def clean(self) -> None:
        errors = _date_errors(self, "date")
        if self.grams is not None and self.grams <= 0:
            errors["grams"] = "A body weight must be more than 0 g."
        if errors:
            raise ValidationError(errors)


DOSE_VOIDED = "voided"
"""What the doses export, the animal page and ARRIVE show as a voided dose's status (the
file contract from before `voided` was a field of its own)."""


class DoseAdministration(TimeStamped):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        GIVEN = "given", "Given"
        MISSED = "missed", "Missed"
        REFUSED = "refused", "Refused"

    animal = models.ForeignKey(Animal, on_delete=models.CASCADE, related_name="doses")
    scheduled_date = models.DateField()
    study_day = models.IntegerField()
    dose_mg_kg = models.DecimalField(
        "dose (mg/kg)",
        max_digits=8,
        decimal_places=3,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    volume_ml = models.DecimalField(
        "volume (ml)",
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    route = models.CharField(max_length=5, choices=TreatmentGroup.Route.choices, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    given_at = models.DateTimeField(null=True, blank=True)
    given_by = _person()
    reason = models.CharField(
        max_length=300, blank=True, help_text="Why a dose was missed or refused."
    )
    # Voided as weights and observations are: `status` keeps what was marked before the void.
    voided = models.BooleanField(default=False)
    void_reason = models.CharField(max_length=300, blank=True)
    client_uuid = models.UUIDField(
        null=True,
        blank=True,
        unique=True,
        help_text="Made by the tablet for each mark: a resent or replayed mark finds the "
        "stored dose.",
    )
    created_by = _person()
    history = HistoricalRecords()

    class Meta:
        ordering = ["animal", "scheduled_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["animal", "scheduled_date"],
                condition=Q(voided=False),
                name="one_live_dose_per_animal_and_day",
            ),
        ]
        indexes = [models.Index(fields=["scheduled_date", "status"])]

    def __str__(self) -> str:
        return f"{self.animal} day {self.study_day}: {self.state}"

    @property
    def state(self) -> str:
        """The status as pages and exports show it: "voided" for a voided dose (whatever
        was marked before the void), else scheduled, given, missed or refused."""
        return DOSE_VOIDED if self.voided else self.status

    def get_state_display(self) -> str:
        return "Voided" if self.voided else self.get_status_display()

    def clean(self) -> None:
        errors = _date_errors(self, "scheduled_date")
        if self.status == self.Status.GIVEN and not self.given_at:
            errors["given_at"] = "Record when the dose was given."
        if self.status in (self.Status.MISSED, self.Status.REFUSED):
            if not self.reason.strip():
                errors["reason"] = f"Give the reason the dose was {self.status}."
        if self.voided and not self.void_reason.strip():
            errors["void_reason"] = "Give the reason the dose record was voided."
        if errors:
            raise ValidationError(errors)


class Observation(TimeStamped):
    class Kind(models.TextChoices):
        ADVERSE_EVENT = "adverse_event", "Adverse event"
        CLINICAL_SIGN = "clinical_sign", "Clinical sign"
        NOTE = "note", "Note"

    class Severity(models.TextChoices):
        NONE = "", "—"
        MILD = "mild", "Mild"
        MODERATE = "moderate", "Moderate"
        SEVERE = "severe", "Severe"

    animal = models.ForeignKey(Animal, on_delete=models.CASCADE, related_name="observations")
    date = models.DateField()
    kind = models.CharField(max_length=15, choices=Kind.choices, default=Kind.NOTE)
    term = models.CharField(max_length=100, help_text="e.g. hematuria")
    severity = models.CharField(max_length=10, choices=Severity.choices, blank=True)
    notes = models.TextField(blank=True)
    voided = models.BooleanField(default=False)
    void_reason = models.CharField(max_length=300, blank=True)
    # Not unique: one submission with several quick-picked terms stores several rows.
    client_uuid = models.UUIDField(
        null=True,
        blank=True,
        db_index=True,
        help_text="Made when the form is shown: a resent submission finds its stored rows.",
    )
    created_by = _person()
    history = HistoricalRecords()

    class Meta:
        ordering = ["animal", "date"]
        constraints = [
            # One submission stores each picked term once, even when two copies of it
            # arrive at the same moment (a replayed queue and a second tap).
            models.UniqueConstraint(
                fields=["client_uuid", "term"], name="observation_term_once_per_submission"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.animal} {self.date}: {self.term}"

    def clean(self) -> None:
        errors = _date_errors(self, "date")
        if errors:
            raise ValidationError(errors)


class Allocation(TimeStamped):
    """One recorded randomisation of animals to groups: method, seed and the table.

    `animals.allocation.derive` re-derives the table from the method, the seed, the
    animal codes in order and (for stratified allocation) the baseline thresholds, so
    anyone can check the allocation was not tampered with.
    """

    class Method(models.TextChoices):
        SIMPLE = "simple", "Simple (shuffled, equal group sizes)"
        BLOCK = "block", "Permuted blocks"
        STRATIFIED = "stratified", "Stratified by baseline threshold"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="allocations")
    method = models.CharField(max_length=12, choices=Method.choices)
    seed = models.BigIntegerField()
    block_size = models.PositiveSmallIntegerField(null=True, blank=True)
    baseline_timepoint = models.CharField(max_length=20, blank=True)
    group_codes = models.JSONField(help_text="Group codes in the order used by the procedure.")
    animal_codes = models.JSONField(help_text="Animal codes in the order used by the procedure.")
    baselines_g = models.JSONField(
        default=dict, blank=True, help_text="Baseline threshold per animal (stratified only)."
    )
    notes = models.CharField(max_length=300, blank=True)
    reason = models.CharField(
        max_length=300, blank=True, help_text="Why this allocation replaced an earlier one."
    )
    # A re-allocation (only while the study is planned) keeps the earlier record and its
    # table: it is marked superseded, never deleted.
    superseded_at = models.DateTimeField(null=True, blank=True)
    superseded_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = _person()
    history = HistoricalRecords()

    class Meta:
        ordering = ["study", "-created_at"]

    def __str__(self) -> str:
        return f"{self.study.slug}: {self.method} seed {self.seed}"


class AllocationEntry(models.Model):
    allocation = models.ForeignKey(Allocation, on_delete=models.CASCADE, related_name="entries")
    animal = models.ForeignKey(Animal, on_delete=models.PROTECT, related_name="allocations")
    group = models.ForeignKey(TreatmentGroup, on_delete=models.PROTECT, related_name="+")
    stratum = models.CharField(max_length=30, blank=True)
    baseline_g = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["allocation", "animal__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["allocation", "animal"], name="one_entry_per_animal_per_allocation"
            )
        ]

    def __str__(self) -> str:
        return f"{self.animal} -> {self.group}"
