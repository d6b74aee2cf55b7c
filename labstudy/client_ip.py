"""The client's address for login throttling (django-axes), behind trusted reverse proxies.

Each reverse proxy appends the address it received the request from to X-Forwarded-For,
so with LABSTUDY_PROXY_COUNT = N trusted proxies in front of the app the client is the
N-th entry from the right. Everything left of it was sent by the client and can be
forged, so it is never used. With N = 0 (no proxy, the default) the address is
REMOTE_ADDR and X-Forwarded-For is ignored.

Not django-ipware: its proxy-count mode wants a different header shape (it returns no
address at all for a single nginx that sends "X-Forwarded-For: <client>"), and without a
count it takes the left-most, client-written entry.
"""

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """The address axes counts failed sign-ins against."""
    remote = request.META.get("REMOTE_ADDR")
    count = settings.LABSTUDY_PROXY_COUNT
    if count <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    if len(forwarded) < count:
        # Did not pass through every proxy (or a proxy is misconfigured): throttle by the
        # address that reached us, which errs towards locking more, never less.
        return remote
    candidate = forwarded[-count]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote
