"""Settings for benchmark runs: the product's settings (labstudy.settings, read from the
same LABSTUDY_* environment) plus the benchmark-only URLconf, which adds /bench-baseline/.

bench/_server.py starts gunicorn with DJANGO_SETTINGS_MODULE=bench.settings and
bench/_db.py sets it in-process. The product never imports this module.
"""

from django.conf import global_settings

from labstudy.settings import *  # noqa: F403
from labstudy.settings import BASE_DIR, TEMPLATES

ROOT_URLCONF = "bench.urls"
# A new list: the product's TEMPLATES stay as they are in a process that imports both.
TEMPLATES = [
    {**TEMPLATES[0], "DIRS": [*TEMPLATES[0]["DIRS"], BASE_DIR / "bench" / "templates"]},
    *TEMPLATES[1:],
]

# bench_first_visit.py's baseline: the results pages as they were before issue 17, loading
# the full plotly.js bundle from the plotly package. The finder serves that file (runserver
# and collectstatic alike); a request carrying the cookie `bench_plotly=full` gets the page
# with its plotly.js URL swapped for the full bundle's (bench/baseline.py). Without the
# cookie every page is the product's.
STATICFILES_FINDERS = [
    *global_settings.STATICFILES_FINDERS,
    "bench.static_finders.PlotlyJsFinder",
]
MIDDLEWARE = [*MIDDLEWARE, "bench.baseline.FullPlotlyBaseline"]  # noqa: F405
