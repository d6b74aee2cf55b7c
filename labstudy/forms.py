"""Forms for study set-up and the study's people. Thin: validation of whole studies lives
in models and services.

Labels and help lines are written for lab people: where a word is ours (method, post-hoc,
pairs, filament set, blinding, solution letter), the field says what it means.
"""

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.forms import BaseInlineFormSet, inlineformset_factory

from labstudy.models import (
    Phase,
    Role,
    Study,
    ThresholdMethod,
    Timepoint,
    TreatmentGroup,
    check_day0_date,
)
from labstudy.pairs import normalized, unknown_pair_timepoints
from labstudy.study_templates import TEMPLATES
from labstudy.validators import finite_decimals
from labstudy.widgets import DateInput

STUDY_FIELDS = [
    "title",
    "species",
    "strain",
    "sex",
    "model",
    "paw_tested",
    "threshold_method",
    "applications_per_filament",
    "withdrawals_needed",
    "method_filaments",
    "cutoff_g",
    "filament_set",
    "start_filament",
    "blinded",
    "randomise_test_order",
    "order_seed",
    "day0_date",
    "first_day",
    "last_day",
    "status",
    "ethics_reference",
    "alpha",
    "posthoc",
    "comparison_pairs",
    "comparison_family",
    "comparison_basis",
    "description",
    "bench_keys_withdrawal",
    "bench_keys_no_response",
    "bench_keys_undo",
]
# Bench comfort, not study design: changed at any time without a reason.
NO_REASON_FIELDS = {
    "change_reason",
    "bench_keys_withdrawal",
    "bench_keys_no_response",
    "bench_keys_undo",
}


class PlainDecimalInput(forms.NumberInput):
    """A number as it was entered: "5", not the column's "5.000" or the float's "300.0"."""

    def format_value(self, value):
        if isinstance(value, Decimal):
            return format(value.normalize(), "f")
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return super().format_value(value)


SLUG_LABEL = "Short name (in links)"
SLUG_HELP = (
    "Letters, numbers and hyphens, e.g. psnl-ketamine-2026. It names the study in page "
    "addresses and exported file names, and cannot be changed later."
)
DAY0_HELP = (
    "The calendar date of study day 0, usually the day of surgery; every study day counts from it."
)

