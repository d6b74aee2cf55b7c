"""The baseline of the tap benchmark: a bare authenticated view rendering a constant
template. Routed only by bench/urls.py (the URLconf of bench/settings.py), so it exists in
benchmark runs and never in the product. It goes through the same middleware as a tap
(session, user, CSRF, CSP, ...) but reads nothing else and writes nothing.
"""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


@login_required
def bench_baseline(request: HttpRequest) -> HttpResponse:
    return render(request, "bench_baseline.html")
