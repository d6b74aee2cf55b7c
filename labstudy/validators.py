"""What an animal code or a timepoint label may contain: one rule, used by the set-up
forms (pasted animals, the timepoints editor), the study import and the admin (as model
field validators). Also the form field every typed decimal (doses, concentrations,
volumes, weights in the admin) goes through, which refuses what is not a finite number.

Codes end up in addresses, file names, chart legends and the statistics, and people read
them off cage cards: so letters, digits, spaces and a little punctuation
(``- _ . # ( ) +``), nothing invisible, no styled look-alikes, and letters from one
alphabet, so that two codes that look the same on the screen are the same code.

Pure Python (no database); it must not decide anything else about codes (uniqueness
lives in the models' constraints).
"""

import unicodedata
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from django import forms
from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible

PUNCTUATION = " -_.#()+"
PUNCTUATION_WORDS = "letters, digits, spaces and - _ . # ( ) +"

# Alphabets whose letters look like Latin ones (Cyrillic 'А', Greek 'Α', Armenian 'օ',
# Cherokee 'Ꭺ'): a code may use one of them, never two.
LOOKALIKE_SCRIPTS = ("LATIN", "CYRILLIC", "GREEK", "ARMENIAN", "CHEROKEE", "COPTIC")


def _name(ch: str) -> str:
    return unicodedata.name(ch, f"U+{ord(ch):04X}")


def _describe(ch: str) -> str:
    return f"U+{ord(ch):04X} {unicodedata.name(ch, 'unnamed character').lower()}"


def _script(ch: str) -> str | None:
    words = _name(ch).split()
    return words[0] if words and words[0] in LOOKALIKE_SCRIPTS else None


def shown(value: str) -> str:
    """`value` safe to quote in a message: invisible and control characters are written
    as <U+202E>, so a right-to-left override cannot reverse the message around it."""
    return "".join(
        f"<U+{ord(ch):04X}>"
        if unicodedata.category(ch) in ("Cf", "Cc", "Zl", "Zp")
        or (unicodedata.category(ch) == "Zs" and ch != " ")
        else ch
        for ch in value
    )


@lru_cache(maxsize=4096)  # an import checks the same few codes on every line
def code_problem(value: str, *, what: str = "code") -> str | None:
    """Why `value` cannot be a code (in plain words), or None when it can."""
    for ch in value:
        category = unicodedata.category(ch)
        if category in ("Cf", "Cc", "Zl", "Zp") or (category == "Zs" and ch != " "):
            return (
                f"the {what} contains an invisible or control character ({_describe(ch)}); "
                "such characters make two codes that look the same differ, or reverse the "
                f"text around them. Type the {what} again using {PUNCTUATION_WORDS}"
            )
    normal = unicodedata.normalize("NFKC", value)
    if normal != value:
        odd = next((ch for ch in value if unicodedata.normalize("NFKC", ch) != ch), value[0])
        plain = unicodedata.normalize("NFKC", odd)
        return (
            f"'{odd}' ({_describe(odd)}) is a styled or compatibility form of '{plain}'; "
            f"type the plain character so the {what} matches what people type"
        )
    if what == "timepoint label" and "-" in value:
        # A chosen comparison is written "T7-T4" (settings, import, exports): a label
        # holding '-' would make "T2-T1-T0" mean two different pairs.
        return (
            "'-' is not allowed in a timepoint label: it separates the two timepoints of a "
            "chosen comparison (T7-T4); use _ or a space instead"
        )
    for ch in value:
        category = unicodedata.category(ch)
        if category.startswith(("L", "M")) or category == "Nd" or ch in PUNCTUATION:
            continue
        return f"'{ch}' is not allowed in the {what}: use {PUNCTUATION_WORDS}"
    scripts = {s for s in map(_script, value) if s}
    if len(scripts) > 1:
        examples = ", ".join(
            f"'{ch}' is {_script(ch).title()}"
            for ch in dict.fromkeys(value)
            if _script(ch) and _script(ch) != "LATIN"
        )
        names = " and ".join(sorted(s.title() for s in scripts))
        return (
            f"the {what} mixes {names} letters ({examples}); letters that look alike but "
            "come from different alphabets would make two animals look like one. Type it "
            "again on one keyboard layout"
        )
    digit_systems = {
        _name(ch).split("DIGIT")[0] for ch in value if unicodedata.category(ch) == "Nd"
    }
    if len(digit_systems) > 1:
        return f"the {what} mixes digits from different number systems"
    if value.strip(" .") == "":
        return f"the {what} needs a letter or a digit"
    return None


@deconstructible
class CodeValidator:
    """Model field validator: refuses a code :func:`code_problem` finds fault with."""

    def __init__(self, what: str = "code"):
        self.what = what

    def __call__(self, value: str) -> None:
        problem = code_problem(value or "", what=self.what)
        if problem:
            raise ValidationError(problem[0].upper() + problem[1:] + ".", code="bad_code")

    def __eq__(self, other) -> bool:
        return isinstance(other, CodeValidator) and other.what == self.what


validate_animal_code = CodeValidator("animal code")
validate_timepoint_label = CodeValidator("timepoint label")


class FiniteDecimalField(forms.DecimalField):
    """Django's DecimalField takes 'sNaN' (which then fails every comparison, a 500 when
    the form checks what changed) and '-0'. Refused here, before anything compares them."""

    def to_python(self, value):
        if isinstance(value, str) and value.strip() not in self.empty_values:
            text = value.strip()
            try:
                number = Decimal(text)
            except (InvalidOperation, ValueError):
                raise ValidationError(self.error_messages["invalid"], code="invalid") from None
            if not number.is_finite():
                raise ValidationError(
                    f"'{text[:20]}' is not a number; enter one such as 10 or 2.5.", code="invalid"
                )
            if number.is_zero() and number.is_signed():
                raise ValidationError("Enter 0 without a minus sign.", code="invalid")
        return super().to_python(value)


def finite_decimals(field, **kwargs):
    """formfield_callback for model forms: decimals through :class:`FiniteDecimalField`."""
    from django.db import models

    if isinstance(field, models.DecimalField):
        kwargs.setdefault("form_class", FiniteDecimalField)
    return field.formfield(**kwargs)


# For ModelAdmin.formfield_overrides.
ADMIN_DECIMALS = {"form_class": FiniteDecimalField}
