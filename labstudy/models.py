"""Study design: the study itself, its groups, phases, timepoints and who works on it.

Recorded observations live in `animals` and `sessions`; nothing here is derived data.
"""

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from labstudy import bench_keys
from labstudy.pairs import bad_pair_message, parse_pairs
from labstudy.pairs import unknown_pair_timepoints as unknown_pair_timepoints  # old home
from labstudy.validators import validate_timepoint_label


class TimeStamped(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class ThresholdMethod(models.TextChoices):
    UP_DOWN = "up_down", "Up-down 50% threshold (Chaplan/Dixon)"
    FIRST_RESPONSE = "first_response", "Target force (lowest withdrawal force)"
    SUDO = "sudo", "Simplified up-down (SUDO, Bonin 2014)"
    ASCENDING = "ascending", "Ascending method of limits (first filament to reach the criterion)"
    PERCENT_RESPONSE = "percent_response", "Percent response (withdrawal frequency per filament)"


# The methods recorded as ascending blocks of N applications per filament (the others
# share the up-down stepping); analysis.thresholds.BLOCK_FAMILY says the same.
BLOCK_METHODS = ("ascending", "percent_response")
MAX_APPLICATIONS = 20


def comparable_methods(method: str) -> list[tuple[str, str]]:
    """The (value, label) choices a series recorded for `method` can also be read by:
    the up-down family (up-down, target force, SUDO) or ascending / percent response."""
    block = method in BLOCK_METHODS
    return [(v, label) for v, label in ThresholdMethod.choices if (v in BLOCK_METHODS) == block]


def parse_method_filaments(text: str) -> list[str]:
    """The evaluator sizes typed in `method_filaments` ("3.61, 3.84 4.08"), in order.

    Raises ValidationError naming the first item that is not a size such as 4.31.
    """
    items = [item for item in (text or "").replace(",", " ").split() if item]
    for item in items:
        head, _, tail = item.partition(".")
        if (
            not (
                head.isascii()
                and head.isdigit()
                and (not tail or (tail.isascii() and tail.isdigit()))
            )
            or len(item) > 8
        ):
            shown = item if len(item) <= 12 else item[:12] + "…"
            raise ValidationError(
                {"method_filaments": f"'{shown}' is not a filament size such as 4.31."}
            )
    return items


class Study(TimeStamped):
    class Status(models.TextChoices):
        PLANNING = "planning", "Planning"
        RUNNING = "running", "Running"
        LOCKED = "locked", "Locked"
        ARCHIVED = "archived", "Archived"

    class Sex(models.TextChoices):
        MALE = "male", "Male"
        FEMALE = "female", "Female"
        MIXED = "mixed", "Both sexes"

    class Model(models.TextChoices):
        PSNL = "PSNL", "Partial sciatic nerve ligation (PSNL)"
        CCI = "CCI", "Chronic constriction injury (CCI)"
        SNI = "SNI", "Spared nerve injury (SNI)"
        SNL = "SNL", "Spinal nerve ligation (SNL)"
        CFA = "CFA", "Complete Freund's adjuvant (CFA)"
        SHAM = "sham", "Sham"
        OTHER = "other", "Other"

    class Paw(models.TextChoices):
        RIGHT = "right", "Right hind paw"
        LEFT = "left", "Left hind paw"
        BOTH = "both", "Both hind paws"

    class Posthoc(models.TextChoices):
        NEMENYI = "nemenyi", "Nemenyi (Tukey distribution, as PMCMRplus)"
        DUNN_HOLM = "dunn_holm", "Dunn with Holm correction"

    class ComparisonFamily(models.TextChoices):
        # Values are analysis.stats.FAMILY_CHOICES; labels are what a PI reads.
        ALL_PAIRS = (
            "all_pairs",
            "Every pair: every group with every other, every timepoint with every other",
        )
        VS_CONTROL = "vs_control", "Each group against control, at each timepoint"
        VS_BASELINE = "vs_baseline", "Each timepoint against baseline, within each group"
        PAIRS = "pairs", "Only the chosen timepoint pairs, within each group"

    class ComparisonBasis(models.TextChoices):
        # Values are analysis.stats.BASIS_CHOICES.
        RANK = "rank", "Rank tests on each timepoint or group"
        MODEL = "model", "The mixed model's estimated marginal means"

    slug = models.SlugField(
        max_length=60, unique=True, help_text="Short name used in addresses and file names."
    )
    title = models.CharField(max_length=200)
    species = models.CharField(max_length=60, default="rat")
    strain = models.CharField(max_length=60, blank=True)
    sex = models.CharField(max_length=10, choices=Sex.choices, default=Sex.MALE)
    model = models.CharField(max_length=10, choices=Model.choices, default=Model.PSNL)
    paw_tested = models.CharField(max_length=10, choices=Paw.choices, default=Paw.RIGHT)
    threshold_method = models.CharField(
        max_length=20, choices=ThresholdMethod.choices, default=ThresholdMethod.FIRST_RESPONSE
    )
    applications_per_filament = models.PositiveSmallIntegerField(
        "applications per filament",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_APPLICATIONS)],
        help_text="Ascending and percent response: times each filament is applied (N). "
        "Empty: 1 for ascending, 5 for percent response.",
    )
    withdrawals_needed = models.PositiveSmallIntegerField(
        "withdrawals needed",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_APPLICATIONS)],
        help_text="Ascending and percent response: withdrawals out of N that make a "
        "filament the threshold (3 of 5; 5 of 10 = 50 %). Empty: 1 for ascending, 3 for "
        "percent response.",
    )
    method_filaments = models.CharField(
        "filaments in use",
        max_length=200,
        blank=True,
        help_text="Ascending and percent response: the evaluator sizes applied, e.g. "
        "3.61, 3.84, 4.08, 4.31, 4.56; empty for the whole filament set.",
    )
    cutoff_g = models.FloatField(
        default=300.0,
        validators=[MinValueValidator(0.001)],
        help_text="Force given when no filament up to the top elicits a withdrawal.",
    )
    filament_set = models.ForeignKey(
        "vf_sessions.FilamentSet", on_delete=models.PROTECT, related_name="studies"
    )
    start_filament = models.CharField(
        max_length=8, default="4.31", help_text="Evaluator size of the first filament applied."
    )
    blinded = models.BooleanField(
        default=True, help_text="Technicians see coded solution letters, never groups or doses."
    )
    randomise_test_order = models.BooleanField(
        default=False, help_text="List animals in a seeded random order on the bench screens."
    )
    order_seed = models.PositiveIntegerField(default=0)
    # Drawn at random when the study is created and never shown to technicians: the
    # solution letters follow from it (see labstudy.services.solution_letters), so the
    # coding is recorded and can be re-derived, yet cannot be guessed from the slug.
    letter_seed = models.PositiveIntegerField(
        "solution letter seed",
        default=0,
        help_text="Seed of the random order in which groups were given solution letters.",
    )
    day0_date = models.DateField(help_text="Calendar date of study day 0 (usually surgery).")
    first_day = models.IntegerField(
        default=-7, help_text="Earliest study day (negative for pre-surgery days)."
    )
    last_day = models.PositiveIntegerField(default=56, help_text="Last study day.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PLANNING)
    ethics_reference = models.CharField("ethics approval reference", max_length=100, blank=True)
    description = models.TextField(blank=True)
    alpha = models.FloatField(
        "significance level",
        default=0.05,
        validators=[MinValueValidator(0.0001), MaxValueValidator(0.5)],
    )
    posthoc = models.CharField(
        "between-group post-hoc test",
        max_length=12,
        choices=Posthoc.choices,
        default=Posthoc.NEMENYI,
    )
    comparison_pairs = models.CharField(
        "chosen timepoint comparisons",
        max_length=200,
        blank=True,
        help_text="Pairs to pick out within each group besides 'vs baseline', "
        "e.g. 'T7-T4' (the reference paper compares T7 with T4); separate pairs with commas.",
    )
    comparison_family = models.CharField(
        "comparisons marked",
        max_length=12,
        choices=ComparisonFamily.choices,
        default=ComparisonFamily.ALL_PAIRS,
        help_text="Which comparisons the post-hoc tests make, the charts mark and the "
        "results sentences state.",
    )
    comparison_basis = models.CharField(
        "comparisons tested by",
        max_length=8,
        choices=ComparisonBasis.choices,
        default=ComparisonBasis.RANK,
        help_text="Whether the marked comparisons come from rank tests or from the mixed model.",
    )
    # The keys (keyboard, foot pedal, presentation clicker) that record a tap on the
    # guided von Frey screen; names as the browser reports them (labstudy.bench_keys).
    bench_keys_withdrawal = models.CharField(
        "keys for Withdrawal", max_length=60, default=bench_keys.DEFAULTS["withdrawal"]
    )
    bench_keys_no_response = models.CharField(
        "keys for No response", max_length=60, default=bench_keys.DEFAULTS["no_response"]
    )
    bench_keys_undo = models.CharField(
        "keys for Undo", max_length=60, default=bench_keys.DEFAULTS["undo"]
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "studies"
        ordering = ["-day0_date", "slug"]
        constraints = [
            models.CheckConstraint(condition=Q(cutoff_g__gt=0), name="study_cutoff_positive"),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs) -> None:
        # Every route (settings page, admin, history revert, shell, commands) saves here.
        self._check_blinding()
        super().save(*args, **kwargs)

    def clean(self) -> None:
        if self.day0_date is not None:
            check_day0_date(self.day0_date)
        bad = parse_pairs(self.comparison_pairs).bad
        if bad:
            raise ValidationError({"comparison_pairs": f"{bad_pair_message(bad[0])}."})
        for name in ("first_day", "last_day"):
            value = getattr(self, name)
            if value is not None and abs(value) > MAX_STUDY_DAY:
                raise ValidationError(
                    {name: f"Day {value} is more than {MAX_STUDY_DAY} days (ten years) from day 0."}
                )
        if self.first_day is not None and self.last_day is not None:
            if self.first_day > self.last_day:
                raise ValidationError(
                    {"first_day": "The first study day must not be after the last."}
                )
        if self.filament_set_id and self.start_filament:
            if not self.filament_set.filaments.filter(size=self.start_filament).exists():
                message = f"Filament '{self.start_filament}' is not in {self.filament_set}."
                raise ValidationError({"start_filament": message})
        self._check_method_settings()
        keys = bench_keys.parse_all(
            {a: getattr(self, bench_keys.field_name(a)) for a, _ in bench_keys.ACTIONS}
        )
        for action, names in keys.items():
            setattr(self, bench_keys.field_name(action), " ".join(names))
        self._check_blinding()

    @property
    def paws(self) -> list[str]:
        """The hind paws tested at each timepoint, right first: ["right", "left"] or one."""
        return ["right", "left"] if self.paw_tested == self.Paw.BOTH else [self.paw_tested]

    @property
    def ceiling_g(self) -> float:
        """What a series running off the top reports, and so the ceiling of %MPE: the
        cut-off, or the force of the top filament in use when the filaments stop below it
        (a 0.4-15 g set cannot tell 15 g from 300 g; analysis.thresholds says the same)."""
        key = (self.filament_set_id, self.threshold_method, self.method_filaments, self.cutoff_g)
        cached = getattr(self, "_ceiling_cache", None)
        if cached and cached[0] == key:
            return cached[1]
        sizes = None
        if self.threshold_method in BLOCK_METHODS:
            try:
                sizes = {Decimal(s) for s in parse_method_filaments(self.method_filaments)}
            except ValidationError:
                sizes = None
        tops = [
            grams
            for size, grams in self.filament_set.filaments.values_list("size", "grams")
            if not sizes or Decimal(size) in sizes
        ]
        value = min(float(self.cutoff_g), max(tops)) if tops else float(self.cutoff_g)
        self._ceiling_cache = (key, value)
        return value

    @property
    def method_applications(self) -> int:
        """N applications per filament the study's block method uses (its default if empty)."""
        default = 1 if self.threshold_method == "ascending" else 5
        return self.applications_per_filament or default

    @property
    def method_withdrawals(self) -> int:
        default = 1 if self.threshold_method == "ascending" else 3
        return self.withdrawals_needed or min(default, self.method_applications)

    @property
    def method_params(self) -> dict:
        """The engine's keyword arguments for ascending / percent response (ignored by the
        up-down family): ``analysis.thresholds.compute_threshold(..., **study.method_params)``."""
        return {
            "applications": self.method_applications,
            "withdrawals": self.method_withdrawals,
            "subset": parse_method_filaments(self.method_filaments) or None,
        }

    def _check_method_settings(self) -> None:
        sizes = parse_method_filaments(self.method_filaments)
        if self.threshold_method not in BLOCK_METHODS:
            return
        if self.method_withdrawals > self.method_applications:
            raise ValidationError(
                {
                    "withdrawals_needed": f"{self.method_withdrawals} withdrawals cannot be "
                    f"needed out of {self.method_applications} applications per filament."
                }
            )
        if sizes and self.filament_set_id:
            known = {
                Decimal(s): s for s in self.filament_set.filaments.values_list("size", flat=True)
            }
            unknown = [s for s in sizes if Decimal(s) not in known]
            if unknown:
                raise ValidationError(
                    {"method_filaments": f"Filament '{unknown[0]}' is not in {self.filament_set}."}
                )
            # Stored as the set spells them, ascending, without repeats.
            chosen = sorted({known[Decimal(s)] for s in sizes}, key=Decimal)
            self.method_filaments = ", ".join(chosen)

    def method_change_refusal(self, *, method: str, reason: str, params: dict) -> str | None:
        """Why a change of the threshold method or its settings cannot be saved, or None.

        Once filaments are applied, a change within the up-down family (or of the
        ascending / percent-response settings) recomputes every threshold, so it needs a
        reason; a change between the families is refused, because series recorded one
        way cannot be read the other way."""
        if not self.pk:
            return None
        stored = Study.objects.filter(pk=self.pk).first()
        if stored is None:
            return None

        def same(name: str, value: object) -> bool:
            if name != "method_filaments":
                return str(getattr(stored, name) or "") == str(value or "")
            try:
                typed = [Decimal(s) for s in parse_method_filaments(str(value or ""))]
            except ValidationError:
                return True  # refused by clean with its own message
            return sorted(set(typed)) == [
                Decimal(s) for s in parse_method_filaments(stored.method_filaments)
            ]

        changed = stored.threshold_method != method or not all(
            same(name, value) for name, value in params.items()
        )
        if not changed:
            return None
        taps = stored.animals.filter(test_sessions__stimuli__isnull=False).exists()
        if taps and (stored.threshold_method in BLOCK_METHODS) != (method in BLOCK_METHODS):
            return (
                f"The method cannot change from {stored.get_threshold_method_display().lower()} "
                f"to {ThresholdMethod(method).label.lower()}: filaments are already recorded "
                "in the first way, and a series cannot be read the other way. Start a new "
                "study to record another way."
            )
        if (reason or "").strip() or not stored.has_recorded_data():
            return None
        return (
            "Say why the threshold method or its settings change: data are already recorded, "
            "so every threshold will be computed again."
        )

    def has_recorded_data(self) -> bool:
        """Anything recorded at the bench (a filament applied, a dose, a weight or an
        observation, voided or not): past this point the study cannot go back to planning
        and its blinding can be lifted only by the audited unblinding.

        Asked through the reverse relations of the recording apps' models (animals,
        sessions), so the study core imports none of them.
        """
        animals = self.animals.all()
        return (
            animals.filter(test_sessions__stimuli__isnull=False).exists()
            or animals.filter(doses__isnull=False).exists()
            or animals.filter(weights__isnull=False).exists()
            or animals.filter(observations__isnull=False).exists()
        )

    def _check_blinding(self) -> None:
        """Blinding is lifted only by labstudy.services.unblind_study (password, reason,
        history); once data are recorded the study cannot go back to planning, where its
        design (and the blinded box) could be edited."""
        if not self.pk or getattr(self, "_audited_unblinding", False):
            return
        stored = Study.objects.filter(pk=self.pk).values("blinded", "status").first()
        if stored is None:
            return
        clearing = stored["blinded"] and not self.blinded
        to_planning = (
            stored["status"] != self.Status.PLANNING and self.status == self.Status.PLANNING
        )
        if not (clearing or to_planning):
            return
        recorded = self.has_recorded_data()
        if clearing and (recorded or stored["status"] != self.Status.PLANNING):
            raise ValidationError(
                {
                    "blinded": "A blinded study is unblinded only on its Unblind page, by an "
                    "investigator with their password and a reason, which the history keeps."
                }
            )
        if to_planning and recorded:
            raise ValidationError(
                {
                    "status": "Data are already recorded in this study, so it cannot go back "
                    "to planning. To reveal the groups, an investigator unblinds it on the "
                    "Unblind page (password and reason)."
                }
            )

    def comparison_change_refusal(
        self, *, family: str, reason: str, basis: str | None = None
    ) -> str | None:
        """Why a change of the comparison family (or of the basis of its tests) cannot
        be saved as it stands, or None.

        Once anything is recorded they decide which marks and sentences results already
        seen carry, so a change needs a reason, which the history keeps beside the old
        and new values (whatever the study's status)."""
        if not self.pk or (reason or "").strip():
            return None
        stored = (
            Study.objects.filter(pk=self.pk)
            .values_list("comparison_family", "comparison_basis")
            .first()
        )
        if stored is None:
            return None
        changed = stored[0] != family or (basis is not None and stored[1] != basis)
        if not changed or not self.has_recorded_data():
            return None
        return (
            "Say why the comparisons marked change: data are already recorded, so the "
            "marks and sentences of results already seen will change."
        )

    def chosen_pairs(self) -> list[tuple[str, str]]:
        """`comparison_pairs` as (later, earlier) label pairs, e.g. [("T7", "T4")]; an
        item that is not a pair (refused by clean) is left out."""
        return parse_pairs(self.comparison_pairs).pairs

    def date_of_day(self, day: int) -> dt.date:
        return self.day0_date + dt.timedelta(days=day)

    def day_of_date(self, date: dt.date) -> int:
        return (date - self.day0_date).days

    # Nothing more is recorded in a study in these states (taps, doses, weights,
    # observations, status changes, voids); it reopens only by an edit of its status.
    CLOSED_FOR_RECORDING = (Status.LOCKED, Status.ARCHIVED)

    def recording_refusal(self) -> str | None:
        """Why nothing can be recorded in this study now (it is locked or archived), or
        None when it can. The one rule every writer of recorded data asks."""
        if self.status in self.CLOSED_FOR_RECORDING:
            return f"The study is {self.get_status_display().lower()}: nothing can be recorded."
        return None

    def date_refusal(self, date: dt.date, what: str = "Date") -> str | None:
        """Why nothing can be recorded on `date` in this study, or None when it can.

        The one rule for the dates of what is recorded about an animal (status changes,
        weights, doses, observations): not in the future, not before the study's first
        day (`first_day`, e.g. day -7, so pre-surgery checks fit). `what` names the field.
        """
        first = self.date_of_day(self.first_day)
        if date > timezone.localdate():
            return f"{what} {date:%d %b %Y} is in the future."
        if date < first:
            return (
                f"{what} {date:%d %b %Y} is before the study's first day "
                f"(day {self.first_day}, {first:%d %b %Y})."
            )
        return None


# Day 0 stays well inside the calendar: every study day, and the day before and after it
# that the bench pages link to, must be a date (9999-12-31 + 56 days is not).
EARLIEST_DAY0 = dt.date(1900, 1, 1)
LATEST_DAY0 = dt.date(2999, 12, 31)
MAX_STUDY_DAY = 3660


def check_day0_date(day0: dt.date) -> None:
    if not EARLIEST_DAY0 <= day0 <= LATEST_DAY0:
        raise ValidationError(
            {
                "day0_date": f"Day 0 {day0.isoformat()} is outside {EARLIEST_DAY0.year} to "
                f"{LATEST_DAY0.year}; check the year."
            }
        )


class TreatmentGroup(TimeStamped):
    class Route(models.TextChoices):
        IP = "i.p.", "Intraperitoneal (i.p.)"
        SC = "s.c.", "Subcutaneous (s.c.)"
        PO = "p.o.", "Oral (p.o.)"
        IV = "i.v.", "Intravenous (i.v.)"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="groups")
    code = models.CharField(max_length=20, help_text="Short code, e.g. K10.")
    name = models.CharField(max_length=100)
    drug = models.CharField(max_length=100, blank=True)
    dose_mg_kg = models.DecimalField(
        "dose (mg/kg)",
        max_digits=8,
        decimal_places=3,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    # blank: not recorded (an imported group whose file did not say).
    route = models.CharField(max_length=5, choices=Route.choices, default=Route.IP, blank=True)
    vehicle = models.CharField(max_length=100, blank=True, default="saline")
    concentration_mg_ml = models.DecimalField(
        "concentration (mg/ml)",
        max_digits=8,
        decimal_places=3,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    volume_ml_kg = models.DecimalField(
        "volume (ml/kg)",
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    is_control = models.BooleanField(default=False)
    colour = models.CharField(
        max_length=7,
        default="#1f77b4",
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", "Use a colour like #1f77b4.")],
    )
    coded_letter = models.CharField(
        "coded solution letter",
        max_length=2,
        blank=True,
        help_text="What blinded technicians see on the solution bottle, e.g. A.",
    )
    order = models.PositiveSmallIntegerField(default=0)
    history = HistoricalRecords()

    class Meta:
        ordering = ["study", "order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["study", "code"], name="group_code_unique_in_study"),
            models.UniqueConstraint(
                fields=["study", "coded_letter"],
                condition=~Q(coded_letter=""),
                name="group_letter_unique_in_study",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class Phase(TimeStamped):
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="phases")
    code = models.CharField(max_length=10)
    name = models.CharField(max_length=100)
    first_day = models.IntegerField()
    last_day = models.IntegerField()
    dosed = models.BooleanField("animals are dosed", default=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ["study", "first_day"]
        constraints = [
            models.UniqueConstraint(fields=["study", "code"], name="phase_code_unique_in_study"),
            models.CheckConstraint(
                condition=Q(first_day__lte=models.F("last_day")), name="phase_days_ordered"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code}: {self.name}"

    @property
    def first_date(self) -> dt.date:
        return self.study.date_of_day(self.first_day)

    @property
    def last_date(self) -> dt.date:
        return self.study.date_of_day(self.last_day)

    def clean(self) -> None:
        if (
            self.first_day is not None
            and self.last_day is not None
            and self.first_day > self.last_day
        ):
            raise ValidationError({"last_day": "The last day must not be before the first day."})
        if self.study_id and self.first_day is not None and self.last_day is not None:
            _check_day_in_study(self.study, self.first_day, "first_day")
            _check_day_in_study(self.study, self.last_day, "last_day")


class Timepoint(TimeStamped):
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="timepoints")
    label = models.CharField(
        max_length=20,
        validators=[validate_timepoint_label],
        help_text="e.g. T0: letters, digits, spaces and _ . # ( ) + (not -, which joins pairs).",
    )
    day = models.IntegerField("study day")
    is_baseline = models.BooleanField(default=False)
    order = models.PositiveSmallIntegerField(default=0)
    description = models.CharField(max_length=200, blank=True)
    locked_at = models.DateTimeField(
        null=True, blank=True, help_text="Signed off: its sessions and stimuli are read-only."
    )
    locked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["study", "order", "day"]
        constraints = [
            models.UniqueConstraint(fields=["study", "label"], name="timepoint_label_unique"),
            models.UniqueConstraint(fields=["study", "day"], name="timepoint_day_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.label} (day {self.day})"

    @property
    def date(self) -> dt.date:
        return self.study.date_of_day(self.day)

    @property
    def is_locked(self) -> bool:
        return self.locked_at is not None

    def recording_refusal(self) -> str | None:
        """Why nothing can be recorded in this timepoint's sessions (it is signed off), or
        None when it can. Read `locked_at` from a row locked against sign-off
        (sessions.services.lock_timepoint) when the answer decides a write."""
        if self.is_locked:
            return f"Timepoint {self.label} has been signed off; its sessions are read-only."
        return None

    def clean(self) -> None:
        if self.study_id and self.day is not None:
            _check_day_in_study(self.study, self.day, "day")


def _check_day_in_study(study: Study, day: int, field: str) -> None:
    if not study.first_day <= day <= study.last_day:
        span = f"{study.first_day} to {study.last_day}"
        raise ValidationError({field: f"Day {day} is outside the study's days ({span})."})


class Role(models.TextChoices):
    TECHNICIAN = "technician", "Technician"
    DOSING_TECHNICIAN = "dosing_technician", "Dosing technician"
    TESTER = "tester", "Tester"
    INVESTIGATOR = "investigator", "Investigator"
    DATA_MANAGER = "data_manager", "Data manager"


# What each role does, in the words the People page shows (labstudy.access holds the rules).
ROLE_DESCRIPTIONS = {
    Role.TECHNICIAN: "Doses, weighs, observes and tests at the bench. On a blinded study sees "
    "solution letters on the dosing worksheet only, and only today's work.",
    Role.DOSING_TECHNICIAN: "Doses, weighs and observes; sees solution letters on the dosing "
    "worksheet; no von Frey testing and no results.",
    Role.TESTER: "Tests (von Frey), weighs and observes; on a blinded study never sees a "
    "solution letter or a past result.",
    Role.INVESTIGATOR: "Reads results, signs timepoints off and can unblind the study.",
    Role.DATA_MANAGER: "Sets the study up, manages its people, imports and exports.",
}


class Membership(TimeStamped):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["study", "role", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["user", "study"], name="one_role_per_user_and_study")
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} on {self.study.slug}"


class PasswordRecheckFailure(models.Model):
    """A wrong password when confirming a signed action (sign-off, reopening, unblinding);
    counted to throttle re-checks as sign-in is (labstudy.services._confirm_password)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    failed_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"{self.user} at {self.failed_at:%Y-%m-%d %H:%M}"


class SampleSizePlan(models.Model):
    """One sample-size calculation made from this study's data (ARRIVE 2.0 item 2b): who
    asked, when, with which inputs and seed, and what came out, so the ARRIVE report can
    quote the latest and anyone can rerun it. Written by `front.planning` only; the
    numbers come from `analysis.planning`. A plan is never edited after it finished."""

    class Unit(models.TextChoices):
        GRAMS = "g", "grams (difference from control)"
        MPE = "mpe", "%MPE (share of the way from baseline to the cut-off)"
        RATIO = "ratio", "ratio to control (treated mean ÷ control mean)"

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="sample_size_plans")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    timepoint = models.CharField(max_length=40)
    effect = models.FloatField()
    unit = models.CharField(max_length=5, choices=Unit.choices)
    alpha = models.FloatField()
    power = models.FloatField()
    loss = models.FloatField("expected share of animals lost")
    seed = models.BigIntegerField()
    n_sims = models.PositiveIntegerField()
    method = models.CharField("threshold method", max_length=20)
    analysis = models.CharField(max_length=40)
    # The pilot's numbers the simulation drew from and the study settings it ran under.
    inputs = models.JSONField(default=dict)
    result = models.JSONField(default=dict)
    n_per_group = models.PositiveIntegerField(null=True, blank=True)
    n_with_losses = models.PositiveIntegerField(null=True, blank=True)
    sentence = models.TextField(blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.RUNNING)
    progress = models.PositiveSmallIntegerField(default=0)  # percent
    error = models.TextField(blank=True)
    history = HistoricalRecords(excluded_fields=["progress"])

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.study.slug} plan {self.pk} ({self.status})"
