"""Number formats for the results pages: one place decides how a value is printed."""

from __future__ import annotations

import math

from django import template

from analysis import presentation
from analysis.charts import format_value

register = template.Library()
DASH = "–"


def _number(value) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


@register.filter
def num(value) -> str:
    """Grams, %MPE, means: as `analysis.charts.format_value` (the chart hover text)."""
    return format_value(_number(value))


@register.filter
def stat(value) -> str:
    """A test statistic to four significant digits; infinite F prints as ∞."""
    if value is not None and isinstance(value, float) and math.isinf(value):
        return "∞"
    number = _number(value)
    return DASH if number is None else f"{number:.4g}"


@register.filter
def pval(value) -> str:
    """A p-value to three significant digits, "< 0.0001" below 0.0001
    (`analysis.presentation.p_text`)."""
    return presentation.p_text(value)


@register.filter
def dfs(row) -> str:
    """Degrees of freedom of a stats row: "2", "7, 28" or "1.42, 5.68" (corrected)."""
    parts = []
    for key in ("df", "df2"):
        number = _number(row.get(key)) if hasattr(row, "get") else None
        if number is not None:
            parts.append(f"{number:.0f}" if number.is_integer() else f"{number:.2f}")
    return ", ".join(parts) or DASH


@register.filter
def percent(value) -> str:
    number = _number(value)
    return DASH if number is None else f"{number:.0f} %"
