"""ICE configuration: explicit servers (never aiortc's default STUN), public addresses, loopback."""

from __future__ import annotations

import aioice.ice
import pytest

from streams.ice import advertise_public_ips, apply_host_policy, ice_servers, link_headers
from streams.options import IceOptions


def test_no_servers_means_an_empty_list_not_the_default_stun() -> None:
    assert ice_servers(IceOptions()) == []


def test_turn_credentials_are_parsed_and_advertised_as_link_headers() -> None:
    opts = IceOptions(servers=("stun:stun.example.org:3478", "turn:fc:s3cret@turn.example.org:3478"))
    stun, turn = ice_servers(opts)
    assert stun.urls == "stun:stun.example.org:3478" and stun.username is None
    assert turn.urls == "turn:turn.example.org:3478" and turn.username == "fc" and turn.credential == "s3cret"
    links = link_headers(opts)
    assert links[0] == '<stun:stun.example.org:3478>; rel="ice-server"'
    assert 'username="fc"' in links[1] and 'credential="s3cret"' in links[1]


def test_bad_ice_url_is_refused() -> None:
    with pytest.raises(ValueError):
        ice_servers(IceOptions(servers=("http://nope",)))


def test_public_ip_mirrors_each_host_candidate() -> None:
    sdp = "v=0\r\na=candidate:abc 1 udp 2130706431 10.0.0.5 40000 typ host\r\na=end-of-candidates\r\n"
    out = advertise_public_ips(sdp, IceOptions(public_ips=("203.0.113.7",)))
    lines = out.split("\r\n")
    assert "a=candidate:abcp0 1 udp 2130706430 203.0.113.7 40000 typ host" in lines
    assert lines.index("a=candidate:abc 1 udp 2130706431 10.0.0.5 40000 typ host") < lines.index(
        "a=candidate:abcp0 1 udp 2130706430 203.0.113.7 40000 typ host"
    )


def test_loopback_is_offered_only_when_asked() -> None:
    try:
        apply_host_policy(IceOptions(include_loopback=False))
        assert "127.0.0.1" not in aioice.ice.get_host_addresses(True, False)
        apply_host_policy(IceOptions(include_loopback=True))
        assert "127.0.0.1" in aioice.ice.get_host_addresses(True, False)
    finally:
        apply_host_policy(IceOptions(include_loopback=True))
