"""The Connect a tablet page and the certificate download (lan.views): who may see what."""

import pytest
from django.urls import reverse

from lan.certificates import ensure_certificate

LAN_URL = "https://192.168.1.20:8443/"


@pytest.fixture
def lan(settings, tmp_path):
    """As `make lan` leaves the settings: the certificate made, the addresses named."""
    made = ensure_certificate(tmp_path, ips=["192.168.1.20", "127.0.0.1"], hostnames=["labpc"])
    settings.LABSTUDY_LAN_DIR = tmp_path
    settings.LABSTUDY_LAN_URLS = [LAN_URL, "https://10.0.0.7:8443/"]
    return made


def test_anonymous_is_sent_to_sign_in_and_back(client, lan):
    response = client.get("/connect/")
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next=/connect/"


@pytest.mark.parametrize("who", ["technician", "investigator", "data_manager", "outsider"])
def test_anyone_signed_in_sees_the_address_and_the_certificate_codes(client_for, lan, who):
    # An account on no study yet (outsider) sets up tablets too: the page shows only this
    # computer's address and the public certificate.
    page = client_for(who).get("/connect/").content.decode()
    assert f'<a href="{LAN_URL}">{LAN_URL}</a>' in page
    assert f'alt="QR code of {LAN_URL}"' in page
    assert f'alt="QR code of {LAN_URL}connect/labstudy-ca.crt"' in page
    assert page.count('src="data:image/svg+xml') == 2
    assert "https://10.0.0.7:8443/" in page  # the second address, in case the first fails
    assert "Certificate Trust Settings" in page and "CA certificate" in page
    assert "Tablets cannot reach labstudy yet" not in page


def test_without_make_lan_the_page_says_how_to_start_it(client_for, settings):
    settings.LABSTUDY_LAN_URLS = []
    page = client_for("technician").get("/connect/").content.decode()
    assert "Tablets cannot reach labstudy yet" in page
    assert "make lan" in page
    assert "data:image/svg+xml" not in page


def test_the_home_page_links_to_it(client_for):
    page = client_for("technician").get("/").content.decode()
    assert f'href="{reverse("connect_tablet")}"' in page


def test_the_certificate_is_served_to_a_tablet_not_yet_signed_in(client, lan):
    response = client.get("/connect/labstudy-ca.crt")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-x509-ca-cert"
    assert 'filename="labstudy-ca.crt"' in response["Content-Disposition"]
    body = b"".join(response.streaming_content)
    assert body == lan.ca_cert.read_bytes()
    assert body.startswith(b"-----BEGIN CERTIFICATE-----")
    assert b"PRIVATE KEY" not in body


def test_no_certificate_yet_is_a_plain_404(client, settings, tmp_path):
    settings.LABSTUDY_LAN_DIR = tmp_path / "none"
    response = client.get("/connect/labstudy-ca.crt")
    assert response.status_code == 404
    assert b"made by make lan" in response.content


@pytest.mark.parametrize(
    "path",
    [
        "/connect/labstudy-ca.key",
        "/connect/server.key",
        "/connect/secret-key",
        "/connect/../.lan/labstudy-ca.key",
        "/connect/%2e%2e/%2e%2e/etc/passwd",
        "/connect/labstudy-ca.crt/../labstudy-ca.key",
        "/connect/labstudy-ca.crt%00.key",
        "/connect/?next=https://evil.example/",
    ],
)
def test_no_address_reaches_a_private_key(client_for, lan, path):
    secret = "s3cr3t-signing-key-of-this-pc-" * 2
    (lan.ca_cert.parent / "secret-key").write_text(secret)
    private = [
        (lan.ca_cert.parent / "labstudy-ca.key").read_bytes().splitlines()[1],
        lan.key.read_bytes().splitlines()[1],
        secret.encode(),
    ]
    response = client_for("data_manager").get(path)
    assert response.status_code in (200, 404)
    body = response.content
    assert b"PRIVATE KEY" not in body
    assert [p for p in private if p in body] == []


def test_the_page_and_the_certificate_are_read_only(client_for, client, lan):
    assert client_for("data_manager").post("/connect/").status_code == 405
    assert client.post("/connect/labstudy-ca.crt").status_code == 405
