"""Tell public IP addresses from the rest, in every spelling a resolver accepts.

Shared by the crawler's address guard (``monitor.crawl.ssrf``) and the one-shot
``leakmon scan URL`` download (``monitor.download``), so both refuse the same
addresses: private, loopback, link-local (169.254.169.254), unspecified, reserved,
multicast, and IPv6 forms that carry one of those (IPv4-mapped, IPv4-compatible,
IPv4-translated, NAT64 and 6to4), plus NAT64's local-use prefix.
"""

from __future__ import annotations

import ipaddress
import socket

__all__ = ["is_public_address", "literal_address"]

#: NAT64 maps IPv4 addresses into IPv6; the IPv4 address inside is what is reached.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
#: Prefixes whose IPv6 addresses are never a public portal: NAT64 for local use
#: (RFC 8215), IPv4-compatible (deprecated, RFC 4291) and IPv4-translated (SIIT).
_NEVER_PUBLIC = (
    ipaddress.ip_network("64:ff9b:1::/48"),
    ipaddress.ip_network("::/96"),
    ipaddress.ip_network("::ffff:0:0:0/96"),
)


def is_public_address(address: str | ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Say whether an IP address is globally reachable (not private, loopback, link-local...).

    IPv4 addresses carried inside IPv6 ones (``::ffff:10.0.0.1``, NAT64, 6to4)
    are judged by the IPv4 address, which is what the packets reach.
    """
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address):
        if any(ip in net for net in _NEVER_PUBLIC):
            return False
        inner = ip.ipv4_mapped or ip.sixtofour
        if inner is None and ip in _NAT64:
            inner = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if inner is not None:
            return is_public_address(inner)
    return ip.is_global and not ip.is_multicast


def literal_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """Return the IP address a host spells, in any form a resolver accepts (``127.1``, hex)."""
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])  # an IPv6 zone id is not the address
    except ValueError:
        pass
    if host and all(c in "0123456789abcdefx." for c in host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None
