"""Benchmark: the dashboard and figure pages on a first visit, as an investigator's browser.

Headless Chromium (Playwright, /usr/bin/chromium) opens each page of the demo study in a
new browser context every run (an empty HTTP cache, signed in by a session cookie) and
takes the time from navigation start to the moment every chart on the page has fired
plotly's `plotly_afterplot` event (the last chart's first one). Both servers are started
here on free ports of 127.0.0.1 with the demo loaded into a temporary SQLite database:

- runserver: `manage.py runserver` with the development settings, as `make run` serves;
- gunicorn: `gunicorn -c gunicorn.conf.py` with the production settings and WhiteNoise's
  collected, compressed, hashed files, behind the README's HTTPS proxy (bench/_server.py).

Baseline, alternating with the page in the same run and the same server: the page as it
was before issue 17, loading the full plotly.js bundle from the plotly package
(bench/settings.py swaps the URL for a request with the cookie `bench_plotly=full`).
Target: median <= 1.5 s on both servers. Every run is bounded (60 s per page load).

    python bench/bench_first_visit.py                    # 9 runs per page and variant
    python bench/bench_first_visit.py --quick --results /tmp/RESULTS.md
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _db, _results  # noqa: E402
from bench._results import Row, fmt  # noqa: E402
from bench._server import HOST, Browser, Server, free_port  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SECTION = "first visit"
TARGET_S = 1.5
CHROMIUM = os.environ.get("LABSTUDY_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PAGES = {
    "dashboard": "/s/psnl-ketamine-demo/dashboard/",
    "figure": "/s/psnl-ketamine-demo/dashboard/figure/",
}
VARIANTS = ("basic", "full")  # the page now; the page before issue 17 (baseline)
_CSRF = 'name="csrfmiddlewaretoken" value="'

# Before any page script: when the page sets window.Plotly, wrap Plotly.newPlot so each
# chart records the time (ms since navigation start) of its first plotly_afterplot.
# newPlot emits that event from a promise callback, so listening right after the call
# returns never misses it.
AFTERPLOT_PROBE = """
(() => {
  let real;
  Object.defineProperty(window, "Plotly", {
    configurable: true,
    get() { return real; },
    set(value) {
      real = value;
      if (!value || !value.newPlot || value.__benchWrapped) return;
      const newPlot = value.newPlot;
      value.newPlot = function (gd, ...rest) {
        const element = typeof gd === "string" ? document.getElementById(gd) : gd;
        const drawn = newPlot.call(this, gd, ...rest);
        element.on("plotly_afterplot", () => {
          if (element.__afterplotMs === undefined) element.__afterplotMs = performance.now();
        });
        return drawn;
      };
      value.__benchWrapped = true;
    },
  });
})();
"""
# Every element that names a figure block that exists (dashboard.js draws exactly these).
ALL_DRAWN = """
() => {
  const charts = [...document.querySelectorAll("[data-figure]")]
    .filter((e) => document.getElementById(e.dataset.figure));
  return charts.length > 0 && charts.every((e) => e.__afterplotMs !== undefined);
}
"""
MEASURES = """
() => {
  const charts = [...document.querySelectorAll("[data-figure]")]
    .filter((e) => document.getElementById(e.dataset.figure));
  const nav = performance.getEntriesByType("navigation")[0];
  const plotly = performance.getEntriesByType("resource")
    .filter((r) => r.name.includes("/plotly"));
  return {
    charts: charts.length,
    drawn_ms: Math.max(...charts.map((e) => e.__afterplotMs)),
    html_ms: nav.responseEnd,
    plotly_url: plotly.length ? plotly[0].name : "",
    plotly_bytes: plotly.length ? plotly[0].transferSize : 0,
    plotly_end_ms: plotly.length ? plotly[0].responseEnd : 0,
  };
}
"""


def _env(**extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABSTUDY_")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(extra)
    return env


def load_demo(database_url: str) -> None:
    for command in (["migrate", "--noinput", "-v0"], ["load_demo_study"]):
        subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=ROOT,
            env=_env(DATABASE_URL=database_url),
            check=True,
            timeout=600,
            stdout=subprocess.DEVNULL,
        )


class Runserver:
    """`manage.py runserver` (development settings, as `make run`) on a free port."""

    name = "runserver"
    scheme = "http"

    def __init__(self, database_url: str):
        self.database_url = database_url
        self.port = free_port()
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in __exit__)

    def __enter__(self) -> Runserver:
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", f"{HOST}:{self.port}", "--noreload"],
            cwd=ROOT,
            env=_env(DATABASE_URL=self.database_url, DJANGO_SETTINGS_MODULE="bench.settings"),
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.log.seek(0)
                raise RuntimeError(f"runserver exited:\n{self.log.read().decode()[-3000:]}")
            try:
                if Browser(self.port).request("GET", "/accounts/login/")[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("runserver did not answer within 120 s")

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


class Gunicorn(Server):
    name = "gunicorn"
    scheme = "https"  # as behind the README's reverse proxy (X-Forwarded-Proto: https)


def session_cookies(server) -> dict[str, str]:
    """Sign in as the demo investigator through the login form; the session's cookies."""
    origin = f"{server.scheme}://{HOST}:{server.port}"
    browser = Browser(server.port)
    page = browser.request("GET", "/accounts/login/")[2].decode()
    token = page.split(_CSRF, 1)[1].split('"', 1)[0]
    status, _, _ = browser.request(
        "POST",
        "/accounts/login/",
        {
            "csrfmiddlewaretoken": token,
            "username": "investigator",
            "password": "labstudy-demo",
        },
        {"Origin": origin, "Referer": f"{origin}/accounts/login/"},
    )
    if status != 302 or "sessionid" not in browser.cookies:
        raise RuntimeError(f"sign-in on {server.name} failed: HTTP {status}")
    for path in PAGES.values():
        status = browser.request("GET", path)[0]
        if status != 200:
            raise RuntimeError(f"{server.name} {path}: HTTP {status}")
    browser.close()
    return browser.cookies


