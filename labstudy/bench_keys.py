"""The keys that record a tap on the guided von Frey screen: a keyboard, a USB or
Bluetooth foot pedal or a presentation clicker (all of them send key presses).

A study stores, per action, one or more key names as the browser reports them
(`KeyboardEvent.key`), separated by spaces. Only the names listed here are accepted: keys
a pedal or clicker can send and that do nothing harmful in the browser when the bench
screen takes them over (no Tab, no F5, no Escape). Pure: no database, no Django models.
"""

from __future__ import annotations

import string

from django.core.exceptions import ValidationError

ACTIONS = (
    ("withdrawal", "Withdrawal"),
    ("no_response", "No response"),
    ("undo", "Undo"),
)
DEFAULTS = {
    # Presentation clickers send PageDown/PageUp (or the arrows) for next/back and "b" or
    # "." for the blank-screen button; foot pedals can be set to any of these.
    "withdrawal": "PageDown ArrowRight",
    "no_response": "PageUp ArrowLeft",
    "undo": "b .",
}
MAX_KEYS_PER_ACTION = 4

_NAMED = {
    "PageDown": "Page Down",
    "PageUp": "Page Up",
    "ArrowRight": "→ (right arrow)",
    "ArrowLeft": "← (left arrow)",
    "ArrowUp": "↑ (up arrow)",
    "ArrowDown": "↓ (down arrow)",
    "Enter": "Enter",
    "Space": "Space bar",
    "Home": "Home",
    "End": "End",
    "AudioVolumeUp": "Volume up",
    "AudioVolumeDown": "Volume down",
}
_PUNCTUATION = ".,/;-="
ALLOWED: dict[str, str] = {
    **{name.lower(): name for name in _NAMED},
    **{c: c for c in string.ascii_lowercase + string.digits + _PUNCTUATION},
}


def allowed_text() -> str:
    return "a single letter or digit, one of . , / ; - =, or " + ", ".join(name for name in _NAMED)


def parse(text: str, *, label: str) -> list[str]:
    """The key names in `text` (spaces or commas between them), each in its canonical
    spelling; ValidationError naming `label` and the first bad name."""
    if text is None:
        text = ""
    # Spaces or commas separate names; a lone "," is the comma key itself.
    parts: list[str] = []
    for word in text.split():
        parts += [word] if word == "," else [p for p in word.split(",") if p]
    if not parts:
        raise ValidationError(f"{label}: give at least one key.")
    keys: list[str] = []
    for part in parts:
        name = ALLOWED.get(part.lower())
        if name is None:
            shown = (
                part
                if len(part) <= 20 and part.isprintable()
                else part[:20].encode("unicode_escape").decode("ascii") + "…"
            )
            raise ValidationError(
                f"{label}: '{shown}' is not a key name this screen accepts; use {allowed_text()}."
            )
        if name not in keys:
            keys.append(name)
    if len(keys) > MAX_KEYS_PER_ACTION:
        raise ValidationError(f"{label}: at most {MAX_KEYS_PER_ACTION} keys.")
    return keys


def parse_all(values: dict[str, str]) -> dict[str, list[str]]:
    """Every action's keys; a key given to two actions is refused (message per field)."""
    errors: dict[str, list[str]] = {}
    keys: dict[str, list[str]] = {}
    for action, label in ACTIONS:
        try:
            keys[action] = parse(values.get(action, ""), label=label)
        except ValidationError as exc:
            errors[field_name(action)] = exc.messages
    seen: dict[str, str] = {}
    for action, label in ACTIONS:
        for key in keys.get(action, []):
            if key in seen:
                errors.setdefault(field_name(action), []).append(
                    f"{label}: '{key}' is already the key for {seen[key]}; each key does one thing."
                )
            else:
                seen[key] = label
    if errors:
        raise ValidationError(errors)
    return keys


def field_name(action: str) -> str:
    return f"bench_keys_{action}"


def normalized(text: str, *, label: str) -> str:
    return " ".join(parse(text, label=label))


_PUNCTUATION_NAMES = {
    ".": "full stop (.)",
    ",": "comma (,)",
    "/": "slash (/)",
    ";": "semicolon (;)",
    "-": "minus (-)",
    "=": "equals (=)",
}


def label(key: str) -> str:
    """How the screen names a key: "Page Down", "→ (right arrow)", "B", "full stop (.)"."""
    return _NAMED.get(key) or _PUNCTUATION_NAMES.get(key) or key.upper()


def study_keys(study) -> dict[str, list[str]]:
    """The study's keys per action; the defaults where a stored value is unusable."""
    out = {}
    for action, name in ACTIONS:
        try:
            out[action] = parse(getattr(study, field_name(action), "") or "", label=name)
        except ValidationError:
            out[action] = DEFAULTS[action].split()
    return out
