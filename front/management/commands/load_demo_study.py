from django.core.management.base import BaseCommand

from front.demo import ADMIN_ACCOUNT, DEMO_ACCOUNTS, DEMO_PASSWORD, load_demo_study
from front.practice import load_practice_study


class Command(BaseCommand):
    help = (
        "Create the PSNL/ketamine demo study, today's bench practice study and the demo "
        "accounts (idempotent)."
    )

    def handle(self, *args, **options) -> None:
        summary = load_demo_study()
        verb = "Created" if summary.created else "Already present:"
        self.stdout.write(
            f"{verb} demo study '{summary.study.slug}' — {summary.animals} animals, "
            f"{summary.sessions} sessions, {summary.stimuli} stimuli, {summary.doses} doses, "
            f"{summary.weights} weights."
        )
        practice = load_practice_study()
        verb = "Created" if practice.created else "Already present:"
        self.stdout.write(
            f"{verb} bench practice study '{practice.study.slug}' — today is study day 28 "
            f"(T3): {practice.sessions_due} von Frey sessions and {practice.doses_due} doses "
            "still to do at /s/" + practice.study.slug + "/bench/"
        )
        self.stdout.write("Demo accounts (username / password):")
        for username, role, _name in DEMO_ACCOUNTS:
            self.stdout.write(f"  {username:<13} / {DEMO_PASSWORD}   {role.label}")
        self.stdout.write(f"  {ADMIN_ACCOUNT:<13} / {DEMO_PASSWORD}   Django admin (superuser)")
