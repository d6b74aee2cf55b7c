"""The Connect a tablet page and the certificate a tablet installs.

The page shows the addresses `make lan` serves on (settings.LABSTUDY_LAN_URLS) as QR codes
a tablet's camera opens, and a QR code of the certificate download. The certificate is the
public half of this computer's certificate authority, so it is served to anyone, signed in
or not: a tablet fetches it before anyone signs in on it. The private keys beside it are
never served (no URL names them).
"""

from pathlib import Path

import segno
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_safe

from labstudy.access import can_connect_tablets
from lan.certificates import CA_CERT


def _qr(text: str) -> str:
    return segno.make(text, error="m").svg_data_uri(scale=6, border=2, title=text)


def _ca_path() -> Path:
    return Path(settings.LABSTUDY_LAN_DIR) / CA_CERT


@login_required
@require_GET
def connect_tablet(request: HttpRequest) -> HttpResponse:
    if not can_connect_tablets(request.user):
        raise PermissionDenied
    ca_path = reverse("lan_ca_certificate")
    addresses = [
        {
            "url": url,
            "qr": _qr(url),
            "ca_url": url.rstrip("/") + ca_path,
            "ca_qr": _qr(url.rstrip("/") + ca_path),
        }
        for url in settings.LABSTUDY_LAN_URLS
    ]
    return render(
        request,
        "lan/connect.html",
        {
            "addresses": addresses,
            "has_ca": _ca_path().is_file(),
            "secure": request.is_secure(),
        },
    )


@require_safe  # HEAD too: some download managers ask before they fetch
def ca_certificate(request: HttpRequest) -> FileResponse:
    path = _ca_path()
    if not path.is_file():
        raise Http404("This computer has no certificate yet: it is made by make lan.")
    return FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=CA_CERT,
        content_type="application/x-x509-ca-cert",
    )
