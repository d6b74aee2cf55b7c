"""This computer's addresses on the lab network: what a tablet can reach it at.

Reads the network interfaces with psutil (Linux, macOS and Windows alike). Interfaces that
are down, loopback, link-local (169.254.x.x, an unconfigured cable) and the bridges of
virtual machines and containers are left out: no tablet is on those. An address the lab
gives by hand (`make lan LAN_ADDRESS=...`) replaces the guess. It must not send anything
on the network.
"""

from __future__ import annotations

import ipaddress
import socket

import psutil

# Interfaces of local virtual networks (Docker, libvirt, VirtualBox, VMware, LXC, k8s).
VIRTUAL_PREFIXES = ("docker", "br-", "veth", "virbr", "vboxnet", "vmnet", "lxcbr", "lxdbr", "cni")


def lan_addresses() -> list[str]:
    """IPv4 addresses of the interfaces that are up, private ranges first."""
    stats = psutil.net_if_stats()
    found: list[ipaddress.IPv4Address] = []
    for name, addresses in psutil.net_if_addrs().items():
        if name.lower().startswith(VIRTUAL_PREFIXES) or not getattr(stats.get(name), "isup", False):
            continue
        for address in addresses:
            if address.family != socket.AF_INET:
                continue
            ip = ipaddress.IPv4Address(address.address)
            if ip.is_loopback or ip.is_link_local or ip.is_unspecified or ip in found:
                continue
            found.append(ip)
    found.sort(key=lambda ip: (not ip.is_private, int(ip)))
    return [str(ip) for ip in found]


def parse_addresses(text: str) -> list[str]:
    """Addresses given by hand, comma- or space-separated; ValueError names a bad one."""
    addresses = []
    for part in text.replace(",", " ").split():
        try:
            addresses.append(str(ipaddress.ip_address(part)))
        except ValueError:
            raise ValueError(f"'{part}' is not an IP address (e.g. 192.168.1.20)") from None
    return addresses


def host_names() -> list[str]:
    """localhost, this computer's name, and its .local name (tablets on the same network
    find it by that name where the PC announces itself: macOS, most Linux desktops)."""
    names = ["localhost"]
    host = socket.gethostname().strip().lower().rstrip(".")
    if host and host != "localhost" and _is_dns_name(host):
        names.append(host)
        if "." not in host:
            names.append(f"{host}.local")
    return names


def _is_dns_name(name: str) -> bool:
    labels = name.split(".")
    return len(name) <= 253 and all(
        0 < len(label) <= 63
        and label.replace("-", "").isalnum()
        and label.isascii()
        and not label.startswith("-")
        for label in labels
    )