STUDY_LABELS = {
    "sex": "Sex of the animals",
    "model": "Pain model",
    "threshold_method": "Threshold method",
    "applications_per_filament": "Applications per filament (N)",
    "withdrawals_needed": "Withdrawals needed (of N)",
    "method_filaments": "Filaments in use",
    "cutoff_g": "Cut-off (g)",
    "filament_set": "Filament set",
    "start_filament": "First filament",
    "blinded": "Blinded study",
    "randomise_test_order": "Random test order at the bench",
    "order_seed": "Test-order seed",
    "day0_date": "Day 0",
    "first_day": "First study day",
    "last_day": "Last study day",
    "alpha": "Significance level (alpha)",
    "posthoc": "Between-group post-hoc test",
    "comparison_pairs": "Chosen timepoint comparisons (pairs)",
    "comparison_family": "Comparisons the charts mark",
    "comparison_basis": "Tested by",
    "bench_keys_withdrawal": "Bench keys: Withdrawal",
    "bench_keys_no_response": "Bench keys: No response",
    "bench_keys_undo": "Bench keys: Undo",
}
BENCH_KEYS_HELP = (
    "Keys (keyboard, foot pedal or presentation clicker) that record this on the von Frey "
    "screen, separated by spaces: a letter or digit, . , / ; - =, or "
    "PageDown, PageUp, ArrowRight, ArrowLeft, ArrowUp, ArrowDown, Enter, Space, Home, End, "
    "AudioVolumeUp, AudioVolumeDown. Each key does one thing."
)
STUDY_HELP = {
    "threshold_method": "How one series of filament responses becomes one threshold. Target "
    "force: the lowest force that made the paw withdraw (as Kim et al. 2022). Up-down: "
    "Chaplan's 50% threshold from the Dixon pattern. SUDO: a shorter up-down series. "
    "Ascending: filaments from the lowest up, each applied N times, until one makes the paw "
    "withdraw the number of times needed; the threshold is its force. Percent response: "
    "every filament in use applied N times; the withdrawal frequency per filament is shown, "
    "and the threshold is the lowest filament reaching the withdrawals needed. Every export "
    "names the method used. Once filaments are recorded, a change needs a reason, and "
    "up-down series cannot become ascending ones (or the other way).",
    "cutoff_g": "The force recorded when no filament up to the top one makes the paw "
    "withdraw (300 g on the Stoelting 20-filament set). It is also the ceiling of %MPE.",
    "filament_set": "The von Frey filaments (sizes and forces) used at the bench. It cannot "
    "be changed once a filament has been applied in this study.",
    "start_filament": "Evaluator size of the filament applied first in every series, "
    "e.g. 4.31 (2 g).",
    "blinded": "Technicians see coded solution letters (A, B, C…), never the groups, drugs "
    "or doses.",
    "order_seed": "Any whole number; the same number gives the same random test order again.",
    "day0_date": DAY0_HELP,
    "first_day": "Negative for days before surgery, e.g. -7 for a pre-surgery test.",
    "last_day": "Timepoints and phases fall between the first and the last study day.",
    "status": "Planning while you set up; Running once animals are tested (changes then "
    "need a reason); Locked when data collection is over.",
    "alpha": "A p-value below this counts as significant; 0.05 in most papers.",
    "posthoc": "After a significant Kruskal-Wallis test at a timepoint, the pairwise test "
    "that says which groups differ: Nemenyi (as the reference paper, R's PMCMRplus) or "
    "Dunn with Holm's correction.",
    "comparison_pairs": "Timepoints to compare within each group besides each one against "
    "the baseline, later first: 'T7-T4' (the reference paper compares T7 with T4). "
    "Separate pairs with commas.",
    "comparison_family": "Which differences the post-hoc tests look for. Testing fewer "
    "comparisons loses less to the correction for multiple tests, so a drug group can "
    "differ from control here when it would not among every pair. Changing this once "
    "data are recorded needs a reason.",
    "bench_keys_withdrawal": BENCH_KEYS_HELP,
    "bench_keys_no_response": BENCH_KEYS_HELP,
    "bench_keys_undo": BENCH_KEYS_HELP,
}

# What each basis runs, in the words of R and Prism users (settings page).
BASIS_MATCHES = {
    "rank": "Rank tests after Kruskal-Wallis and Friedman, as the reference paper (R: "
    "PMCMRplus; Prism: the nonparametric tests with Dunn's multiple comparisons). Each "
    "comparison comes with a Hodges-Lehmann difference and its 95 % CI.",
    "model": "Differences of the estimated marginal means of the group × time mixed model "
    "(random intercept per animal), with Satterthwaite degrees of freedom: Dunnett "
    "against control, Šidák against baseline or for chosen pairs, Tukey for every pair. "
    "R: lmer + emmeans; Prism: two-way repeated-measures ANOVA or mixed-effects model "
    "with Dunnett's or Šidák's multiple comparisons.",
}

# What each comparison family runs, in the words of R and Prism users (settings page).
FAMILY_MATCHES = {
    "all_pairs": "As the reference paper: Nemenyi (or Dunn) after Kruskal-Wallis at each "
    "timepoint and Nemenyi after Friedman within each group. R: PMCMRplus "
    "kwAllPairsNemenyiTest / frdAllPairsNemenyiTest. Prism: Kruskal-Wallis or Friedman "
    "with Dunn's test, 'compare all pairs'.",
    "vs_control": "Dunn's test against the control group with Holm's correction after "
    "Kruskal-Wallis at each timepoint. R: PMCMRplus kwManyOneDunnTest(p.adjust.method = "
    "'holm'). Prism: Kruskal-Wallis with Dunn's test, 'compare each column with a control "
    "column' (Prism corrects by Bonferroni-Dunn, a little more strictly).",
    "vs_baseline": "Demsar's test of each timepoint against baseline with Holm's "
    "correction after Friedman within each group. R: PMCMRplus frdManyOneDemsarTest. "
    "Prism: Friedman with Dunn's test, 'compare each column with a control column'.",
    "pairs": "Only the timepoint pairs chosen above, after Friedman, with Holm's "
    "correction over those pairs alone. R: PMCMRplus frdAllPairsSiegelTest (the same z), "
    "kept to the chosen pairs. Prism: Friedman with Dunn's test, 'select pairs of columns "
    "to compare'.",
}


