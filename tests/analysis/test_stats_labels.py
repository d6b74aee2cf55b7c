"""Group, timepoint and animal labels are names, never code: the statistics of a study
whose labels look like formula syntax ('C(x)', 'T0 + 1', "Q('x')"), end in a backslash or
hold quotes or other alphabets are the statistics of the same study with plain labels.

The reference is our own output on plain labels, which tests/analysis/test_stats.py ties
to R; here only the labels change, so every number must stay the same.
"""

import numpy as np
import pandas as pd
import pytest

from analysis import stats

PLAIN_GROUPS = ["control", "K5", "K10"]
PLAIN_TIMEPOINTS = ["T0", "T1", "T2", "T3"]
DAYS = [7, 14, 21, 28]

# Hostile labels, paired with the plain ones position by position. In the first set they
# sort as the plain ones do (K10 < K5 < control; T0 < T1 < T2 < T3): patsy orders a
# factor's levels by sorting, so the design matrix is column for column the same and so
# is every number. In the second they sort in another order: the same model with its
# columns permuted, which the REML optimiser stops at within its tolerance.
HOSTILE = {
    "same-order": (["c(x) \\", "K5\\", "1"], ["1 T0\\", "2 Q('x')", "3 C(x)", "4 ü + T0"]),
    "other-order": (['a"b', "крыса\\", "鼠 [T.1]"], ["a:b", "]", "T.0", "'; 1"]),
}
MIXED_MODEL_RTOL = {"same-order": 1e-9, "other-order": 1e-5}


def plain_frame() -> pd.DataFrame:
    """3 groups x 5 animals x 4 timepoints, seeded; two animals miss a timepoint, so the
    mixed model (which keeps them) differs from the ANOVAs (which drop them)."""
    rng = np.random.default_rng(20261203)
    rows = []
    for g, group in enumerate(PLAIN_GROUPS):
        for a in range(5):
            animal = f"R{g}{a}"
            for t, tp in enumerate(PLAIN_TIMEPOINTS):
                if (g, a, t) in {(1, 2, 3), (2, 0, 1)}:
                    continue
                value = 10 + 0.8 * g * t + rng.normal(0, 3.0) + a
                rows.append(
                    {
                        "animal": animal,
                        "group": group,
                        "timepoint": tp,
                        "day": DAYS[t],
                        "value": value,
                    }
                )
    return pd.DataFrame(rows)


def relabel(frame: pd.DataFrame, groups, timepoints, animals) -> pd.DataFrame:
    return frame.assign(
        group=frame["group"].map(dict(zip(PLAIN_GROUPS, groups, strict=True))),
        timepoint=frame["timepoint"].map(dict(zip(PLAIN_TIMEPOINTS, timepoints, strict=True))),
        animal=frame["animal"].map(animals),
    )


def run(frame: pd.DataFrame, groups, timepoints) -> pd.DataFrame:
    return stats.study_statistics(
        frame,
        baseline=timepoints[0],
        control_group=groups[0],
        pairs=[(timepoints[3], timepoints[1])],
    )


@pytest.mark.parametrize("which", HOSTILE)
def test_hostile_labels_give_the_statistics_of_plain_labels(which):
    groups, timepoints = HOSTILE[which]
    plain = plain_frame()
    animals = {a: f"{a}\\ ü\"'" for a in plain["animal"].unique()}
    expected = run(plain, PLAIN_GROUPS, PLAIN_TIMEPOINTS)
    got = run(relabel(plain, groups, timepoints, animals), groups, timepoints)

    mixed = expected[expected["test"] == "mixed_model"]
    assert len(mixed) > 10  # the mixed model ran: per group, and group x time
    assert not mixed["statistic"].isna().any()
    assert got["statistic"].notna().sum() == expected["statistic"].notna().sum()

    back = {
        **dict(zip(groups, PLAIN_GROUPS, strict=True)),
        **dict(zip(timepoints, PLAIN_TIMEPOINTS, strict=True)),
        **{v: k for k, v in animals.items()},
        "": "",
    }
    assert len(got) == len(expected)
    for column in ("group", "timepoint", "a", "b"):
        mapped = got[column].fillna("").map(lambda v: back.get(v, v))
        assert mapped.tolist() == expected[column].fillna("").tolist(), column
    assert got["test"].tolist() == expected["test"].tolist()
    mixed_rows = (expected["test"] == "mixed_model").to_numpy()
    for column in ("statistic", "df", "p", "p_adj", "df2", "epsilon"):
        ours, plain = got[column].astype(float), expected[column].astype(float)
        np.testing.assert_allclose(
            ours[~mixed_rows], plain[~mixed_rows], rtol=1e-12, err_msg=column
        )
        np.testing.assert_allclose(
            ours[mixed_rows], plain[mixed_rows], rtol=MIXED_MODEL_RTOL[which], err_msg=column
        )


def test_mixed_model_alone_with_a_baseline_ending_in_a_backslash():
    """The case that used to raise inside patsy: the reference level 'T0\\'."""
    frame = plain_frame()
    timepoints = ["T0\\", "T1\\", "T2'", 'T3"']
    groups = ["ctrl\\", "K5'", "K10\\"]
    got = stats.mixed_model(
        relabel(frame, groups, timepoints, {a: a for a in frame["animal"].unique()}),
        baseline="T0\\",
        control_group="ctrl\\",
    )
    expected = stats.mixed_model(frame, baseline="T0", control_group="control")
    assert (got["note"].fillna("").str.contains("could not be fitted")).sum() == 0
    np.testing.assert_allclose(got["statistic"], expected["statistic"], rtol=1e-9)
    np.testing.assert_allclose(got["p"], expected["p"], rtol=1e-9)
    assert set(got["a"].dropna()) - {"time", "group:time"} == {"T1\\", "T2'", 'T3"', "K5'", "K10\\"}
