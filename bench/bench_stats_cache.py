"""Benchmark: statistics computed once per state of the data (issue 17).

For a study the size of the reference study (15 animals, 3 groups, 8 timepoints) and a
large one (--size animals, 8 groups), GETs as an investigator, in-process through the
whole Django stack: the dashboard, stats.csv and the publication ZIP. Each is measured
three ways in the same run: with the statistics cache switched off (the baseline, what
every visit cost before), on a first visit with an empty cache (a miss: compute and
store) and on a second visit (a hit: `analysis_inputs`' queries, a digest, a lookup).
The cache is the product's default, a file cache (settings.CACHES["statistics"]), in a
temporary folder. The responses with and without the cache must be byte-identical.

    python bench/bench_stats_cache.py                     # 15 and 1,000 animals
    python bench/bench_stats_cache.py --quick --results /tmp/RESULTS.md
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _db, _results, _world  # noqa: E402
from bench._results import Row, fmt  # noqa: E402

SECTION = "statistics cache"
PAGES = {
    "dashboard": "/s/{slug}/dashboard/",
    "stats.csv": "/s/{slug}/exports/stats.csv",
    "publication ZIP": "/s/{slug}/exports/package.zip",
}


def get(client, url: str) -> tuple[float, bytes]:
    wall = time.perf_counter()
    response = client.get(url)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    wall = time.perf_counter() - wall
    if response.status_code != 200:
        raise SystemExit(f"{url}: HTTP {response.status_code}")
    return wall, body


def stable(body: bytes, page: str) -> bytes:
    """What must be equal with and without the cache: the CSV as is, the ZIP's members'
    contents (their timestamps differ), the page without its CSRF token and nonces."""
    import re

    if page == "publication ZIP":
        return re.sub(rb"Generated: +\S+", b"", _members(body))  # the README's time of writing
    if page == "dashboard":
        body = re.sub(rb"\b[A-Za-z0-9]{64}\b", b"", body)  # CSRF tokens
        return re.sub(rb'nonce="[^"]*"', b"", body)
    return body


def _members(body: bytes) -> bytes:
    """A ZIP's (or a workbook's) members' names and contents, workbooks opened in turn,
    without the times the archive and the workbook's properties record."""
    import io
    import zipfile

    out = []
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        for name in sorted(archive.namelist()):
            if name == "docProps/core.xml":  # the workbook's creation time
                continue
            data = archive.read(name)
            out.append(name.encode() + (_members(data) if name.endswith(".xlsx") else data))
    return b"".join(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1000, help="animals in the large study")
    parser.add_argument("--repeat", type=int, default=3, help="timed GETs of each kind")
    parser.add_argument("--quick", action="store_true", help="tiny run for the smoke test")
    _db.add_database_options(parser)
    _results.add_output_options(parser)
    args = parser.parse_args(argv)
    # The smoke test's tiny run: fewer animals and groups and no warm-up (it checks that
    # the script runs and the responses agree, not the figures).
    groups = 8
    if args.quick:
        args.size, args.repeat, groups = min(args.size, 6), 1, 3

    folder = tempfile.mkdtemp(prefix="labstudy-bench-stats-")
    with _db.database(args.database_url, "statscache") as url:
        _db.setup_django(url)
        from django.core.cache import caches
        from django.test import Client, override_settings

        on = {
            "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
            "statistics": {
                "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                "LOCATION": folder,
            },
        }
        off = {**on, "statistics": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
        studies = {}
        if not args.quick:  # the smoke test's tiny run: the second study alone
            studies["15 animals, 3 groups"] = _world.make_study(
                "bench-cache-small", n_animals=15, n_groups=3
            )
        studies[f"{args.size:,} animals, {groups} groups"] = _world.make_study(
            "bench-cache-large", n_animals=args.size, n_groups=groups
        )
        for seed, world in enumerate(studies.values(), start=1):
            _world.add_sessions(world, seed=seed)
        client = Client()
        client.force_login(next(iter(studies.values())).investigator)
        for world in [] if args.quick else studies.values():  # warm-up, cache off
            with override_settings(CACHES=off):
                for page in PAGES.values():
                    get(client, page.format(slug=world.study.slug))
        rows = []
        for shape, world in studies.items():
            for page, pattern in PAGES.items():
                url_ = pattern.format(slug=world.study.slug)
                base, miss, hit = [], [], []
                with override_settings(CACHES=off):
                    for _ in range(args.repeat):
                        wall, reference = get(client, url_)
                        base.append(wall)
                with override_settings(CACHES=on):
                    for _ in range(args.repeat):
                        caches["statistics"].clear()
                        wall, _ = get(client, url_)
                        miss.append(wall)
                        wall, cached = get(client, url_)
                        hit.append(wall)
                if stable(cached, page) != stable(reference, page):
                    Path(folder, "reference").write_bytes(stable(reference, page))
                    Path(folder, "cached").write_bytes(stable(cached, page))
                    raise SystemExit(
                        f"{page} ({shape}): the cached response differs "
                        f"(diff {folder}/reference {folder}/cached)"
                    )
                b, m, h = (statistics.median(v) for v in (base, miss, hit))
                rows.append(
                    Row(
                        f"{page}, second visit (cache hit), s, median of {args.repeat} ({shape})",
                        fmt(h),
                        f"{fmt(b)} (cache off)",
                        f"{_results.ratio(h, b)}; first visit (miss) {fmt(m)} s "
                        f"= {_results.ratio(m, b)}",
                        _db.label(),
                    )
                )
                print(rows[-1].markdown(), flush=True)
    notes = [
        f"`python bench/bench_stats_cache.py --size {args.size}`: GET as an investigator, "
        "in-process through the whole Django stack. Value = a second visit with no write "
        "in between (the statistics served from the cache: the page still reads the data "
        "and digests the frames the numbers are made of, then looks the result up); "
        "baseline = the same GET with the statistics cache switched off, in the same run; "
        "the first visit after the cache was emptied (compute and store) is in the ratio "
        "column. Cache: the default file cache. The responses with and without the cache "
        f"were compared and are identical. {_results.environment()}.",
    ]
    _results.report(args, SECTION, rows, notes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
