"""Forms behind the bench's dosing, weights and observations screens."""

from django import forms

from animals.models import Observation
from animals.services import OBSERVATION_PICKS


class DayForm(forms.Form):
    date = forms.DateField()


class DoseForm(DayForm):
    status = forms.ChoiceField(choices=[(s, s) for s in ("given", "missed", "refused")])
    reason = forms.CharField(max_length=300, required=False)


class VoidForm(DayForm):
    reason = forms.CharField(max_length=300)


class WeightForm(DayForm):
    grams = forms.CharField(max_length=20)
    confirm = forms.BooleanField(required=False)


class ObservationForm(DayForm):
    animal = forms.IntegerField()
    terms = forms.MultipleChoiceField(choices=[(t, t) for t in OBSERVATION_PICKS], required=False)
    severity = forms.ChoiceField(choices=Observation.Severity.choices, required=False)
    notes = forms.CharField(max_length=1000, required=False)
