"""`make lan` end to end: the HTTPS server it starts (manage.py serve_lan, gunicorn with
this computer's own certificate) in a subprocess on 127.0.0.1, with its own SQLite file
made from the models; Chromium signs in as a technician, the bench page's
service worker installs, the connection drops, and a reload still gives a working page
that queues a tap, stored once when the connection returns.

A browser gives a service worker only to a secure context; over plain http on a LAN
address the same offline reload shows the browser's own error page.
"""

import base64
import hashlib
import io
import json
import os
import socket
import sqlite3
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import zxingcpp
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from PIL import Image
from playwright.sync_api import expect

from lan.certificates import ensure_certificate
from tests.browser.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    TABLET,
    login,
    screenshot,
    too_small_targets,
    wait_until,
)

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "lan-tablet-password"
QUEUE_KEY = "labstudy.bench.queue.v1"


# The server's database, made from the models as pytest's test database is (the migrations
# themselves are checked by tests/labstudy/test_backup.py; running them here costs a loaded
# CI machine a minute), with the Stoelting set their data migration adds, and the world.
BUILD_DATABASE = f"""
import json
import django
django.setup()
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
settings.MIGRATION_MODULES = {{app.label: None for app in apps.get_app_configs()}}
call_command("migrate", run_syncdb=True, verbosity=0)
from sessions.services import stoelting_set
stoelting_set()
from tests.worlds import make_lan_world
print(json.dumps(make_lan_world(password={PASSWORD!r})))
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(args: list[str], env: dict) -> str:
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.fixture
def lan_server(tmp_path, browser):
    folder = tmp_path
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "labstudy.settings",
        "DATABASE_URL": f"sqlite:///{folder / 'lan.sqlite3'}",
        "LABSTUDY_LAN_DIR": str(folder / "certificate"),
        "LABSTUDY_STATIC_ROOT": str(folder / "static"),
        "LABSTUDY_WORKERS": "1",
    }
    for name in (
        "LABSTUDY_SECRET_KEY",
        "LABSTUDY_DEBUG",
        "LABSTUDY_ALLOWED_HOSTS",
        "LABSTUDY_THREADS",
    ):
        env.pop(name, None)
    paths = json.loads(_run(["-c", BUILD_DATABASE], env).strip().splitlines()[-1])
    log = (folder / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "manage.py", "serve_lan", "--bind", "127.0.0.1"]
        + ["--port", str(port), "--address", "127.0.0.1"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"https://127.0.0.1:{port}/"
    ca = folder / "certificate" / "labstudy-ca.crt"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, (folder / "server.log").read_text()[-3000:]
            try:
                # Python's own TLS check: the certificate is valid for 127.0.0.1 when the
                # CA it was made with is trusted, as a tablet trusts it.
                context = ssl.create_default_context(cafile=str(ca))
                with urllib.request.urlopen(url + "accounts/login/", context=context) as answer:
                    assert answer.status == 200
                break
            except (OSError, ssl.SSLError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        yield {
            "url": url,
            "port": port,
            "paths": paths,
            "ca": ca,
            "db": folder / "lan.sqlite3",
            "cert": folder / "certificate" / "server.crt",
            "log": folder / "server.log",
        }
    finally:
        server.terminate()
        try:
            server.wait(timeout=40)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture
def trusting_browser(browser, lan_server):
    """Chromium that trusts the server's key, as a tablet that installed the CA trusts its
    certificate. (Playwright's ignore_https_errors is not enough: Chromium refuses a
    service worker on any page with a certificate error, ignored or not.)"""
    cert = x509.load_pem_x509_certificate(lan_server["cert"].read_bytes())
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    trusted = base64.b64encode(hashlib.sha256(spki).digest()).decode()
    chromium = browser.browser_type.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[*CHROMIUM_ARGS, f"--ignore-certificate-errors-spki-list={trusted}"],
    )
    yield chromium
    chromium.close()


@pytest.fixture
def tablet(trusting_browser, lan_server):
    """A new tablet (its own cookies, storage and service workers) that trusts the server."""
    contexts = []

    def make():
        context = trusting_browser.new_context(viewport=TABLET, base_url=lan_server["url"])
        context.set_default_timeout(30_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()  # a second close does nothing


def _stored_taps(db: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(db) as connection:
        return connection.execute(
            "SELECT f.size, s.withdrew FROM vf_sessions_stimulus s "
            "JOIN vf_sessions_filament f ON f.id = s.filament_id ORDER BY s.id"
        ).fetchall()


def test_make_lan_serves_the_bench_to_tablets_over_https(lan_server, tablet, browser):
    """One server for every check: starting it is most of this test's time, and separate
    tests would each start one on a different xdist worker."""
    _the_banner_gives_the_address_and_the_certificate(lan_server)
    _idle_connections_do_not_stop_it_answering(lan_server)
    for check in (
        _a_bench_page_reloads_offline_and_queues_a_tap,
        _connect_page_shows_the_address_and_gives_the_certificate,
    ):
        page = tablet()
        check(lan_server, page)
        page.context.close()  # its open connections would hold the server's few threads
    _an_untrusting_tablet_gets_no_service_worker(lan_server, browser)


def _the_banner_gives_the_address_and_the_certificate(lan_server):
    log = lan_server["log"].read_text()
    assert lan_server["url"] in log
    assert lan_server["url"] + "connect/labstudy-ca.crt" in log
    assert "Listening at: https://127.0.0.1:" in log  # gunicorn, on TLS


def _idle_connections_do_not_stop_it_answering(lan_server):
    """Three tablets' browsers open connections ahead and leave them idle; with one worker
    of make lan's threads the server still answers at once (a 2-thread worker with three
    idle connections took 20 s)."""
    idle = [socket.create_connection(("127.0.0.1", lan_server["port"])) for _ in range(18)]
    try:
        context = ssl.create_default_context(cafile=str(lan_server["ca"]))
        started = time.monotonic()
        with urllib.request.urlopen(
            lan_server["url"] + "accounts/login/", context=context, timeout=15
        ) as answer:
            assert answer.status == 200
        assert time.monotonic() - started < 5
    finally:
        for sock in idle:
            sock.close()


def _a_bench_page_reloads_offline_and_queues_a_tap(lan_server, page):
    login(page, "tess", PASSWORD)
    assert page.evaluate("window.isSecureContext") is True
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["sessionid"]["secure"] and cookies["csrftoken"]["secure"]
    page.goto(lan_server["paths"]["session"])
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    # the worker caches this page for offline reloads
    wait_until(page, "() => caches.match(location.href, {ignoreVary: true}).then(Boolean)")
    page.context.set_offline(True)
    page.reload()  # served by the service worker: no browser error page
    withdrawal = page.get_by_role("button", name="Withdrawal", exact=True)
    expect(withdrawal).to_be_visible()
    assert page.locator("#bench-next-size").inner_text().strip() == "4.31"
    page.get_by_role("button", name="No response", exact=True).click()
    expect(page.locator("#bench-sync")).to_have_text("1 tap waiting to sync")
    assert _stored_taps(lan_server["db"]) == []

    page.context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    page.wait_for_function(
        f"() => JSON.parse(localStorage.getItem('{QUEUE_KEY}') || '[]').length === 0"
    )
    assert _stored_taps(lan_server["db"]) == [("4.31", 0)]


def _connect_page_shows_the_address_and_gives_the_certificate(lan_server, page):
    login(page, "tess", PASSWORD)
    page.get_by_role("link", name="Connect a tablet").click()
    page.wait_for_url("**/connect/")
    url = lan_server["url"]
    expect(page.get_by_role("link", name=url, exact=True)).to_be_visible()
    codes = page.locator("img.connect-qr")
    expect(codes).to_have_count(2)
    assert codes.nth(0).get_attribute("alt") == f"QR code of {url}connect/labstudy-ca.crt"
    assert codes.nth(1).get_attribute("alt") == f"QR code of {url}"
    # What a tablet's camera reads off the screen, and big enough to scan from arm's length.
    read = []
    for code in codes.all():
        assert code.bounding_box()["width"] >= 240
        picture = Image.open(io.BytesIO(code.screenshot()))
        read += [found.text for found in zxingcpp.read_barcodes(picture, try_invert=False)]
    assert read == [f"{url}connect/labstudy-ca.crt", url]
    assert too_small_targets(page) == []
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the certificate").click()
    saved = Path(download.value.path()).read_bytes()
    assert saved == lan_server["ca"].read_bytes()
    assert b"PRIVATE KEY" not in saved
    assert download.value.suggested_filename == "labstudy-ca.crt"


def _an_untrusting_tablet_gets_no_service_worker(lan_server, browser):
    """Why the README's trust steps matter: clicking through the warning (Playwright's
    ignore_https_errors) shows the pages, but Chromium refuses the offline worker."""
    context = browser.new_context(
        viewport=TABLET, base_url=lan_server["url"], ignore_https_errors=True
    )
    try:
        page = context.new_page()
        login(page, "tess", PASSWORD)
        page.goto(lan_server["paths"]["today"])
        refusal = page.evaluate(
            """() => navigator.serviceWorker.register(
                   document.querySelector('[data-sw]').dataset.sw
               ).then(() => 'registered', (error) => error.message)"""
        )
        assert "SSL certificate error" in refusal
    finally:
        context.close()


def test_the_connect_page_as_a_lab_sees_it(
    transactional_db, django_user_model, new_page, settings, tmp_path
):
    """The screenshot for the README: a LAN address as make lan names it (the HTTPS test
    above runs on 127.0.0.1 and a new port each time)."""
    ensure_certificate(tmp_path, ips=["192.168.1.20", "127.0.0.1"], hostnames=["labpc"])
    settings.LABSTUDY_LAN_DIR = tmp_path
    settings.LABSTUDY_LAN_URLS = ["https://192.168.1.20:8443/", "https://10.0.0.7:8443/"]
    django_user_model.objects.create_user("tess", password=PASSWORD)
    page = new_page(TABLET)
    login(page, "tess", PASSWORD)
    page.goto("/connect/")
    read = []
    for code in page.locator("img.connect-qr").all():
        picture = Image.open(io.BytesIO(code.screenshot()))
        read += [found.text for found in zxingcpp.read_barcodes(picture, try_invert=False)]
    assert read == [
        "https://192.168.1.20:8443/connect/labstudy-ca.crt",
        "https://192.168.1.20:8443/",
    ]
    expect(page.get_by_role("link", name="https://10.0.0.7:8443/")).to_be_visible()
    assert too_small_targets(page) == []
    screenshot(page, "connect-tablet")
