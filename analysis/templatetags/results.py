"""Number formats for the results pages: one place decides how a value is printed."""

from __future__ import annotations

import math

from django import template

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
    """A p-value to three significant digits, in scientific form below 0.0001."""
    number = _number(value)
    if number is None:
        return DASH
    return f"{number:.2e}" if number < 1e-4 else f"{number:.3g}"


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


@register.filter
def effect(row) -> str:
    """A pairwise row's effect size: "285 (284 to 287)", estimate and 95 % interval in the
    values' unit, as `num` prints values; the estimate alone where there is no interval."""
    estimate = _number(row.get("estimate")) if hasattr(row, "get") else None
    if estimate is None:
        return ""
    low, high = _number(row.get("ci_low")), _number(row.get("ci_high"))
    if low is None or high is None:
        return format_value(estimate)
    return f"{format_value(estimate)} ({format_value(low)} to {format_value(high)})"
