"""Vendored files are served gzipped under `make run` as in production: WhiteNoise (also
in development) sends a file's `.gz` sibling to a browser that accepts gzip, so each
sibling must be exactly its file, compressed, and every large file every page loads
must have one (bootstrap's CSS alone is 232 kB, 31 kB gzipped)."""

import gzip
import re
from pathlib import Path

from django.test import RequestFactory, override_settings
from whitenoise.middleware import WhiteNoiseMiddleware

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "static"


def test_every_vendored_gzip_sibling_is_its_file_compressed():
    siblings = sorted(STATIC.glob("vendor/**/*.gz"))
    assert len(siblings) >= 4
    for sibling in siblings:
        plain = sibling.with_suffix("")
        assert plain.is_file(), f"{sibling.name} has no uncompressed file"
        assert gzip.decompress(sibling.read_bytes()) == plain.read_bytes(), sibling.name
        assert sibling.stat().st_size < plain.stat().st_size / 2


def test_every_large_file_of_the_base_layout_has_a_gzip_sibling():
    base = (ROOT / "templates" / "base.html").read_text()
    loaded = re.findall(r"\{% static '([^']+\.(?:css|js))' %\}", base)
    assert "vendor/bootstrap-5.3.9/bootstrap.min.css" in loaded
    large = [name for name in loaded if (STATIC / name).stat().st_size > 20_000]
    assert large  # bootstrap's CSS and JS, htmx
    for name in large:
        assert (STATIC / f"{name}.gz").is_file(), name


@override_settings(WHITENOISE_AUTOREFRESH=True, WHITENOISE_USE_FINDERS=True)
def test_the_development_server_sends_the_gzip_sibling():
    # WhiteNoise's development mode (autorefresh, as under `make run`) looks a file up in
    # the finders on each request and answers with its .gz when the browser accepts gzip.
    name = "vendor/bootstrap-5.3.9/bootstrap.min.css"
    middleware = WhiteNoiseMiddleware(lambda request: None)
    response = middleware(RequestFactory().get(f"/static/{name}", HTTP_ACCEPT_ENCODING="gzip"))
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    body = b"".join(response.streaming_content)
    assert gzip.decompress(body) == (STATIC / name).read_bytes()
