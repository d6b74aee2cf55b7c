"""What `make lan` decides before gunicorn starts (lan.serve, lan.addresses and the
serve_lan command run with --check): addresses, hosts, the secret key, the banner."""

import io
import os
import re
import socket
import stat
from types import SimpleNamespace

import pytest
import zxingcpp
from django.core.management import CommandError, call_command

from lan import addresses, serve
from lan.certificates import subject_alt_names


def _fake_interfaces(monkeypatch, table):
    """psutil's view of the machine: {name: (is_up, [IPv4 addresses])}."""
    monkeypatch.setattr(
        addresses.psutil,
        "net_if_addrs",
        lambda: {
            name: [SimpleNamespace(family=socket.AF_INET, address=a) for a in ips]
            + [SimpleNamespace(family=socket.AF_INET6, address="fe80::1")]
            for name, (_up, ips) in table.items()
        },
    )
    monkeypatch.setattr(
        addresses.psutil,
        "net_if_stats",
        lambda: {name: SimpleNamespace(isup=up) for name, (up, _ips) in table.items()},
    )


def test_the_lan_addresses_are_the_ones_a_tablet_can_reach(monkeypatch):
    _fake_interfaces(
        monkeypatch,
        {
            "lo": (True, ["127.0.0.1"]),
            "eth0": (True, ["130.88.4.9"]),  # a university LAN with public addresses
            "wlan0": (True, ["192.168.1.20"]),
            "eth1": (True, ["169.254.10.2"]),  # a cable with no DHCP answer
            "wlan1": (False, ["10.0.0.3"]),  # down
            "docker0": (True, ["172.17.0.1"]),
            "virbr0": (True, ["192.168.122.1"]),
        },
    )
    assert addresses.lan_addresses() == ["192.168.1.20", "130.88.4.9"]


def test_this_machine_has_at_least_its_loopback_left_out():
    found = addresses.lan_addresses()
    assert "127.0.0.1" not in found
    assert all(not a.startswith("169.254.") for a in found)


def test_addresses_given_by_hand_are_checked_one_by_one():
    assert addresses.parse_addresses("192.168.1.20, 10.0.0.5") == ["192.168.1.20", "10.0.0.5"]
    with pytest.raises(ValueError, match="'192.168.1.300' is not an IP address"):
        addresses.parse_addresses("192.168.1.20,192.168.1.300")
    with pytest.raises(ValueError, match="is not an IP address"):
        addresses.parse_addresses("labpc; rm -rf /")


def test_host_names_are_localhost_the_name_and_its_local_name(monkeypatch):
    monkeypatch.setattr(addresses.socket, "gethostname", lambda: "BenchPC")
    assert addresses.host_names() == ["localhost", "benchpc", "benchpc.local"]
    monkeypatch.setattr(addresses.socket, "gethostname", lambda: "lab pc_1")  # not DNS
    assert addresses.host_names() == ["localhost"]


def test_prepare_names_the_addresses_everywhere_the_server_needs_them(tmp_path, monkeypatch):
    monkeypatch.delenv("LABSTUDY_SECRET_KEY", raising=False)
    monkeypatch.delenv("LABSTUDY_DEBUG", raising=False)
    monkeypatch.delenv("LABSTUDY_THREADS", raising=False)
    monkeypatch.setattr(addresses.socket, "gethostname", lambda: "labpc")
    server = serve.prepare(folder=tmp_path, port=8443, addresses="192.168.1.20")
    assert server.urls == ["https://192.168.1.20:8443/"]
    assert server.bind == "0.0.0.0:8443"
    env = server.environment
    hosts = env["LABSTUDY_ALLOWED_HOSTS"].split(",")
    assert {"192.168.1.20", "localhost", "labpc", "labpc.local", "127.0.0.1"} == set(hosts)
    origins = env["LABSTUDY_CSRF_TRUSTED_ORIGINS"].split(",")
    assert "https://192.168.1.20:8443" in origins and "https://labpc.local:8443" in origins
    assert env["LABSTUDY_LAN_URLS"] == "https://192.168.1.20:8443/"
    assert env["LABSTUDY_DEBUG"] == "0"  # no debug pages on the network
    assert env["LABSTUDY_HTTPS"] == "1"
    assert int(env["LABSTUDY_THREADS"]) >= 32  # idle browser connections hold a thread each
    ips, names = subject_alt_names(server.certificate.cert)
    assert {str(ip) for ip in ips} == {"192.168.1.20", "127.0.0.1"}
    assert names == {"localhost", "labpc", "labpc.local"}


