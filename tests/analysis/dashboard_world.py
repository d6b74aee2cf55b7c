"""Moved to tests/worlds.py, where every builder is declared once; these names stay
importable from here for test modules written before the move."""

from tests.worlds import NEVER, add_animals, bulk_study, record, series_to

__all__ = ["NEVER", "add_animals", "bulk_study", "record", "series_to"]
