"""Benchmark: 100k stimulus rows imported atomically on PostgreSQL by `import_study`.

Makes a stimuli CSV of about 100,000 rows in the export's own format (a synthetic study
exported with `StudyExport`), then times, alternating: the `import_study` command
(in-process: read, check every line, create the study, its groups, timepoints, animals,
sessions and stimuli with their history rows, all in one transaction) and the baseline,
a plain `bulk_create` of the same rows (study, groups, timepoints, animals, sessions,
stimuli; no checks, no history). Then the same file with one bad last line must be
refused with nothing written. Target: <= 30 s.

    python bench/bench_import.py                      # 100,000 rows
    python bench/bench_import.py --quick --results /tmp/RESULTS.md
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _db, _results, _world  # noqa: E402
from bench._results import Row, fmt  # noqa: E402

SECTION = "import"
TARGET_S = 30.0
STIMULI_PER_ANIMAL = 8 * 7.4


def make_csv(rows: int, folder: Path) -> tuple[Path, int]:
    """A stimuli CSV exported from a synthetic study of about `rows` stimuli."""
    from analysis.exports import StudyExport

    world = _world.make_study(
        "bench-import-source", n_animals=math.ceil(rows / STIMULI_PER_ANIMAL), n_groups=3
    )
    _world.add_sessions(world, seed=6)
    path = folder / "stimuli.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        StudyExport(world.study).write_csv("stimuli", out)
    return path, world.n_stimuli


def run_command(path: Path, slug: str) -> float:
    from django.core.management import call_command

    out = io.StringIO()
    t0 = time.perf_counter()
    call_command("import_study", str(path), slug=slug, title=f"Imported {slug}", stdout=out)
    return time.perf_counter() - t0


def run_bulk_create(path: Path, slug: str) -> float:
    """The same rows with plain bulk_create: what the import writes, minus checks and history."""
    from django.db import transaction

    from animals.models import Animal
    from labstudy import services
    from labstudy.models import Timepoint, TreatmentGroup
    from sessions.models import Filament, Stimulus, TestSession

    t0 = time.perf_counter()
    with path.open(encoding="utf-8", newline="") as source, transaction.atomic():
        lines = list(csv.DictReader(source))
        study = services.create_study(
            template_key="blank", slug=slug, title=slug, day0_date=dt.date(2026, 9, 1), user=None
        )
        filaments = dict(
            Filament.objects.filter(filament_set=study.filament_set).values_list("size", "pk")
        )
        codes = list(dict.fromkeys(line["group"] for line in lines))
        groups = TreatmentGroup.objects.bulk_create(
            TreatmentGroup(study=study, code=c, name=c, order=i) for i, c in enumerate(codes)
        )
        group_of = {g.code: g for g in groups}
        days = dict.fromkeys((line["timepoint"], int(line["day"])) for line in lines)
        tps = Timepoint.objects.bulk_create(
            Timepoint(study=study, label=label, day=day, order=i, is_baseline=i == 0)
            for i, (label, day) in enumerate(days)
        )
        tp_of = {t.label: t for t in tps}
        animal_group = dict.fromkeys((line["animal"], line["group"]) for line in lines)
        animals = Animal.objects.bulk_create(
            Animal(study=study, code=code, group=group_of[group]) for code, group in animal_group
        )
        animal_of = {a.code: a for a in animals}
        keys = dict.fromkeys((line["animal"], line["timepoint"], line["paw"]) for line in lines)
        sessions = TestSession.objects.bulk_create(
            TestSession(
                animal=animal_of[a], timepoint=tp_of[t], paw=p, method=study.threshold_method,
                status=TestSession.Status.COMPLETE,
            )
            for a, t, p in keys
        )  # fmt: skip
        session_of = dict(zip(keys, sessions, strict=True))
        now = dt.datetime.now(dt.UTC)
        Stimulus.objects.bulk_create(
            (
                Stimulus(
                    session=session_of[(line["animal"], line["timepoint"], line["paw"])],
                    order=int(line["order"]),
                    filament_id=filaments[line["filament_size"]],
                    withdrew=line["response"] == "1",
                    recorded_at=now,
                )
                for line in lines
            ),
            batch_size=5000,
        )
    return time.perf_counter() - t0


def stimuli_of(slug: str) -> int:
    from sessions.models import Stimulus

    return Stimulus.objects.filter(session__animal__study__slug=slug).count()


def refused_whole(path: Path, folder: Path) -> tuple[float, bool]:
    """The file with its last line's filament made unknown: refused, nothing written."""
    from django.core.management import CommandError

    from labstudy.models import Study
    from sessions.models import Stimulus

    lines = path.read_text(encoding="utf-8").splitlines()
    last = lines[-1].split(",")
    last[6] = "4.32"  # filament_size: not in the Stoelting set
    bad = folder / "bad.csv"
    bad.write_text("\n".join(lines[:-1] + [",".join(last)]) + "\n", encoding="utf-8")
    before = (Study.objects.count(), Stimulus.objects.count())
    t0 = time.perf_counter()
    try:
        run_command(bad, "bench-import-bad")
        refused = False
    except CommandError:
        refused = True
    seconds = time.perf_counter() - t0
    after = (Study.objects.count(), Stimulus.objects.count())
    return seconds, refused and before == after


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", "--size", dest="rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="timed imports of each kind")
    parser.add_argument("--quick", action="store_true", help="tiny run for the smoke test")
    _db.add_database_options(parser)
    _results.add_output_options(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.repeat = min(args.rows, 150), 1

    with _db.database(args.database_url, "import") as url, tempfile.TemporaryDirectory() as tmp:
        _db.setup_django(url)
        folder = Path(tmp)
        path, n_rows = make_csv(args.rows, folder)
        file_mb = path.stat().st_size / 2**20
        imports, bulks = [], []
        for i in range(args.repeat):
            slug = f"bench-import-{i}"
            imports.append(run_command(path, slug))
            if stimuli_of(slug) != n_rows:
                raise SystemExit(f"{slug}: {stimuli_of(slug)} stimuli imported, {n_rows} in file")
            bulks.append(run_bulk_create(path, f"bench-bulk-{i}"))
            if stimuli_of(f"bench-bulk-{i}") != n_rows:
                raise SystemExit("the bulk_create baseline wrote a different number of rows")
        refused_s, nothing_written = refused_whole(path, folder)
        database = _db.label()
        postgres = _db.is_postgres()

    value, baseline = statistics.median(imports), statistics.median(bulks)
    rows = [
        Row(
            f"import_study, {n_rows:,} stimulus rows, s (median of {args.repeat}; "
            f"target ≤ {TARGET_S:g} s on PostgreSQL)",
            fmt(value),
            f"{fmt(baseline)} (plain bulk_create)",
            _results.ratio(value, baseline)
            + " — "
            + _results.verdict(value <= TARGET_S and postgres, f"≤ {TARGET_S:g} s"),
            database,
        ),
        Row(
            "import rows/s",
            f"{n_rows / value:,.0f}",
            f"{n_rows / baseline:,.0f}",
            _results.ratio(baseline, value),
            database,
        ),
        Row(
            "the same file with one bad last line: refused, nothing written, s",
            fmt(refused_s),
            "—",
            _results.verdict(nothing_written, "atomic"),
            database,
        ),
    ]
    notes = [
        f"`python bench/bench_import.py --rows {args.rows}`: the file is a stimuli export "
        f"({file_mb:.1f} MB, {n_rows:,} rows) of a synthetic study; "
        "value = `call_command('import_study', file, slug=...)` in-process, a new study "
        "each time (read and check every line, create the design, animals, sessions and "
        "stimuli with their history rows in one transaction; COPY on PostgreSQL); "
        "baseline = reading the same file with csv.DictReader and writing the same rows "
        "with plain `bulk_create` in one transaction (no checks, no history rows), "
        f"alternating with the import. {_results.environment()}.",
    ]
    _results.report(args, SECTION, rows, notes)
    return 0 if nothing_written else 1


if __name__ == "__main__":
    raise SystemExit(main())
