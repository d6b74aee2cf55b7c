"""Production static files: `collectstatic` with the production settings succeeds and
writes WhiteNoise's compressed, hashed files (the vendored files' source-map comments
name .map files we do not ship; they must not break it)."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "LABSTUDY_ENV": "production",
    "LABSTUDY_SECRET_KEY": "k3@x!9vQz#Lm2Rt7Yp$Wn5Bc8Hd4Jf6Gs1Ka0Ue-Ti_Ro+Pl=Mq%Nv^Xw&Zy*",
    "LABSTUDY_ALLOWED_HOSTS": "labstudy.example.org",
    "LABSTUDY_CSRF_TRUSTED_ORIGINS": "https://labstudy.example.org",
    "DATABASE_URL": "postgres://labstudy:secret@127.0.0.1:5432/labstudy",  # not connected to
}


def test_collectstatic_with_production_settings(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABSTUDY_")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(PRODUCTION_ENV, LABSTUDY_STATIC_ROOT=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    manifest = json.loads((tmp_path / "staticfiles.json").read_text())["paths"]
    for name in (
        "vendor/bootstrap-5.3.9/bootstrap.min.css",
        "css/labstudy.css",
        "js/bench-queue.js",
    ):
        hashed = manifest[name]
        assert hashed != name
        assert (tmp_path / hashed).is_file()
        assert (tmp_path / f"{hashed}.gz").is_file()  # WhiteNoise serves it compressed
    # plotly.js is the vendored basic bundle; the full 4.8 MB one is no longer shipped.
    plotly = manifest["vendor/plotly-basic-4.1.1/plotly-basic.min.js"]
    assert (tmp_path / f"{plotly}.gz").stat().st_size < 500_000
    assert not any(path.endswith("/plotly.min.js") for path in manifest)
