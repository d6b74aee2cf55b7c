"""Excluded animals leave the statistics; animals that died keep their data."""

import pandas as pd

from analysis.frames import analysis_frame


def _sessions(status_by_animal):
    rows = []
    for animal, status in status_by_animal.items():
        for tp, day, g in (("T0", 7, 10.0), ("T1", 14, 60.0)):
            rows.append(
                {"animal": animal, "group": "K10", "timepoint": tp, "day": day, "paw": "right",
                 "threshold_g": g, "animal_status": status}
            )  # fmt: skip
    return pd.DataFrame(rows)


def test_excluded_animals_are_left_out_and_dead_ones_kept():
    frame = analysis_frame(_sessions({"R01": "active", "R02": "excluded", "R03": "died"}))
    assert sorted(frame["animal"].unique()) == ["R01", "R03"]
    assert len(frame) == 4
    assert frame.columns.tolist() == ["animal", "group", "timepoint", "day", "value"]
