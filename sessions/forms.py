"""What the guided session screen posts: a tap, an undo, a session void."""

from django import forms

from labstudy.converters import MAX_ID

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