def test_the_secret_key_is_this_computers_own_kept_and_private(tmp_path, monkeypatch):
    monkeypatch.delenv("LABSTUDY_SECRET_KEY", raising=False)
    first = serve.prepare(folder=tmp_path, addresses="10.0.0.5").environment
    again = serve.prepare(folder=tmp_path, addresses="10.0.0.5").environment
    other = serve.prepare(folder=tmp_path / "other", addresses="10.0.0.5").environment
    key = first["LABSTUDY_SECRET_KEY"]
    assert len(key) >= 50 and key == again["LABSTUDY_SECRET_KEY"]  # sign-ins survive restarts
    assert key != other["LABSTUDY_SECRET_KEY"]
    assert "dev-only-insecure" not in key
    assert stat.S_IMODE(os.stat(tmp_path / serve.SECRET_FILE).st_mode) == 0o600


def _as_a_terminal_shows_it(text: str):
    """The picture a terminal draws: each upper half block paints its top half in the
    foreground colour and its bottom half in the background colour (30/40 black)."""
    from PIL import Image

    rows = []
    for line in text.rstrip("\n").split("\n"):
        cells = re.findall(r"\x1b\[(\d+);(\d+)m\u2580", line)
        rows.append([0 if fg == "30" else 255 for fg, _bg in cells])
        rows.append([0 if bg == "40" else 255 for _fg, bg in cells])
    image = Image.new("L", (len(rows[0]), len(rows)))
    image.putdata([value for row in rows for value in row])
    return image.resize((image.width * 8, image.height * 8), Image.NEAREST)


@pytest.mark.parametrize(
    "url", ["https://192.168.1.20:8443/", "https://[fd00::20]:8443/", "https://labpc.local/"]
)
def test_the_terminal_qr_code_reads_back_as_the_address(url):
    # Not inverted: a phone camera that reads only dark-on-light codes reads it too.
    picture = _as_a_terminal_shows_it(serve.terminal_qr(url))
    found = zxingcpp.read_barcodes(picture, try_invert=False)
    assert [code.text for code in found] == [url]
    assert found[0].format == zxingcpp.BarcodeFormat.QRCode


def test_a_port_outside_tcp_is_refused(tmp_path):
    with pytest.raises(ValueError, match="70000 is not a TCP port"):
        serve.prepare(folder=tmp_path, port=70000, addresses="10.0.0.5")


def test_an_ipv6_address_is_bracketed_in_its_address():
    assert serve._url("fd00::20", 8443) == "https://[fd00::20]:8443/"
    assert serve._url("10.0.0.5", 443) == "https://10.0.0.5/"


@pytest.mark.django_db
def test_the_command_prints_the_address_its_qr_and_the_demo_accounts(
    tmp_path, settings, monkeypatch, demo_study
):
    settings.LABSTUDY_LAN_DIR = tmp_path / "lan"
    settings.STATIC_ROOT = tmp_path / "static"
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    call_command("serve_lan", "--check", "--port", "9443", "--address", "192.168.1.20")
    text = out.getvalue()
    assert "https://192.168.1.20:9443/" in text
    assert "https://192.168.1.20:9443/connect/labstudy-ca.crt" in text
    assert "certificate authority is new: each tablet must trust it once" in text
    assert "technician" in text and "labstudy-demo" in text
    assert serve.terminal_qr("https://192.168.1.20:9443/") in text
    assert (tmp_path / "lan" / "labstudy-ca.crt").exists()
    assert (tmp_path / "static" / "js" / "bench-sw.js").exists()  # served by WhiteNoise
    out.truncate(0)
    call_command("serve_lan", "--check", "--port", "9443", "--address", "192.168.1.20")
    assert "Tablets that trusted this computer before need nothing new." in out.getvalue()


@pytest.mark.django_db
def test_the_command_refuses_a_bad_address_with_a_message(tmp_path, settings):
    settings.LABSTUDY_LAN_DIR = tmp_path / "lan"
    with pytest.raises(CommandError, match="'lab-pc' is not an IP address"):
        call_command("serve_lan", "--check", "--address", "lab-pc")
    assert not (tmp_path / "lan").exists()


def test_a_computer_with_no_network_is_told_so(tmp_path, monkeypatch):
    _fake_interfaces(monkeypatch, {"lo": (True, ["127.0.0.1"])})
    server = serve.prepare(folder=tmp_path, port=8443)
    assert server.urls == ["https://localhost:8443/"]
    out = io.StringIO()
    serve.banner(server, accounts=[], out=out)
    assert "No network address was found" in out.getvalue()
    assert "labstudy is on the lab network" not in out.getvalue()
