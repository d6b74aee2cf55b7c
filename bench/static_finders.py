"""The benchmark baseline's plotly.js: the full bundle from the installed plotly package.

Until issue 17 the results pages loaded this 4.8 MB bundle (every trace type plotly has);
they now load the vendored basic bundle (analysis.charts.PLOTLY_JS). bench/settings.py
adds this finder so bench_first_visit.py can serve the old page beside the new one in the
same run: it exposes only that one file at ``vendor/plotly-<version>/plotly.min.js``, for
runserver and ``collectstatic`` alike. The product never imports this module.
"""

from __future__ import annotations

from pathlib import Path

import plotly
from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage
from plotly.offline import get_plotlyjs_version

PLOTLY_DIR = Path(plotly.__file__).resolve().parent / "package_data"
PLOTLY_FILE = "plotly.min.js"
PLOTLY_PREFIX = f"vendor/plotly-{get_plotlyjs_version()}"
PLOTLY_JS = f"{PLOTLY_PREFIX}/{PLOTLY_FILE}"


class PlotlyJsFinder(BaseFinder):
    """Finds ``vendor/plotly-<version>/plotly.min.js`` and nothing else."""

    def check(self, **kwargs):
        from django.core.checks import Error

        if not (PLOTLY_DIR / PLOTLY_FILE).is_file():
            return [Error(f"plotly.js not found at {PLOTLY_DIR / PLOTLY_FILE}", id="bench.E001")]
        return []

    def find(self, path, find_all=False, **kwargs):
        find_all = find_all or kwargs.get("all", False)
        if path != PLOTLY_JS:
            return []
        match = str(PLOTLY_DIR / PLOTLY_FILE)
        return [match] if find_all else match

    def list(self, ignore_patterns):
        storage = FileSystemStorage(location=str(PLOTLY_DIR))
        storage.prefix = PLOTLY_PREFIX
        yield PLOTLY_FILE, storage
