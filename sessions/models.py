"""Filament sets and von Frey sessions: one Stimulus row per filament application.

Stimuli are the raw truth; thresholds are computed from them on demand by
`analysis.thresholds` and never stored. A wrong tap is voided with a reason, not deleted.
"""

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from animals.models import Animal
from labstudy.models import ThresholdMethod, Timepoint, TimeStamped


class FilamentSet(TimeStamped):
    slug = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    manufacturer = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Filament(models.Model):
    filament_set = models.ForeignKey(
        FilamentSet, on_delete=models.CASCADE, related_name="filaments"
    )
    size = models.CharField("evaluator size", max_length=8, help_text="log10(10 000 × force in mg)")
    grams = models.FloatField()
    order = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["filament_set", "order"]
        constraints = [
            models.UniqueConstraint(fields=["filament_set", "size"], name="filament_size_unique"),
            models.UniqueConstraint(fields=["filament_set", "order"], name="filament_order_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.size} ({self.grams:g} g)"


class TestSession(TimeStamped):
    class Paw(models.TextChoices):
        RIGHT = "right", "Right hind"
        LEFT = "left", "Left hind"

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETE = "complete", "Complete"
        VOIDED = "voided", "Voided"

    __test__ = False  # not a pytest test class

    animal = models.ForeignKey(Animal, on_delete=models.CASCADE, related_name="test_sessions")
    timepoint = models.ForeignKey(Timepoint, on_delete=models.PROTECT, related_name="test_sessions")
    paw = models.CharField(max_length=5, choices=Paw.choices, default=Paw.RIGHT)
    tested_at = models.DateTimeField(null=True, blank=True)
    tester = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    method = models.CharField(max_length=20, choices=ThresholdMethod.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.IN_PROGRESS)
    notes = models.TextField(blank=True)
    void_reason = models.CharField(max_length=300, blank=True)
    minutes_after_dose = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Minutes from the animal's injection on the test day to the session's start "
        "(empty when it had none before the session started).",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["animal", "timepoint__day", "paw"]
        constraints = [
            models.UniqueConstraint(
                fields=["animal", "timepoint", "paw"],
                condition=~Q(status="voided"),
                name="one_live_session_per_animal_timepoint_paw",
            ),
        ]
        indexes = [models.Index(fields=["timepoint", "status"])]

    def __str__(self) -> str:
        return f"{self.animal} {self.timepoint.label} {self.paw}"

    def clean(self) -> None:
        if self.animal_id and self.timepoint_id and self.animal.study_id != self.timepoint.study_id:
            raise ValidationError({"timepoint": "The timepoint belongs to another study."})


class Stimulus(models.Model):
    session = models.ForeignKey(TestSession, on_delete=models.CASCADE, related_name="stimuli")
    order = models.PositiveIntegerField(help_text="1 for the first application in the session.")
    filament = models.ForeignKey(Filament, on_delete=models.PROTECT, related_name="+")
    withdrew = models.BooleanField(help_text="True when the paw withdrew (X), False for none (O).")
    recorded_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    client_uuid = models.UUIDField(
        unique=True, default=uuid.uuid4, help_text="Made by the tablet; a re-sent tap is ignored."
    )
    is_override = models.BooleanField(
        default=False, help_text="The technician chose a filament other than the one suggested."
    )
    note = models.CharField(max_length=200, blank=True)
    voided = models.BooleanField(default=False)
    void_reason = models.CharField(max_length=300, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "stimuli"
        ordering = ["session", "order"]
        constraints = [
            models.UniqueConstraint(fields=["session", "order"], name="stimulus_order_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.session} #{self.order}: {self.filament.size} {'X' if self.withdrew else 'O'}"

    def clean(self) -> None:
        if self.session_id and self.filament_id:
            study_set = self.session.animal.study.filament_set_id
            if self.filament.filament_set_id != study_set:
                message = f"Filament {self.filament.size} is not in the study's filament set."
                raise ValidationError({"filament": message})
        if self.voided and not self.void_reason.strip():
            raise ValidationError({"void_reason": "Give the reason the stimulus was voided."})


class LegacyThreshold(models.Model):
    """A threshold imported from a spreadsheet that recorded no stimuli.

    Read-only once imported: it keeps the file and line it came from, and every export
    flags it (`source` = "legacy_thresholds") because it cannot be recomputed from raw
    filament responses. Written only by `sessions.importing`.
    """

    class Status(models.TextChoices):
        OK = "ok", "ok"
        CUTOFF_HIGH = "cutoff_high", "At the cut-off (no withdrawal)"
        CUTOFF_LOW = "cutoff_low", "Withdrew at the lowest filament"
        INCOMPLETE = "incomplete", "Incomplete"

    animal = models.ForeignKey(Animal, on_delete=models.CASCADE, related_name="legacy_thresholds")
    timepoint = models.ForeignKey(
        Timepoint, on_delete=models.PROTECT, related_name="legacy_thresholds"
    )
    paw = models.CharField(max_length=5, choices=TestSession.Paw.choices)
    method = models.CharField(max_length=20, choices=ThresholdMethod.choices)
    threshold_g = models.FloatField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OK)
    pattern = models.CharField(max_length=100, blank=True)
    source_file = models.CharField(max_length=255)
    source_line = models.PositiveIntegerField()
    imported_at = models.DateTimeField(auto_now_add=True)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["animal", "timepoint__day", "paw"]
        constraints = [
            models.UniqueConstraint(
                fields=["animal", "timepoint", "paw"], name="one_legacy_threshold_per_slot"
            ),
            models.CheckConstraint(
                condition=Q(threshold_g__isnull=True) | Q(threshold_g__gt=0),
                name="legacy_threshold_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.animal} {self.timepoint.label} {self.paw}: {self.threshold_g} g (imported)"
