"""`export_study SLUG --what TABLE --out PATH`: the web export buttons, from the command line."""

from django.core.management.base import BaseCommand, CommandError

from analysis import exports
from analysis.exports import method_argument
from labstudy.models import Study

CHOICES = [*exports.TABLE_KEYS, "package", "xlsx", "methods"]


class Command(BaseCommand):
    help = (
        "Write one export of a study: a CSV table, the Excel workbook (xlsx), the methods "
        "paragraph (methods) or the whole publication package (package, a ZIP). With --out "
        "a folder, the file gets its standard name (study, table, method, cut-off)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("slug", help="study short name")
        parser.add_argument("--what", required=True, choices=CHOICES)
        parser.add_argument("--out", required=True, help="file to write, or an existing folder")
        parser.add_argument(
            "--method",
            type=method_argument,
            help="threshold method: target_force (alias first_response), up_down or sudo "
            "(default: the study's)",
        )

    def handle(self, *args, **options) -> None:
        study = Study.objects.select_related("filament_set").filter(slug=options["slug"]).first()
        if study is None:
            raise CommandError(f"no study '{options['slug']}'")
        try:
            written = exports.export_to_path(
                study, options["what"], options["out"], method=options["method"]
            )
        except OSError as error:
            raise CommandError(f"cannot write {options['out']}: {error.strerror}") from None
        for path in written:
            self.stdout.write(path)
