"""This computer's certificate authority and server certificate (lan.certificates).

Checked with cryptography's own path validator (x509.verification, the RFC 5280 and
CA/Browser Forum profile a browser applies), not with the code that made them."""

import datetime as dt
import ipaddress
import os
import stat

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.verification import (
    DNSName,
    IPAddress,
    PolicyBuilder,
    Store,
    VerificationError,
)

from lan.certificates import (
    CA_CERT,
    CA_KEY,
    SERVER_CERT,
    SERVER_KEY,
    ensure_certificate,
    subject_alt_names,
)

IPS = ["192.168.1.20", "10.0.0.5", "127.0.0.1"]
NAMES = ["localhost", "labpc", "labpc.local"]


def _load(path):
    return x509.load_pem_x509_certificate(path.read_bytes())


def _verify(made, name, *, when=None):
    """The chain a tablet that trusts the CA builds for `name`; raises if it would not."""
    ca, leaf = _load(made.ca_cert), _load(made.cert)
    builder = PolicyBuilder().store(Store([ca]))
    if when:
        builder = builder.time(when)
    verifier = builder.build_server_verifier(name)
    return verifier.verify(leaf, [])


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_certificate_names_every_address_and_host_given(tmp_path):
    made = ensure_certificate(tmp_path, ips=IPS, hostnames=NAMES)
    ips, names = subject_alt_names(made.cert)
    assert ips == {ipaddress.ip_address(ip) for ip in IPS}
    assert names == set(NAMES)
    for ip in IPS:
        chain = _verify(made, IPAddress(ipaddress.ip_address(ip)))
        assert chain[-1].subject == _load(made.ca_cert).subject
    for name in NAMES:
        _verify(made, DNSName(name))


def test_an_address_not_given_is_refused_by_the_verifier(tmp_path):
    made = ensure_certificate(tmp_path, ips=IPS, hostnames=NAMES)
    with pytest.raises(VerificationError, match="no matching subjectAltName"):
        _verify(made, IPAddress(ipaddress.ip_address("192.168.1.21")))
    with pytest.raises(VerificationError, match="no matching subjectAltName"):
        _verify(made, DNSName("example.org"))


def test_a_server_certificate_is_a_tls_server_leaf_under_apples_limit(tmp_path):
    made = ensure_certificate(tmp_path, ips=IPS, hostnames=NAMES)
    leaf, ca = _load(made.cert), _load(made.ca_cert)
    assert leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    usage = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]
    # Apple: at most 825 days for any TLS server certificate (CA/B Forum: 398).
    assert (leaf.not_valid_after_utc - leaf.not_valid_before_utc).days <= 398
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert b"PRIVATE KEY" not in made.ca_cert.read_bytes()


def test_the_same_addresses_keep_the_same_files(tmp_path):
    first = ensure_certificate(tmp_path, ips=IPS, hostnames=NAMES)
    files = {name: (tmp_path / name).read_bytes() for name in (CA_CERT, CA_KEY, SERVER_CERT)}
    again = ensure_certificate(tmp_path, ips=list(reversed(IPS)), hostnames=NAMES)
    assert (first.ca_made, first.server_made) == (True, True)
    assert (again.ca_made, again.server_made) == (False, False)
    assert files == {name: (tmp_path / name).read_bytes() for name in files}


def test_a_new_lan_address_remakes_the_server_certificate_under_the_same_ca(tmp_path):
    ensure_certificate(tmp_path, ips=IPS, hostnames=NAMES)
    ca_before = (tmp_path / CA_CERT).read_bytes()
    key_before = (tmp_path / SERVER_KEY).read_bytes()
    moved = ["192.168.7.44", "127.0.0.1"]  # the PC got another address from the router
    made = ensure_certificate(tmp_path, ips=moved, hostnames=NAMES)
    assert (made.ca_made, made.server_made) == (False, True)
    assert (tmp_path / CA_CERT).read_bytes() == ca_before  # tablets need nothing new
    assert (tmp_path / SERVER_KEY).read_bytes() != key_before
    assert subject_alt_names(made.cert)[0] == {ipaddress.ip_address(ip) for ip in moved}
    _verify(made, IPAddress(ipaddress.ip_address("192.168.7.44")))
    with pytest.raises(VerificationError, match="no matching subjectAltName"):
        _verify(made, IPAddress(ipaddress.ip_address("192.168.1.20")))


