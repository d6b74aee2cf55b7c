"""`import_study CSV --slug SLUG`: the web upload's import, from the command line."""

import datetime as dt
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from analysis.exports import method_argument
from labstudy.models import Study
from sessions.importing import import_study_csv


class Command(BaseCommand):
    help = (
        "Import a stimuli CSV (or a thresholds-only CSV from a legacy spreadsheet) into a "
        "study, creating the study when the short name is new. Atomic: on any error nothing "
        "is written and every problem is listed with its line and column. The study's analysis "
        "settings (alpha, post-hoc test, chosen pairs) are not in a CSV: give them here."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "csv", help="path to the CSV file (or Excel's Unicode text, or an .xlsx workbook)"
        )
        parser.add_argument(
            "--sheet", help="sheet of an .xlsx workbook to read (default: the first)"
        )
        parser.add_argument("--slug", required=True, help="study short name (new or existing)")
        parser.add_argument("--title", default="", help="title of a new study")
        parser.add_argument(
            "--method",
            type=method_argument,
            help="threshold method of a new study: target_force (the lowest withdrawal; "
            "first_response is the same), up_down, sudo, ascending or percent_response "
            "(default target_force)",
        )
        parser.add_argument(
            "--applications",
            type=int,
            help="ascending / percent_response: applications per filament (N) of a new study",
        )
        parser.add_argument(
            "--withdrawals",
            type=int,
            help="ascending / percent_response: withdrawals out of N that meet the criterion",
        )
        parser.add_argument(
            "--filaments",
            help="ascending / percent_response: the filaments in use, e.g. 3.61,3.84,4.08 "
            "(default: the whole set)",
        )
        parser.add_argument("--cutoff-g", type=float, help="cut-off of a new study (default 300)")
        parser.add_argument("--baseline", help="baseline timepoint label (default T0)")
        parser.add_argument("--control", help="control group code (default: a group named control)")
        parser.add_argument("--day0", type=dt.date.fromisoformat, help="day-0 date, YYYY-MM-DD")
        parser.add_argument(
            "--alpha", type=float, help="significance level of the study (default 0.05)"
        )
        parser.add_argument(
            "--posthoc",
            choices=Study.Posthoc.values,
            help="between-group post-hoc test after Kruskal-Wallis (default nemenyi)",
        )
        parser.add_argument(
            "--pairs",
            help="chosen timepoint comparisons within each group, e.g. T7-T4 or T7-T4,T5-T1; "
            "their timepoints must be in the file",
        )
        parser.add_argument("--user", help="username recorded as importer (data manager)")
        parser.add_argument("--dry-run", action="store_true", help="check only; write nothing")

    def handle(self, *args, **options) -> None:
        path = Path(options["csv"])
        try:
            data = path.read_bytes()
        except OSError as error:
            raise CommandError(f"cannot read {path}: {error.strerror}") from None
        user = None
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"no user '{options['user']}'")
        result = import_study_csv(
            data=data,
            source_name=path.name,
            slug=options["slug"],
            title=options["title"],
            method=options["method"],
            cutoff_g=options["cutoff_g"],
            baseline=options["baseline"],
            control=options["control"],
            day0=options["day0"],
            alpha=options["alpha"],
            posthoc=options["posthoc"],
            pairs=options["pairs"],
            method_settings={
                "applications_per_filament": options["applications"],
                "withdrawals_needed": options["withdrawals"],
                "method_filaments": options["filaments"],
            },
            sheet=options["sheet"],
            user=user,
            dry_run=options["dry_run"],
        )
        for line in result.summary_lines():
            self.stdout.write(line)
        for note in result.notes:
            self.stdout.write(f"note: {note}")
        if result.errors:
            for line in result.error_lines():
                self.stderr.write(line)
            raise CommandError(
                f"{len(result.errors)} problem(s) in {path.name}; nothing was imported"
            )
        if options["dry_run"]:
            self.stdout.write("Dry run: nothing was written.")
        else:
            self.stdout.write(self.style.SUCCESS(f"Imported into study '{result.slug}'."))
