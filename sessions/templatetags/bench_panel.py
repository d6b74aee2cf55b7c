"""The bench panel's pickers, drawn once per process for each filament set.

The "different filament" and note pickers are the same in every panel of a filament set
(a set never changes once made), yet drawing their ~25 inputs was over a third of the
panel's template time, on every tap. Each picker is keyed on what it shows, so a set
with other filaments gets its own; with DEBUG on it is drawn every time, so an edited
template shows at once under the development server.
"""

from functools import lru_cache

from django import template
from django.conf import settings
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

register = template.Library()


@register.simple_tag
def filament_picker(filaments) -> SafeString:
    """The radio buttons of the filaments, `filaments` as (size, grams label) pairs."""
    return _drawn("sessions/_bench_filament_picker.html", "filaments", tuple(filaments))


@register.simple_tag
def note_picker(notes) -> SafeString:
    """The checkboxes of the usual notes."""
    return _drawn("sessions/_bench_note_picker.html", "notes", tuple(notes))


def _drawn(template_name: str, name: str, items: tuple) -> SafeString:
    if settings.DEBUG:
        return render_to_string(template_name, {name: items})
    return _cached(template_name, name, items)


@lru_cache(maxsize=64)
def _cached(template_name: str, name: str, items: tuple) -> SafeString:
    return render_to_string(template_name, {name: items})