def test_a_new_hostname_remakes_it_too(tmp_path):
    ensure_certificate(tmp_path, ips=IPS, hostnames=NAMES)
    made = ensure_certificate(tmp_path, ips=IPS, hostnames=["localhost", "bench-pc"])
    assert made.server_made and not made.ca_made
    assert subject_alt_names(made.cert)[1] == {"localhost", "bench-pc"}


def test_a_certificate_near_its_end_is_renewed_before_it_fails(tmp_path):
    start = dt.datetime.now(dt.UTC)
    ensure_certificate(tmp_path, ips=IPS, hostnames=NAMES, now=start)
    later = start + dt.timedelta(days=380)  # 17 days before the 397-day certificate ends
    made = ensure_certificate(tmp_path, ips=IPS, hostnames=NAMES, now=later)
    assert (made.ca_made, made.server_made) == (False, True)
    _verify(made, IPAddress(ipaddress.ip_address("10.0.0.5")), when=later)


def test_a_lost_ca_makes_both_again_and_the_new_chain_holds(tmp_path):
    ensure_certificate(tmp_path, ips=IPS, hostnames=NAMES)
    (tmp_path / CA_KEY).unlink()
    made = ensure_certificate(tmp_path, ips=IPS, hostnames=NAMES)
    assert (made.ca_made, made.server_made) == (True, True)
    _verify(made, IPAddress(ipaddress.ip_address("192.168.1.20")))


def test_damaged_or_mismatched_files_are_made_again_not_served(tmp_path):
    ensure_certificate(tmp_path, ips=IPS, hostnames=NAMES)
    (tmp_path / SERVER_CERT).write_text("-----BEGIN CERTIFICATE-----\nnot one\n")
    made = ensure_certificate(tmp_path, ips=IPS, hostnames=NAMES)
    assert made.server_made and not made.ca_made
    _verify(made, DNSName("labpc"))
    # A key that does not belong to the certificate (a copy from another PC).
    other = tmp_path / "other"
    ensure_certificate(other, ips=IPS, hostnames=NAMES)
    (tmp_path / SERVER_KEY).write_bytes((other / SERVER_KEY).read_bytes())
    made = ensure_certificate(tmp_path, ips=IPS, hostnames=NAMES)
    assert made.server_made
    leaf_key = _load(made.cert).public_key().public_numbers()
    key = serialization.load_pem_private_key((tmp_path / SERVER_KEY).read_bytes(), None)
    assert key.public_key().public_numbers() == leaf_key


def test_private_keys_are_readable_by_their_owner_only(tmp_path):
    old_umask = os.umask(0)  # a careless shell: new files would be world-readable
    try:
        made = ensure_certificate(tmp_path / "lan", ips=IPS, hostnames=NAMES)
    finally:
        os.umask(old_umask)
    assert _mode(tmp_path / "lan" / CA_KEY) == 0o600
    assert _mode(made.key) == 0o600
    assert _mode(tmp_path / "lan") == 0o700
    assert _mode(made.ca_cert) == 0o644  # the public half, for tablets
    # A key someone opened up is closed again on the next run.
    os.chmod(made.key, 0o644)
    os.chmod(tmp_path / "lan" / CA_KEY, 0o666)
    ensure_certificate(tmp_path / "lan", ips=IPS, hostnames=NAMES)
    assert _mode(made.key) == 0o600
    assert _mode(tmp_path / "lan" / CA_KEY) == 0o600


def test_a_bad_address_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(ValueError, match="192.168.1.300"):
        ensure_certificate(tmp_path / "lan", ips=["192.168.1.300"], hostnames=NAMES)
    assert not (tmp_path / "lan").exists()
