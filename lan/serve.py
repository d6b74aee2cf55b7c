"""`make lan`: the app on the lab network over HTTPS, so tablets get a secure context.

A browser gives a page its service worker (the bench's offline reload) and its camera only
in a secure context: https:// or the machine's own localhost. A tablet on the lab Wi-Fi
reaches the PC by its LAN address, so the PC serves HTTPS there, with a certificate from
its own certificate authority (lan.certificates) that each tablet trusts once.

`prepare` decides everything (addresses, certificate, the environment gunicorn runs in)
and `serve` replaces this process with gunicorn. It must not change the database.
"""

from __future__ import annotations

import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

import segno

from lan.addresses import host_names, lan_addresses, parse_addresses
from lan.certificates import LanCertificate, ensure_certificate

DEFAULT_PORT = 8443
SECRET_FILE = "secret-key"


@dataclass(frozen=True)
class LanServer:
    urls: list[str]  # what a tablet opens, the first one shown as the QR code
    bind: str
    certificate: LanCertificate
    environment: dict[str, str]  # added to this process's for gunicorn and its workers
    found_no_network: bool = False


def prepare(
    *, folder: Path, port: int = DEFAULT_PORT, bind: str = "0.0.0.0", addresses: str = ""
) -> LanServer:
    """The certificate (made or remade as needed) and the settings the server runs with.

    `addresses`: the lab's own choice, comma-separated; empty = this computer's interfaces.
    Raises ValueError with a message for a bad address or port."""
    if not 0 < port < 65536:
        raise ValueError(f"Port {port} is not a TCP port (1-65535).")
    lan = parse_addresses(addresses) if addresses.strip() else lan_addresses()
    names = host_names()
    ips = list(dict.fromkeys([*lan, "127.0.0.1"]))
    certificate = ensure_certificate(folder, ips=ips, hostnames=names)
    urls = [_url(address, port) for address in lan] or [_url("localhost", port)]
    hosts = list(dict.fromkeys([*lan, *names, "127.0.0.1"]))
    origins = [_url(host, port).rstrip("/") for host in hosts]
    environment = {
        "LABSTUDY_ALLOWED_HOSTS": ",".join(hosts),
        "LABSTUDY_CSRF_TRUSTED_ORIGINS": ",".join(origins),
        "LABSTUDY_HTTPS": "1",
        "LABSTUDY_LAN_URLS": ",".join(urls),
        "LABSTUDY_LAN_DIR": str(folder),
        # Anyone on the network reaches this server: no debug pages, and a secret key of
        # this computer's own rather than the development one everybody can read.
        "LABSTUDY_DEBUG": os.environ.get("LABSTUDY_DEBUG", "0"),
        "LABSTUDY_SECRET_KEY": os.environ.get("LABSTUDY_SECRET_KEY") or _secret_key(folder),
        # Without a reverse proxy in front, every connection a tablet's browser opens ahead
        # (and leaves idle) holds a gunicorn thread until it times out: measured, three
        # idle connections kept a 2-thread worker from answering for 20 s. Threads waiting
        # on a socket cost little, so many per worker.
        "LABSTUDY_THREADS": os.environ.get("LABSTUDY_THREADS", "32"),
    }
    return LanServer(
        urls=urls,
        bind=f"{bind}:{port}",
        certificate=certificate,
        environment=environment,
        found_no_network=not lan,
    )


def banner(server: LanServer, *, accounts: list[str], out=None) -> None:
    """What the terminal shows: the address, its QR code, the certificate, the accounts."""
    out = out or sys.stdout
    first = server.urls[0]
    if server.found_no_network:
        lines = [
            "",
            "No network address was found: is this computer connected to the lab network?",
            "Until it is, labstudy answers on this computer only. Give the address by hand",
            "with make lan LAN_ADDRESS=192.168.1.20 (the computer's address on the lab network).",
            "",
        ]
    else:
        lines = ["", "labstudy is on the lab network. On a tablet, open:", ""]
    lines += [f"    {url}" for url in server.urls]
    lines += ["", "or scan this code with the tablet's camera:"]
    out.write("\n".join(lines) + "\n")
    out.write(terminal_qr(first))
    ca = f"{first}connect/labstudy-ca.crt"
    made = (
        "This computer's certificate authority is new: each tablet must trust it once."
        if server.certificate.ca_made
        else "Tablets that trusted this computer before need nothing new."
    )
    out.write(
        "\n".join(
            [
                "",
                "First time on a tablet: install this computer's certificate from",
                f"    {ca}",
                "and trust it (README, 'Tablets on the lab network'). " + made,
                f"Certificate files: {server.certificate.ca_cert.parent}",
                "The same addresses and codes are on the 'Connect a tablet' page.",
                *([""] + accounts if accounts else []),
                "",
                "Stop with Ctrl+C.",
                "",
            ]
        )
    )
    out.flush()


def terminal_qr(text: str) -> str:
    """`text` as a QR code drawn with half blocks in explicit black and white, two module
    rows per line, so a phone reads it on a dark or a light terminal alike (segno's own
    terminal output inverts the terminal's colours, which flips the code on a light one)."""
    rows = [list(row) for row in segno.make(text, error="m").matrix_iter(border=4)]
    if len(rows) % 2:
        rows.append([0] * len(rows[0]))
    lines = []
    for top, bottom in zip(rows[::2], rows[1::2], strict=True):
        cells = [
            # Upper half block: its colour (foreground) is the top module, the background
            # the bottom one. 30/40 black, 97/107 bright white.
            f"\x1b[{30 if t else 97};{40 if b else 107}m\u2580"
            for t, b in zip(top, bottom, strict=True)
        ]
        lines.append("".join(cells) + "\x1b[0m")
    return "\n".join(lines) + "\n"


def serve(server: LanServer, *, base_dir: Path) -> None:
    """Replace this process with gunicorn (gunicorn.conf.py) on HTTPS. Does not return."""
    os.environ.update(server.environment)
    sys.stdout.flush()
    sys.stderr.flush()
    arguments = [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        str(base_dir / "gunicorn.conf.py"),
        "--chdir",
        str(base_dir),
        "--bind",
        server.bind,
        "--certfile",
        str(server.certificate.cert),
        "--keyfile",
        str(server.certificate.key),
        # gunicorn's control socket sits at one path per user: a second server (the tests,
        # a production gunicorn) would take it over. make lan has no use for it.
        "--no-control-socket",
        "labstudy.wsgi:application",
    ]
    os.execv(sys.executable, arguments)


def _url(host: str, port: int) -> str:
    host = f"[{host}]" if ":" in host else host
    return f"https://{host}/" if port == 443 else f"https://{host}:{port}/"


def _secret_key(folder: Path) -> str:
    """This computer's own key for signing sign-in cookies, made once, 0600."""
    path = folder / SECRET_FILE
    if path.exists():
        key = path.read_text().strip()
        if len(key) >= 50:
            os.chmod(path, 0o600)
            return key
    key = secrets.token_urlsafe(50)
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key
