"""Baselines that exist only under bench/settings.py, never in the product.

`bench_baseline`: the baseline of the tap benchmark, a bare authenticated view rendering a
constant template. Routed only by bench/urls.py. It goes through the same middleware as a
tap (session, user, CSRF, CSP, ...) but reads nothing else and writes nothing.

`FullPlotlyBaseline`: the baseline of bench_first_visit.py, the results pages as they were
before issue 17: for a request with the cookie ``bench_plotly=full`` it swaps the page's
plotly.js URL (the vendored basic bundle) for the full bundle's (bench/static_finders.py),
so the old and the new page are measured by the same server in the same run.
"""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.templatetags.static import static


@login_required
def bench_baseline(request: HttpRequest) -> HttpResponse:
    return render(request, "bench_baseline.html")


class FullPlotlyBaseline:
    COOKIE = "bench_plotly"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            request.COOKIES.get(self.COOKIE) == "full"
            and not response.streaming
            and response.get("Content-Type", "").startswith("text/html")
        ):
            from analysis.charts import PLOTLY_JS
            from bench.static_finders import PLOTLY_JS as FULL

            response.content = response.content.replace(
                static(PLOTLY_JS).encode(), static(FULL).encode()
            )
        return response
