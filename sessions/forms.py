"""What the guided session screen posts (a tap, an undo, a session void) and the import's
upload form."""

from django import forms

from labstudy.converters import MAX_ID
from labstudy.models import Study

NOTE_PICKS = ("ambulated", "guarding", "licking", "flinching", "moved before the stimulus")


class TapForm(forms.Form):
    client_uuid = forms.UUIDField()
    withdrew = forms.TypedChoiceField(
        choices=(("1", "Withdrawal"), ("0", "No response")), coerce=lambda v: v == "1"
    )
    filament = forms.CharField(max_length=8)
    # A filament picked from the full set instead of the suggested one (an override).
    pick = forms.CharField(max_length=8, required=False)
    session = forms.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    after = forms.UUIDField(required=False)
    note_pick = forms.MultipleChoiceField(choices=[(n, n) for n in NOTE_PICKS], required=False)
    note = forms.CharField(max_length=200, required=False)

    def filament_size(self) -> str:
        """The filament applied; the service marks it an override when not the suggested one."""
        return self.cleaned_data["pick"].strip() or self.cleaned_data["filament"]

    def note_text(self) -> str:
        parts = [*self.cleaned_data["note_pick"], self.cleaned_data["note"].strip()]
        return "; ".join(p for p in parts if p)[:200]


class UndoForm(forms.Form):
    session = forms.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    target = forms.UUIDField(required=False)


class VoidSessionForm(forms.Form):
    session = forms.IntegerField(min_value=1, max_value=MAX_ID)
    reason = forms.CharField(max_length=300)


class UploadForm(forms.Form):
    file = forms.FileField(
        label="CSV or Excel file",
        help_text=(
            "A stimuli table (the stimuli export's format) or a thresholds-only table: CSV, "
            "Excel's Unicode text, or an Excel workbook (.xlsx)."
        ),
        widget=forms.ClearableFileInput(
            attrs={
                "accept": ".csv,.txt,.tsv,.xlsx,text/csv,text/plain,"
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        ),
    )
    sheet = forms.CharField(
        label="Sheet (Excel workbooks)",
        required=False,
        max_length=100,
        help_text="Optional: the sheet's name as on its tab; empty reads the first sheet.",
    )
    # The study's analysis settings, which a CSV does not carry (as import_study's --alpha,
    # --posthoc, --pairs); empty keeps the study's. Applied while the study is in planning.
    alpha = forms.FloatField(
        label="Significance level (alpha)",
        required=False,
        min_value=0.0001,
        max_value=0.5,
        help_text="Optional; empty keeps the study's.",
    )
    posthoc = forms.ChoiceField(
        label="Between-group post-hoc test",
        required=False,
        choices=[("", "keep the study's"), *Study.Posthoc.choices],
    )
    pairs = forms.CharField(
        label="Chosen timepoint comparisons",
        required=False,
        max_length=200,
        help_text="Optional, e.g. T7-T4 or T7-T4,T5-T1; the timepoints must be in the file.",
    )

    def options(self) -> dict:
        """import_study_csv's alpha, posthoc and pairs; None where left empty."""
        data = self.cleaned_data
        return {
            "alpha": data.get("alpha"),
            "posthoc": data.get("posthoc") or None,
            "pairs": (data.get("pairs") or "").strip() or None,
            "sheet": (data.get("sheet") or "").strip() or None,
        }
