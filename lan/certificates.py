"""The local certificate authority and the server certificate `make lan` serves with.

A tablet trusts the lab PC's own certificate authority once (README, "Tablets on the lab
network"); the server certificate that authority signs names the PC's LAN addresses, its
hostname and localhost, and is made again whenever those change or it nears its end, so a
new address never asks the tablets to trust anything new. The authority is kept for ten
years; both private keys are written readable by their owner only (0600).

Uses `cryptography` only: nothing is downloaded. It must not read Django settings or serve
anything (lan.serve does that).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_CERT = "labstudy-ca.crt"
CA_KEY = "labstudy-ca.key"
SERVER_CERT = "server.crt"
SERVER_KEY = "server.key"

CA_DAYS = 3650
# Apple refuses a TLS server certificate valid for more than 825 days, browsers following
# the CA/Browser Forum 398; 397 stays inside both.
SERVER_DAYS = 397
# Made again this long before it ends, so a lab never meets an expired one mid-study.
RENEW_BEFORE = dt.timedelta(days=30)
# Tablets whose clock runs a little behind still accept a certificate made a minute ago.
BACKDATE = dt.timedelta(days=1)

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class LanCertificate:
    """Where the files are, and what this run had to make."""

    ca_cert: Path
    cert: Path
    key: Path
    ca_made: bool
    server_made: bool


def ensure_certificate(
    folder: Path,
    *,
    ips: Iterable[str],
    hostnames: Iterable[str],
    now: dt.datetime | None = None,
) -> LanCertificate:
    """The CA and a server certificate for exactly these addresses and names in `folder`,
    made or remade only when needed. Raises ValueError for an address that is not an IP."""
    now = now or dt.datetime.now(dt.UTC)
    wanted_ips = {ipaddress.ip_address(ip.strip()) for ip in ips}
    wanted_names = {name.strip().lower() for name in hostnames if name.strip()}
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    paths = {name: folder / name for name in (CA_CERT, CA_KEY, SERVER_CERT, SERVER_KEY)}

    ca_made = False
    ca = _load(paths[CA_CERT], paths[CA_KEY])
    if ca is None or ca[0].not_valid_after_utc - RENEW_BEFORE < now:
        ca = _make_ca(now)
        _write(paths[CA_KEY], _key_pem(ca[1]), private=True)
        _write(paths[CA_CERT], ca[0].public_bytes(serialization.Encoding.PEM))
        ca_made = True
    ca_cert, ca_key = ca

    server = _load(paths[SERVER_CERT], paths[SERVER_KEY])
    if ca_made or server is None or not _fits(server[0], ca_cert, wanted_ips, wanted_names, now):
        cert, key = _make_server(ca_cert, ca_key, wanted_ips, wanted_names, now)
        _write(paths[SERVER_KEY], _key_pem(key), private=True)
        _write(paths[SERVER_CERT], cert.public_bytes(serialization.Encoding.PEM))
        server_made = True
    else:
        server_made = False
    # A key left readable by an older copy or a careless copy is closed again.
    for name in (CA_KEY, SERVER_KEY):
        os.chmod(paths[name], 0o600)
    return LanCertificate(
        ca_cert=paths[CA_CERT],
        cert=paths[SERVER_CERT],
        key=paths[SERVER_KEY],
        ca_made=ca_made,
        server_made=server_made,
    )


def subject_alt_names(cert_path: Path) -> tuple[set[IpAddress], set[str]]:
    """The IP addresses and DNS names a certificate file is valid for."""
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    return _names(cert)


def _names(cert: x509.Certificate) -> tuple[set[IpAddress], set[str]]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set(), set()
    return set(san.get_values_for_type(x509.IPAddress)), set(san.get_values_for_type(x509.DNSName))


def _fits(cert, ca_cert, ips, names, now) -> bool:
    if (set(ips), set(names)) != _names(cert):
        return False
    if cert.not_valid_after_utc - RENEW_BEFORE < now:
        return False
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _load(cert_path: Path, key_path: Path):
    if not (cert_path.exists() and key_path.exists()):
        return None
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except ValueError:
        return None  # a damaged file is made again, never served
    if cert.public_key().public_numbers() != key.public_key().public_numbers():
        return None
    return cert, key


def _make_ca(now: dt.datetime):
    import socket

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "labstudy"),
            x509.NameAttribute(
                NameOID.COMMON_NAME, f"labstudy local CA ({socket.gethostname()[:40]})"
            ),
        ]
    )
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _make_server(ca_cert, ca_key, ips, names, now):
    key = ec.generate_private_key(ec.SECP256R1())
    sans = [x509.DNSName(n) for n in sorted(names)] + [
        x509.IPAddress(ip) for ip in sorted(ips, key=lambda ip: (ip.version, int(ip)))
    ]
    if not sans:
        raise ValueError("A server certificate needs at least one address or name.")
    common = sorted(names)[0] if names else str(sorted(ips, key=int)[0])
    cert = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "labstudy"),
                    x509.NameAttribute(NameOID.COMMON_NAME, common[:64]),
                ]
            )
        )
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + dt.timedelta(days=SERVER_DAYS))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key


def _key_pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write(path: Path, data: bytes, *, private: bool = False) -> None:
    """Written whole or not at all; a private key is 0600 from its first byte."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.unlink(missing_ok=True)  # left by a stopped run, perhaps with other modes
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(temporary, 0o600 if private else 0o644)
    os.replace(temporary, path)
