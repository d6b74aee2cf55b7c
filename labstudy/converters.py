"""Path converters for the project's addresses."""

from django.urls import register_converter

MAX_ID = 2**63 - 1  # the largest id SQLite's and PostgreSQL's 64-bit integers hold


class IdConverter:
    """A database id in an address (``<id:pk>``), used instead of ``<int:>``: at most 18
    digits, so a longer number, which no database integer holds and which SQLite would
    refuse with an OverflowError, does not match and is a plain 404."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value) -> str:
        return str(int(value))


def register() -> None:
    register_converter(IdConverter, "id")
