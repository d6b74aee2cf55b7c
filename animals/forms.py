"""Forms behind the bench's dosing, weights and observations screens."""

import datetime as dt

from django import forms

from animals.models import Animal, Observation
from animals.services import OBSERVATION_PICKS
from labstudy.converters import MAX_ID
from labstudy.widgets import DateInput

# The calendar a bench record may be dated in. Whether a date is inside the study is
# the services' rule; this only keeps the ends of the calendar (year 1, year 9999, whose
# next day does not exist) away from the pages and the database.
EARLIEST_DATE = dt.date(1900, 1, 1)
LATEST_DATE = dt.date(2999, 12, 31)


class DayForm(forms.Form):
    date = forms.DateField()

    def clean_date(self) -> dt.date:
        date = self.cleaned_data["date"]
        if not EARLIEST_DATE <= date <= LATEST_DATE:
            raise forms.ValidationError(
                f"Date: {date.isoformat()} is outside the dates the bench records "
                f"({EARLIEST_DATE.year} to {LATEST_DATE.year}); check the year."
            )
        return date


class DoseForm(DayForm):
    status = forms.ChoiceField(choices=[(s, s) for s in ("given", "missed", "refused")])
    reason = forms.CharField(max_length=300, required=False)
    # The mark's id, made by the tablet's queue: a mark replayed is stored once. Optional:
    # a page without the queue's script still saves (once, by the one-live-dose rule).
    client_uuid = forms.UUIDField(required=False)


class VoidForm(DayForm):
    reason = forms.CharField(max_length=300)


class WeightForm(DayForm):
    grams = forms.CharField(max_length=20)
    confirm = forms.BooleanField(required=False)
    # The form's id, made when it is shown: a resent save is stored once. Optional so a
    # page cached before the field existed still saves.
    client_uuid = forms.UUIDField(required=False)


class ObservationForm(DayForm):
    animal = forms.IntegerField(min_value=1, max_value=MAX_ID)
    client_uuid = forms.UUIDField(required=False)
    terms = forms.MultipleChoiceField(choices=[(t, t) for t in OBSERVATION_PICKS], required=False)
    severity = forms.ChoiceField(choices=Observation.Severity.choices, required=False)
    notes = forms.CharField(max_length=1000, required=False)


class AnimalStatusForm(forms.Form):
    """The status control for data managers and investigators; the service checks dates."""

    status = forms.ChoiceField(
        label="New status",
        choices=[("", "— choose —"), *Animal.Status.choices],
        error_messages={"required": "New status is required: choose one."},
    )
    date = forms.DateField(
        label="Date",
        widget=DateInput,
        help_text="The day it happened: not in the future, not before the study's first day.",
        error_messages={
            "required": "Date is required: give the day the change happened.",
            "invalid": "Date: enter a date, e.g. 2026-09-14.",
        },
    )
    reason = forms.CharField(
        label="Reason",
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why the status changes, e.g. 'autotomy of the injured paw, humane end "
        "point'. Kept in the animal's audit trail.",
        error_messages={"required": "Reason is required: say why the status changes."},
    )
