"""Form widgets shared by every app's forms."""

from django import forms

ISO_DATE = "%Y-%m-%d"


class DateInput(forms.DateInput):
    """A browser date picker. `<input type="date">` only shows a value written as ISO
    YYYY-MM-DD; the site's locale (en-gb) would render 07/12/2026, which the browser
    discards, so the field looks empty and a save without retyping it fails."""

    input_type = "date"

    def __init__(self, attrs=None, format=None):
        super().__init__(attrs=attrs, format=format or ISO_DATE)
