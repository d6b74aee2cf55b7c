import os
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from lan import serve


class Command(BaseCommand):
    help = (
        "Serve labstudy to the lab network over HTTPS (make lan): makes this computer's "
        "certificate on first run (kept in LABSTUDY_LAN_DIR, default .lan/), prints the "
        "address and its QR code, then runs gunicorn."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--port",
            type=int,
            default=int(os.environ.get("LABSTUDY_LAN_PORT", serve.DEFAULT_PORT)),
            help=f"HTTPS port (default {serve.DEFAULT_PORT})",
        )
        parser.add_argument(
            "--bind", default="0.0.0.0", help="interface to listen on (default: all)"
        )
        parser.add_argument(
            "--address",
            default=os.environ.get("LABSTUDY_LAN_ADDRESS", ""),
            help="this computer's LAN address(es), comma-separated (default: found)",
        )
        parser.add_argument(
            "--check",
            action="store_true",
            help="make the certificate and print the address, then stop without serving",
        )

    def handle(self, *args, **options) -> None:
        try:
            server = serve.prepare(
                folder=Path(settings.LABSTUDY_LAN_DIR),
                port=options["port"],
                bind=options["bind"],
                addresses=options["address"],
            )
        except ValueError as error:
            raise CommandError(str(error)) from None
        # DEBUG is off on the network, so static files come from STATIC_ROOT (WhiteNoise).
        call_command("collectstatic", interactive=False, verbosity=0)
        serve.banner(server, accounts=self._demo_accounts())
        if not options["check"]:
            serve.serve(server, base_dir=Path(settings.BASE_DIR))

    def _demo_accounts(self) -> list[str]:
        from front.demo import ADMIN_ACCOUNT, DEMO_ACCOUNTS, DEMO_PASSWORD

        present = set(
            get_user_model()
            .objects.filter(username__in=[u for u, _r, _n in DEMO_ACCOUNTS] + [ADMIN_ACCOUNT])
            .values_list("username", flat=True)
        )
        if not present:
            return []
        lines = ["Demo accounts (username / password):"]
        for username, role, _name in DEMO_ACCOUNTS:
            if username in present:
                lines.append(f"  {username:<13} / {DEMO_PASSWORD}   {role.label}")
        if ADMIN_ACCOUNT in present:
            lines.append(f"  {ADMIN_ACCOUNT:<13} / {DEMO_PASSWORD}   Django admin (superuser)")
        return lines