class NewStudyForm(forms.Form):
    template = forms.ChoiceField(
        choices=[(t.key, t.name) for t in TEMPLATES.values()],
        help_text="A template fills in groups, phases and timepoints; you can change them after.",
    )
    slug = forms.SlugField(max_length=60, label=SLUG_LABEL, help_text=SLUG_HELP)
    title = forms.CharField(max_length=200)
    day0_date = forms.DateField(label="Day 0", widget=DateInput, help_text=DAY0_HELP)

    def clean_day0_date(self):
        day0 = self.cleaned_data["day0_date"]
        try:
            check_day0_date(day0)
        except ValidationError as error:
            raise forms.ValidationError(error.message_dict["day0_date"]) from None
        return day0

    def clean_slug(self):
        slug = self.cleaned_data["slug"]
        if Study.objects.filter(slug=slug).exists():
            raise forms.ValidationError(f"A study called '{slug}' already exists.")
        return slug


class StudyForm(forms.ModelForm):
    class Meta:
        model = Study
        fields = STUDY_FIELDS
        widgets = {
            "day0_date": DateInput,
            "description": forms.Textarea(attrs={"rows": 3}),
            "cutoff_g": PlainDecimalInput(attrs={"step": "any"}),
        }
        labels = STUDY_LABELS
        help_texts = STUDY_HELP

    change_reason = forms.CharField(
        label="Reason for this change",
        required=False,
        max_length=300,
        help_text="Kept in the study's history with your name. Needed once the study has "
        "left planning, because a change can alter results already recorded.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        filament_sets = self.fields["filament_set"]
        filament_sets.queryset = filament_sets.queryset.order_by("name")
        self.fields["filament_set"].empty_label = None
        family = self.fields["comparison_family"]
        family.widget = forms.RadioSelect(choices=family.choices)
        family.choices = [
            (value, f"{label}. {FAMILY_MATCHES[value]}") for value, label in family.choices
        ]
        basis = self.fields["comparison_basis"]
        basis.widget = forms.RadioSelect(choices=basis.choices)
        basis.choices = [
            (value, f"{label}. {BASIS_MATCHES[value]}") for value, label in basis.choices
        ]
        if needs_reason(self.instance):
            blinded = self.fields["blinded"]
            blinded.disabled = True
            blinded.help_text = (
                "Set while the study is being planned. Unblinding is an investigator's "
                "action on the Unblind page, confirmed with their password and recorded."
            )

    def clean(self):
        cleaned = super().clean()
        changed = [name for name in self.changed_data if name not in NO_REASON_FIELDS]
        asked = "change_reason" in self.errors  # clean_change_reason already said why
        if (
            changed
            and needs_reason(self.instance)
            and not cleaned.get("change_reason", "")
            and not asked
        ):
            labels = ", ".join(str(self.fields[name].label).lower() for name in changed)
            status = self.instance.get_status_display().lower()
            self.add_error("change_reason", f"Say why {labels} changed: the study is {status}.")
        return cleaned

    def clean_change_reason(self):
        reason = self.cleaned_data.get("change_reason", "")
        method = self.data.get(self.add_prefix("threshold_method"))
        if method in ThresholdMethod.values:
            params = {
                name: (self.data.get(self.add_prefix(name)) or "").strip()
                for name in ("applications_per_filament", "withdrawals_needed", "method_filaments")
            }
            refusal = self.instance.method_change_refusal(
                method=method, reason=reason, params=params
            )
            if refusal:
                raise forms.ValidationError(refusal)
        family = self.data.get(self.add_prefix("comparison_family"))
        basis = self.data.get(self.add_prefix("comparison_basis"))
        if (family and family != self.instance.comparison_family) or (
            basis and basis != self.instance.comparison_basis
        ):
            refusal = self.instance.comparison_change_refusal(
                family=family or self.instance.comparison_family, basis=basis, reason=reason
            )
            if refusal:
                raise forms.ValidationError(refusal)
        return reason

    def clean_comparison_pairs(self):
        pairs = normalized(self.cleaned_data["comparison_pairs"])  # "T7–T4" is stored T7-T4
        known = set(self.instance.timepoints.values_list("label", flat=True))
        unknown = unknown_pair_timepoints(pairs, known)
        if unknown:
            listing = ", ".join(
                self.instance.timepoints.order_by("day", "order").values_list("label", flat=True)
            )
            raise forms.ValidationError(
                [
                    f"Chosen timepoint comparisons: pair {item} names "
                    f"{' and '.join(missing)}, which this study does not have "
                    f"(its timepoints: {listing or 'none yet'})."
                    for item, missing in unknown
                ]
            )
        return pairs

    def clean_filament_set(self):
        chosen = self.cleaned_data["filament_set"]
        study = self.instance
        if study.pk and chosen and chosen.pk != study.filament_set_id:
            # Through the study's own relations: the core imports no recording app.
            taps = study.animals.aggregate(n=Count("test_sessions__stimuli"))["n"]
            if taps:
                recorded = f"{taps:,} filament applications are"
                if taps == 1:
                    recorded = "1 filament application is"
                raise forms.ValidationError(
                    f"The filament set cannot be changed: {recorded} already recorded in this "
                    f"study with {study.filament_set}. Start a new study to use another set."
                )
        return chosen


def needs_reason(study: Study) -> bool:
    """Past planning, changes to a study's design are audited with a reason."""
    return bool(study.pk) and study.status != Study.Status.PLANNING


class StyledRowsFormSet(BaseInlineFormSet):
    """Rows edited as a table: Bootstrap classes and an accessible name on every input."""

    def add_fields(self, form, index):
        super().add_fields(form, index)
        for field in form.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs.setdefault("class", css)
            widget.attrs.setdefault("aria-label", str(field.label))


GROUP_LABELS = {
    "order": "Order",
    "code": "Code",
    "name": "Name",
    "drug": "Drug",
    "dose_mg_kg": "Dose (mg/kg)",
    "route": "Route",
    "vehicle": "Vehicle",
    "concentration_mg_ml": "Concentration (mg/ml)",
    "volume_ml_kg": "Volume (ml/kg)",
    "is_control": "Control group",
    "colour": "Colour",
    "coded_letter": "Solution letter",
}
GROUP_HELP = {
    "order": "Position in tables and charts.",
    "code": "Short, e.g. K10; used in charts and exports.",
    "drug": "Empty for a vehicle-only group.",
    "dose_mg_kg": "As you would write it, e.g. 5 or 2.5.",
    "concentration_mg_ml": "Of the dosing solution; with the dose and body weight it gives "
    "the volume to inject.",
    "volume_ml_kg": "Injection volume per kg body weight; for a vehicle group, the volume it gets.",
    "is_control": "The group the others are compared with.",
    "colour": "Its line in the charts.",
    "coded_letter": "Blinding: the letter on the solution bottle, the only thing a blinded "
    "technician sees, e.g. A.",
}
_DECIMAL_INPUT = PlainDecimalInput(attrs={"step": "any"})

GroupFormSet = inlineformset_factory(
    Study,
    TreatmentGroup,
    formset=StyledRowsFormSet,
    fields=[
        "order",
        "code",
        "name",
        "drug",
        "dose_mg_kg",
        "route",
        "vehicle",
        "concentration_mg_ml",
        "volume_ml_kg",
        "is_control",
        "colour",
        "coded_letter",
    ],
    extra=1,
    can_delete=False,
    labels=GROUP_LABELS,
    help_texts=GROUP_HELP,
    widgets={
        "colour": forms.TextInput(attrs={"type": "color"}),
        "dose_mg_kg": _DECIMAL_INPUT,
        "concentration_mg_ml": _DECIMAL_INPUT,
        "volume_ml_kg": _DECIMAL_INPUT,
    },
    formfield_callback=finite_decimals,
)
PhaseFormSet = inlineformset_factory(
    Study,
    Phase,
    formset=StyledRowsFormSet,
    fields=["code", "name", "first_day", "last_day", "dosed"],
    extra=1,
    can_delete=False,
    labels={
        "code": "Code",
        "name": "Name",
        "first_day": "First day",
        "last_day": "Last day",
        "dosed": "Dosed",
    },
    help_texts={
        "code": "Short, e.g. A; shown on the charts' shaded bands.",
        "first_day": "Study day, counted from Day 0.",
        "dosed": "Tick when animals get their treatment every day of this phase: the dosing "
        "worksheet lists them on those days.",
    },
)


class TimepointRowsFormSet(StyledRowsFormSet):
    """A signed-off timepoint cannot change until an investigator unlocks it: its row is
    shown read-only, and a change posted anyway is refused."""

    def add_fields(self, form, index):
        super().add_fields(form, index)
        if form.instance.pk and form.instance.locked_at is not None:
            for field in form.fields.values():
                field.widget.attrs["readonly"] = True
                field.widget.attrs["title"] = "Signed off: an investigator must unlock it first"

    def clean(self):
        super().clean()
        for form in self.forms:
            timepoint = form.instance
            if timepoint.pk and timepoint.locked_at is not None and form.has_changed():
                form.add_error(
                    None,
                    f"{timepoint.label} is signed off, so it cannot change. An investigator "
                    "must unlock it (with a reason) first.",
                )


TimepointFormSet = inlineformset_factory(
    Study,
    Timepoint,
    formset=TimepointRowsFormSet,
    fields=["order", "label", "day", "is_baseline", "description"],
    extra=1,
    can_delete=False,
    labels={
        "order": "Order",
        "label": "Label",
        "day": "Study day",
        "is_baseline": "Baseline",
        "description": "Description",
    },
    help_texts={
        "label": "Short, e.g. T0.",
        "day": "Counted from Day 0 (the day of surgery).",
        "is_baseline": "The timepoint each animal's %MPE is measured from (T0 in the "
        "reference study): tick one.",
        "description": "e.g. 1 week after the first injection.",
    },
)


class AddAnimalsForm(forms.Form):
    codes = forms.CharField(
        label="Animal IDs",
        widget=forms.Textarea(
            attrs={
                "rows": 10,
                "placeholder": "R01, cage 1, male, 2026-06-15\nR02, cage 1, male, 8 wk\n"
                "R03, cage 2",
            }
        ),
        help_text=(
            "One animal per line: the ID, then optionally the cage, the sex (male or female) "
            "and the date of birth (YYYY-MM-DD, e.g. 2026-06-15) or the age on arrival in "
            "weeks (e.g. 8 wk, or just 8), separated by commas or tabs (paste straight from a "
            "spreadsheet). Leave a value empty to skip it, e.g. 'R04, cage 2, , 9 wk'."
        ),
    )


class AllocationForm(forms.Form):
    method = forms.ChoiceField(
        choices=[
            ("stratified", "Stratified by baseline threshold (balances T0 across groups)"),
            ("block", "Permuted blocks"),
            ("simple", "Simple (shuffled, equal group sizes)"),
        ]
    )
    seed = forms.IntegerField(
        min_value=0,
        max_value=2**62,
        help_text="Recorded with the allocation so the table can be re-derived. "
        "A random one is suggested; keep it.",
    )
    block_size = forms.IntegerField(
        min_value=2,
        max_value=60,
        required=False,
        help_text="Permuted blocks only: a multiple of the number of groups. Groups stay "
        "equal only when the number of animals is a multiple of the block size.",
    )
    reason = forms.CharField(
        label="Reason for re-allocating",
        max_length=300,
        required=False,
        help_text="Re-allocation only: kept in the history with your name; the earlier "
        "allocation stays on this page, marked superseded.",
    )


class PasswordConfirmForm(forms.Form):
    password = forms.CharField(
        label="Your password",
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text="Re-enter your password to sign this action.",
    )


class ReasonedPasswordForm(PasswordConfirmForm):
    reason = forms.CharField(max_length=300, widget=forms.TextInput)

    field_order = ["reason", "password"]


# ---------------------------------------------------------------------------
# The People page (labstudy.member_views)


class AddMemberForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.TECHNICIAN)


class ChangeRoleForm(forms.Form):
    membership = forms.IntegerField(min_value=1, max_value=2**31 - 1, widget=forms.HiddenInput)
    role = forms.ChoiceField(choices=Role.choices)


class RemoveMemberForm(forms.Form):
    membership = forms.IntegerField(min_value=1, max_value=2**31 - 1, widget=forms.HiddenInput)
    reason = forms.CharField(max_length=500, help_text="Kept in the study's history.")
