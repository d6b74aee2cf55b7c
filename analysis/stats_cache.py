"""Statistics computed once per state of the data: a cache keyed on what they are made of.

`analysis.inputs.study_statistics` and `mixed_model_statistics` look their result up
here before computing it. The key is not a version that every write must remember to
bump: it is a digest of the very inputs the statistics take, so no write path can be
forgotten and a stale number cannot be served:

- the study's id, the outcome and the long frame the tests read (animal, group,
  timepoint, day, value: every tap, undo, void, import, exclusion, allocation or design
  edit that changes a number changes this frame);
- the imported thresholds without stimuli (their animal, group, timepoint: the rows'
  notes count them);
- the reference (baseline, control), the study's alpha, post-hoc, comparison family and
  basis, the usable pairs and the mixed-model switch;
- the code: a digest of every module in `analysis/` and the versions of the libraries
  the numbers come from, so a deploy with new statistics never serves old ones.

Role-independent by construction: the inputs hold every group; who may see what (the
blinding) is applied by the callers after the lookup, as before. Reading the inputs
costs `analysis_inputs`' fixed number of queries; what the cache saves is the tests and
the model fits, the seconds.

The cache is Django's, alias `statistics` (settings.CACHES): a file cache by default,
Redis when LABSTUDY_CACHE_URL names one. If the cache cannot be reached the numbers are
computed as if it were empty: a slow number, never a wrong one or an error page.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

import pandas as pd
from django.core.cache import caches

log = logging.getLogger(__name__)

ALIAS = "statistics"
T = TypeVar("T")

_LIBRARIES = ("numpy", "pandas", "scipy", "statsmodels", "scikit-posthocs", "pingouin")


@lru_cache(maxsize=1)
def code_version() -> str:
    """A digest of the analysis package's source and the statistics libraries' versions."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).resolve().parent.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    for name in _LIBRARIES:
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            version = "-"
        digest.update(f"{name}={version}".encode())
    return digest.hexdigest()[:16]


def _frame_digest(frame: pd.DataFrame) -> bytes:
    """Columns, dtypes, row order and every value of `frame`."""
    head = repr((list(frame.columns), [str(t) for t in frame.dtypes], len(frame))).encode()
    if frame.empty:
        return head
    rows = pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()
    return head + rows


def key(kind: str, study_pk: int, frames: list[pd.DataFrame], settings: tuple) -> str:
    """The cache key of one result: `kind`, the study, a digest of `frames` and `settings`
    (a tuple with a stable repr) and the code version."""
    digest = hashlib.sha256()
    for frame in frames:
        digest.update(_frame_digest(frame))
        digest.update(b"|")
    digest.update(repr(settings).encode())
    return f"stats:{code_version()}:{kind}:{study_pk}:{digest.hexdigest()}"


def peek(cache_key: str):
    """The stored result under `cache_key`, or None (also when the cache is unreachable)."""
    try:
        return caches[ALIAS].get(cache_key)
    except Exception:  # noqa: BLE001 - an unreachable cache means computing, not failing
        log.warning("statistics cache unreachable; computing", exc_info=True)
        return None


def cached(cache_key: str, compute: Callable[[], T]) -> T:
    """The stored result under `cache_key`, or `compute()` stored there."""
    try:
        cache = caches[ALIAS]
        hit = cache.get(cache_key)
    except Exception:  # noqa: BLE001 - an unreachable cache means computing, not failing
        log.warning("statistics cache unreachable; computing", exc_info=True)
        return compute()
    if hit is not None:
        return hit
    value = compute()
    try:
        cache.set(cache_key, value)
    except Exception:  # noqa: BLE001
        log.warning("statistics cache could not store a result", exc_info=True)
    return value
