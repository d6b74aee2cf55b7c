"""Settings for benchmark runs: the product's settings (labstudy.settings, read from the
same LABSTUDY_* environment) plus the benchmark-only URLconf, which adds /bench-baseline/.

bench/_server.py starts gunicorn with DJANGO_SETTINGS_MODULE=bench.settings and
bench/_db.py sets it in-process. The product never imports this module.
"""

from labstudy.settings import *  # noqa: F403
from labstudy.settings import BASE_DIR, TEMPLATES

ROOT_URLCONF = "bench.urls"
# A new list: the product's TEMPLATES stay as they are in a process that imports both.
TEMPLATES = [
    {**TEMPLATES[0], "DIRS": [*TEMPLATES[0]["DIRS"], BASE_DIR / "bench" / "templates"]},
    *TEMPLATES[1:],
]
