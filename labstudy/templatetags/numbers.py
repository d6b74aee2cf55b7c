"""Numbers as people entered them: a dose of 5 prints "5", not the column's "5.000"."""

from decimal import Decimal, InvalidOperation

from django import template

register = template.Library()


@register.filter
def plain(value) -> str:
    """A Decimal (or number) without trailing zeros; empty for None."""
    if value is None or value == "":
        return ""
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    if not number.is_finite():
        return str(value)
    return format(number.normalize(), "f")
