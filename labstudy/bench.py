"""The date a bench page shows and its day switcher, shared by every bench screen (von Frey
in sessions, doses, weights and observations in animals).

Study core: it knows studies and who may see which day (labstudy.access), and must not
import the recording apps, so both of them can use it without importing each other's views.
"""

import datetime as dt
from urllib.parse import quote

from django.contrib import messages
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from labstudy.access import HIDDEN_WHILE_BLINDED, StudyAccess
from labstudy.models import Study

# How far from the study's first and last day a bench page may be opened: browsing the
# days around a study is fine, the end of the calendar is not (its next day overflows).
BENCH_DATE_SLACK = dt.timedelta(days=366)


def bench_date(request: HttpRequest, access: StudyAccess | None = None) -> dt.date:
    """The day a bench page shows: `?date=YYYY-MM-DD`, or today.

    A date more than a year outside the study's days (with `access`), or outside
    1900-2999 (without), shows today with a message instead. A blinded bench role asking
    for an earlier day gets today, with a message saying why (`StudyAccess.sees_day`).
    """
    raw = request.GET.get("date", "").strip()
    today = timezone.localdate()
    if raw:
        try:
            date = dt.date.fromisoformat(raw)
        except ValueError:
            messages.warning(request, f"'{raw}' is not a date like 2026-11-25; showing today.")
            return today
        first, last = dt.date(1900, 1, 1), dt.date(2999, 12, 31)
        where = "the dates a bench page can show (1900 to 2999)"
        if access is not None:
            study = access.study
            start, end = study.date_of_day(study.first_day), study.date_of_day(study.last_day)
            first, last = max(first, start - BENCH_DATE_SLACK), min(last, end + BENCH_DATE_SLACK)
            where = f"this study ({start:%d %b %Y} to {end:%d %b %Y}, give or take a year)"
        if not (first <= date <= last or date == today):
            messages.warning(request, f"'{raw}' is outside {where}; showing today.")
        elif access is None or access.sees_day(date):
            return date
        else:
            messages.warning(request, f"{HIDDEN_WHILE_BLINDED} Showing today.")
    return today


def _shifted(date: dt.date, days: int) -> dt.date:
    """`date` moved by `days`, staying put at the ends of the calendar."""
    try:
        return date + dt.timedelta(days=days)
    except OverflowError:
        return date


def day_links(
    study: Study, date: dt.date, url_name: str, access: StudyAccess | None = None
) -> dict:
    """Previous/next day and today links for a bench page's date switcher (no previous day
    for someone who may not open it)."""
    base = reverse(url_name, args=[study.slug])
    today = timezone.localdate()
    previous = _shifted(date, -1)
    return {
        "date": date,
        "study_day": study.day_of_date(date),
        "is_today": date == today,
        "prev": f"{base}?date={previous.isoformat()}"
        if access is None or access.sees_day(previous)
        else "",
        "next": f"{base}?date={_shifted(date, 1).isoformat()}",
        "today": base,
        "base": base,
    }


# How a queued bench entry (bench-queue.js, header X-Bench-Client) learns what became of
# it: the outcome in X-Bench-Result ("created", "duplicate", "conflict:<why>", "invalid")
# and the message a person reads in X-Bench-Message (percent-encoded UTF-8, as a header
# cannot carry every character). An entry refused for good answers 409 (400 for a form
# that cannot be read), so the tablet moves it to its "not saved" list, never retries it.
QUEUE_STATUS = {"created": 200, "duplicate": 200, "invalid": 400}


def answer_queued(request: HttpRequest, response, *, result: str, message: str):
    """Mark `response` with a queued entry's outcome; unchanged for a plain form post."""
    if not request.headers.get("X-Bench-Client"):
        return response
    response.status_code = QUEUE_STATUS.get(result, 409)
    response["X-Bench-Result"] = result
    response["X-Bench-Message"] = quote(message, safe=" .,:;()'")
    return response
