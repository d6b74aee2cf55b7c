"""The average ranks the Hodges-Lehmann intervals' root finding uses (issue 17: one sort
instead of scipy.stats.rankdata per evaluation) are scipy's numbers exactly, ties
included, and so are the tie counts the variance correction takes."""

import numpy as np
from scipy import stats as sstats

from analysis.hodges_lehmann import _ranks


def test_ranks_and_tie_counts_equal_scipy_rankdata():
    rng = np.random.default_rng(17)
    for _ in range(2000):
        size = int(rng.integers(1, 60))
        levels = int(rng.integers(1, 15))
        values = rng.integers(-levels, levels + 1, size=size) * rng.choice([1.0, 0.5, 0.1])
        ranks, counts = _ranks(values)
        expected = sstats.rankdata(values)  # method="average", R's rank(ties = "average")
        assert np.array_equal(ranks, expected), values
        assert np.array_equal(counts, np.unique(expected, return_counts=True)[1]), values


def test_ranks_of_a_known_vector():
    # R: rank(c(3, 1, 4, 1, 5)) = 3.0 1.5 4.0 1.5 5.0
    ranks, counts = _ranks(np.array([3.0, 1.0, 4.0, 1.0, 5.0]))
    assert ranks.tolist() == [3.0, 1.5, 4.0, 1.5, 5.0]
    assert sorted(counts.tolist()) == [1, 1, 1, 2]