def first_visit(browser, server, cookies: dict[str, str], path: str, variant: str) -> dict:
    """One page load in a new context (empty cache); the page's timings."""
    base = f"http://{HOST}:{server.port}"
    headers = {"X-Forwarded-Proto": "https"} if server.scheme == "https" else {}
    context = browser.new_context(extra_http_headers=headers)
    try:
        sent = {**cookies, "bench_plotly": variant}
        context.add_cookies([{"name": k, "value": v, "url": base} for k, v in sent.items()])
        context.add_init_script(AFTERPLOT_PROBE)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(base + path, wait_until="commit", timeout=60_000)
        page.wait_for_function(ALL_DRAWN, timeout=60_000, polling=50)
        measured = page.evaluate(MEASURES)
        if errors:
            raise RuntimeError(f"{path} ({variant}): {errors[0]}")
        expected = "/plotly.min" if variant == "full" else "/plotly-basic.min"
        if expected not in measured["plotly_url"]:
            raise RuntimeError(f"{path} ({variant}) loaded {measured['plotly_url']!r}")
        return measured
    finally:
        context.close()


def server_cpu(database_url: str, pages: dict[str, str], runs: int) -> dict[str, dict]:
    """CPU seconds of this process serving each page in-process (Django's test client, the
    whole stack, as the demo investigator), with its own empty statistics cache: `cold` the
    first visit after a write (every statistic computed and stored; the cache emptied
    before each), `warm` a second visit (a lookup). CPU time, unlike wall time, hardly
    moves with the other jobs on the machine."""
    cache_dir = tempfile.mkdtemp(prefix="labstudy-first-visit-cache-")
    os.environ["LABSTUDY_CACHE_DIR"] = cache_dir
    _db.setup_django(database_url, migrate=False)
    from django.contrib.auth import get_user_model
    from django.core.cache import caches
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username="investigator"))
    cache = caches["statistics"]

    def cpu(path: str) -> float:
        start = time.process_time()
        response = client.get(path)
        spent = time.process_time() - start
        if response.status_code != 200:
            raise RuntimeError(f"in-process {path}: HTTP {response.status_code}")
        return spent

    for path in pages.values():  # imports and first-use costs are not a visit's
        cpu(path)
    found = {}
    for name, path in pages.items():
        cold = []
        for _ in range(max(3, runs // 2)):
            cache.clear()
            cold.append(cpu(path))
        warm = [cpu(path) for _ in range(max(5, runs))]
        found[name] = {"cold": statistics.median(cold), "warm": statistics.median(warm)}
    cache.clear()
    shutil.rmtree(cache_dir, ignore_errors=True)
    return found


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def measure(server, runs: int, pages: dict[str, str], warm_up: bool) -> dict:
    from playwright.sync_api import sync_playwright

    cookies = session_cookies(server)
    found: dict[tuple[str, str], list[dict]] = {(p, v): [] for p in pages for v in VARIANTS}
    found["load"] = []  # the machine's 1-minute load average before each timed load
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            for path in pages.values() if warm_up else ():  # one untimed load of each
                for variant in VARIANTS:
                    first_visit(browser, server, cookies, path, variant)
            for run in range(runs):
                for name, path in pages.items():
                    order = VARIANTS if run % 2 == 0 else VARIANTS[::-1]
                    for variant in order:
                        found["load"].append(os.getloadavg()[0])
                        found[name, variant].append(
                            first_visit(browser, server, cookies, path, variant)
                        )
        finally:
            browser.close()
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="timed loads per page and variant")
    parser.add_argument("--quick", action="store_true", help="tiny run for the smoke test")
    parser.add_argument(
        "--database-url",
        help="a database to load the demo into (default: a temporary SQLite file)",
    )
    _results.add_output_options(parser)
    args = parser.parse_args(argv)
    runs = 1 if args.quick else args.runs
    pages = {"dashboard": PAGES["dashboard"]} if args.quick else PAGES

    with tempfile.TemporaryDirectory(prefix="labstudy-first-visit-") as tmp:
        database_url = args.database_url or f"sqlite:///{Path(tmp) / 'demo.sqlite3'}"
        load_demo(database_url)
        database = "PostgreSQL" if database_url.startswith("postgres") else "SQLite"
        measured = {}
        for server in (Runserver(database_url), Gunicorn(database_url, workers=2)):
            with server:
                measured[server.name] = measure(server, runs, pages, warm_up=not args.quick)
                print(f"({server.name}: {runs} runs measured)", flush=True)
        cpu = server_cpu(database_url, pages, runs)

    rows, missed, notes_sizes = [], [], []
    loads = [load for found in measured.values() for load in found["load"]]
    for page in pages:
        warm, cold = cpu[page]["warm"], cpu[page]["cold"]
        rows.append(
            Row(
                f"{page}, server CPU per request in-process, statistics cached (second "
                "visit), ms, median",
                fmt(warm * 1000),
                f"{fmt(cold * 1000)} first visit after a write (statistics computed)",
                _results.ratio(warm, cold),
                database,
            )
        )
    for server_name, found in measured.items():
        for page in pages:
            new = [m["drawn_ms"] / 1000 for m in found[page, "basic"]]
            old = [m["drawn_ms"] / 1000 for m in found[page, "full"]]
            html_new = statistics.median(m["html_ms"] for m in found[page, "basic"]) / 1000
            html_old = statistics.median(m["html_ms"] for m in found[page, "full"]) / 1000
            after = statistics.median(
                (m["drawn_ms"] - m["html_ms"]) / 1000 for m in found[page, "basic"]
            )
            ok = statistics.median(new) <= TARGET_S
            if not ok:
                missed.append(f"{page} on {server_name}")
            rows.append(
                Row(
                    f"{page}, first visit to every chart drawn, {server_name}, s, median "
                    f"(p95) of {runs} (target ≤ {TARGET_S:g} s)",
                    f"{fmt(statistics.median(new))} ({fmt(p95(new))})",
                    f"{fmt(statistics.median(old))} ({fmt(p95(old))}) full plotly.js",
                    _results.ratio(statistics.median(new), statistics.median(old))
                    + f" — {_results.verdict(ok, f'≤ {TARGET_S:g} s')}",
                    database,
                )
            )
            rows.append(
                Row(
                    f"{page}, {server_name}: HTML received (server time + transfer), s, median",
                    fmt(html_new),
                    fmt(html_old),
                    f"{html_new / statistics.median(new):.0%} of the page's time; charts "
                    f"drawn {fmt(after)} s after it",
                    database,
                )
            )
        sizes = {v: found["dashboard", v][0]["plotly_bytes"] for v in VARIANTS}
        notes_sizes.append(
            f"{server_name} sent plotly.js as {sizes['basic'] / 1e6:.2f} MB "
            f"(full bundle: {sizes['full'] / 1e6:.2f} MB)"
        )
    notes = [
        f"`python bench/bench_first_visit.py --runs {runs}`: the demo study's dashboard and "
        "figure pages in headless Chromium, a new browser context per load (empty cache, "
        "signed in as the demo investigator by cookie), navigation start to every chart's "
        "first `plotly_afterplot`; one untimed warm-up load of each. Servers started here on "
        "127.0.0.1 with the demo in a temporary database: `manage.py runserver` (development "
        "settings, as `make run`) and gunicorn (`gunicorn.conf.py`, 2 workers, production "
        "settings, WhiteNoise's collected files, behind the HTTPS proxy). Baseline: the same "
        "page loading the full plotly.js bundle from the plotly package, as before issue 17, "
        "alternating with it on the same server. The basic bundle (vendored npm "
        "`plotly.js-basic-dist-min`) is served gzipped by WhiteNoise on both servers; "
        + "; ".join(notes_sizes)
        + f". {_results.environment()}; during the page loads it was "
        f"{min(loads):.1f}–{max(loads):.1f} (median {statistics.median(loads):.1f}). "
        "Server CPU rows: the same pages in this process through the whole Django stack "
        "(test client, no HTTP), CPU time, which the other jobs on the machine hardly move; "
        "the browser's own work (plotly.js parsed and run, two charts drawn) comes on top.",
    ]
    if missed:
        notes += [
            "",
            f"**Target missed** for {', '.join(missed)}: see the 'HTML received' rows for "
            "how much of the time is the server's.",
        ]
    _results.report(args, SECTION, rows, notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
