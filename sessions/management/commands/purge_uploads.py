"""`purge_uploads`: delete import uploads that were previewed but not confirmed within an
hour. Every new upload does the same; run this from cron (e.g. every 15 minutes) so a
server nobody uploads to keeps nothing either."""

from django.core.management.base import BaseCommand

from sessions import uploads


class Command(BaseCommand):
    help = (
        "Delete uploaded import files that were previewed but not confirmed within an hour "
        "(nothing imported is touched)."
    )

    def handle(self, *args, **options) -> None:
        removed = uploads.purge()
        self.stdout.write(
            f"Removed {removed} unconfirmed upload{'' if removed == 1 else 's'} older than 1 hour."
        )
