"""The baseline of the tap benchmark: a bare authenticated view rendering a constant
template. Routed only when LABSTUDY_BENCH=1 (see labstudy/urls.py), so it exists in
benchmark runs and nowhere else. It goes through the same middleware as a tap (session,
user, CSRF, CSP, ...) but reads nothing else and writes nothing.
"""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


@login_required
def bench_baseline(request: HttpRequest) -> HttpResponse:
    return render(request, "labstudy/bench_baseline.html")
