"""Reading the list of animals pasted on the set-up's Add animals page: one line per
animal, 'code[, cage[, sex[, date of birth or age]]]', tab, comma or semicolon separated.

Pure text in, field values out (or every problem with its line number); it reads and writes
nothing in the database. animals.services.add_animals stores what it returns.
"""

import datetime as dt
import re

from django.core.exceptions import ValidationError
from django.utils import timezone

from labstudy.validators import code_problem, shown

_SPLIT = re.compile(r"\s*[\t,;]\s*")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_AGE_WEEKS = re.compile(r"^(\d+)\s*(?:w|wk|wks|week|weeks)?\.?$", re.IGNORECASE)
MAX_AGE_WEEKS = 200
BORN_COLUMN = "column 4 (date of birth or age)"


def parse_birth(text: str, *, today: dt.date) -> dict:
    """The optional 4th column: a date of birth (YYYY-MM-DD) or an age at arrival in whole
    weeks ('8', '8 wk', '8 weeks'). Returns the Animal fields to set; raises ValueError
    with the reason, which the caller prefixes with the line and column."""
    text = text.strip()
    if not text:
        return {}
    if _ISO_DATE.match(text):
        try:
            born = dt.date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"'{text}' is not a real date") from None
        if born > today:
            raise ValueError(f"date of birth {text} is in the future")
        return {"date_of_birth": born}
    age = _AGE_WEEKS.match(text)
    if age is None:
        raise ValueError(
            f"'{text}' is neither a date of birth (YYYY-MM-DD, e.g. 2026-06-15) "
            "nor an age in whole weeks (e.g. 8 wk)"
        )
    weeks = int(age.group(1))
    if not 1 <= weeks <= MAX_AGE_WEEKS:
        raise ValueError(f"age {weeks} weeks is outside 1–{MAX_AGE_WEEKS} weeks")
    return {"age_at_arrival_weeks": weeks}


# Column titles a spreadsheet's header row carries; a pasted line made of them is a header,
# not an animal called "Animal".
_HEADER_WORDS = {
    "animal", "animals", "animal id", "animal_id", "animal code", "animal_code", "id", "code",
    "rat", "rat id", "mouse", "mouse id", "subject", "subject id", "ear tag", "tag",
    "cage", "cage id", "cage no", "cage number", "box",
    "sex", "gender",
    "dob", "date of birth", "birth date", "birthdate", "born", "age", "age (weeks)",
    "age (wk)", "age in weeks", "age on arrival", "weeks",
}  # fmt: skip


_HEADER_CHARS = re.compile(r"[^a-z ()_]")


def _looks_like_header(parts: list[str]) -> bool:
    cells = [_HEADER_CHARS.sub("", p.lower()).strip() for p in parts if p.strip()]
    return (
        bool(cells)
        and cells[0] in _HEADER_WORDS
        and (len(cells) == 1 or any(cell in _HEADER_WORDS for cell in cells[1:]))
    )


def parse_animal_lines(text: str) -> list[dict]:
    """Parse pasted lines 'code[, cage[, sex[, date of birth or age]]]' (tab, comma or
    semicolon separated).

    Blank lines are skipped; every problem is reported with its line number.
    """
    rows, errors = [], []
    seen: dict[str, int] = {}
    today = timezone.localdate()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        parts = _SPLIT.split(line)
        if _looks_like_header(parts):
            titles = ", ".join(p.strip() for p in parts if p.strip())
            errors.append(
                f"line {number} looks like a header row ({titles}): remove it or keep it "
                "out of the selection"
            )
            continue
        code = parts[0].strip()
        cage = parts[1].strip() if len(parts) > 1 else ""
        sex = parts[2].strip().lower() if len(parts) > 2 else ""
        if len(parts) > 4:
            errors.append(
                f"line {number}: expected at most 4 values (code, cage, sex, date of birth "
                f"or age) but found {len(parts)}"
            )
            continue
        if not code:
            errors.append(f"line {number}: the animal code is empty")
            continue
        if len(code) > 30:
            errors.append(f"line {number}: animal code '{code[:30]}…' is longer than 30 characters")
            continue
        problem = code_problem(code, what="animal code")
        if problem:
            errors.append(f"line {number}, animal code '{shown(code)}': {problem}")
            continue
        if len(cage) > 30:
            errors.append(f"line {number}: cage '{cage[:30]}…' is longer than 30 characters")
            continue
        if sex and sex not in ("male", "female", "m", "f"):
            errors.append(f"line {number}: sex '{sex}' must be male or female")
            continue
        try:
            born = parse_birth(parts[3], today=today) if len(parts) > 3 else {}
        except ValueError as exc:
            errors.append(f"line {number}, {BORN_COLUMN}: {exc}")
            continue
        if code in seen:
            errors.append(f"line {number}: animal code '{code}' repeats line {seen[code]}")
            continue
        seen[code] = number
        rows.append(
            {
                "line": number,
                "code": code,
                "cage": cage,
                "sex": {"m": "male", "f": "female"}.get(sex, sex),
                **born,
            }
        )
    if errors:
        raise ValidationError({"codes": errors})
    if not rows:
        raise ValidationError({"codes": ["Paste at least one animal code."]})
    return rows
