from django.core.management.base import BaseCommand

from labstudy.demo import ADMIN_ACCOUNT, DEMO_ACCOUNTS, DEMO_PASSWORD, load_demo_study


class Command(BaseCommand):
    help = "Create the PSNL/ketamine demo study and demo accounts (idempotent)."

    def handle(self, *args, **options) -> None:
        summary = load_demo_study()
        verb = "Created" if summary.created else "Already present:"
        self.stdout.write(
            f"{verb} demo study '{summary.study.slug}' — {summary.animals} animals, "
            f"{summary.sessions} sessions, {summary.stimuli} stimuli, {summary.doses} doses, "
            f"{summary.weights} weights."
        )
        self.stdout.write("Demo accounts (username / password):")
        for username, role, _name in DEMO_ACCOUNTS:
            self.stdout.write(f"  {username:<13} / {DEMO_PASSWORD}   {role.label}")
        self.stdout.write(f"  {ADMIN_ACCOUNT:<13} / {DEMO_PASSWORD}   Django admin (superuser)")
