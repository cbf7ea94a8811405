"""The address guard's verdicts, the IPv6 forms that carry a private or local address included."""

from __future__ import annotations

import pytest

from monitor.addresses import is_public_address, literal_address


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2606:4700::1111", True),
        ("::ffff:8.8.8.8", True),  # IPv4-mapped: judged by the IPv4 address
        ("64:ff9b::808:808", True),  # well-known NAT64 prefix: judged by the IPv4 address
        ("10.0.0.1", False),
        ("169.254.169.254", False),
        ("::ffff:10.0.0.1", False),
        ("2002:0a00:0001::1", False),  # 6to4 of 10.0.0.1
        # Issue 16: these three were taken for public.
        ("::8.8.8.8", False),  # ::/96, IPv4-compatible (deprecated)
        ("::a00:1", False),
        ("64:ff9b:1::808:808", False),  # 64:ff9b:1::/48, NAT64 for local use
        ("::ffff:0:a00:1", False),  # ::ffff:0:0:0/96, IPv4-translated
        ("::ffff:0:808:808", False),
    ],
)
def test_is_public_address(address: str, public: bool) -> None:
    assert is_public_address(address) is public


@pytest.mark.parametrize(
    ("host", "address"),
    [("2130706433", "127.0.0.1"), ("0x7f000001", "127.0.0.1"), ("127.1", "127.0.0.1")],
)
def test_literal_spellings(host: str, address: str) -> None:
    assert str(literal_address(host)) == address
