"""ICE configuration for real deployments and for loopback tests.

aiortc asks Google's STUN server when `iceServers` is left unset, so we always pass an explicit
list (empty for a LAN or loopback). aioice never offers 127.0.0.1; `include_loopback` adds it, which
single-machine setups and the tests need. `public_ips` covers 1:1 NAT (a cloud VM): each host
candidate is advertised again with the public address and the same port.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from urllib.parse import quote

import aioice.ice
from aiortc import RTCConfiguration, RTCIceServer

from .options import IceOptions

logger = logging.getLogger(__name__)

_original_host_addresses: Callable[[bool, bool], list[str]] = aioice.ice.get_host_addresses


def _with_loopback(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    addresses = _original_host_addresses(use_ipv4, use_ipv6)
    if use_ipv4 and "127.0.0.1" not in addresses:
        addresses.append("127.0.0.1")
    return addresses


def apply_host_policy(options: IceOptions) -> None:
    """aioice reads host addresses from a module function; this is the only hook it offers."""
    aioice.ice.get_host_addresses = (  # type: ignore[assignment]
        _with_loopback if options.include_loopback else _original_host_addresses
    )


_ICE_URL = re.compile(r"^(?P<scheme>stuns?|turns?):(?:(?P<user>[^:@]+):(?P<password>[^@]+)@)?(?P<rest>.+)$")


def ice_servers(options: IceOptions) -> list[RTCIceServer]:
    servers = []
    for url in options.servers:
        m = _ICE_URL.match(url)
        if not m:
            raise ValueError(f"not an ICE server URL: {url!r}")
        plain = f"{m['scheme']}:{m['rest']}"
        servers.append(RTCIceServer(urls=plain, username=m["user"], credential=m["password"]))
    return servers


def rtc_configuration(options: IceOptions) -> RTCConfiguration:
    return RTCConfiguration(iceServers=ice_servers(options))


def link_headers(options: IceOptions) -> list[str]:
    """RFC 9725 section 4.6: the ICE servers a WHIP/WHEP client may use, as Link headers."""
    links = []
    for server in ice_servers(options):
        link = f'<{server.urls}>; rel="ice-server"'
        if server.username:
            link += f'; username="{quote(server.username)}"; credential="{quote(str(server.credential))}"'
            link += '; credential-type="password"'
        links.append(link)
    return links


_CANDIDATE = re.compile(r"^a=candidate:(\S+) (\d) (\S+) (\d+) (\S+) (\d+) typ host(.*)$")


def advertise_public_ips(sdp: str, options: IceOptions) -> str:
    """Add, after each host candidate, the same candidate at each public address (1:1 NAT)."""
    if not options.public_ips:
        return sdp
    out: list[str] = []
    for line in sdp.splitlines():
        out.append(line)
        m = _CANDIDATE.match(line)
        if not m:
            continue
        foundation, component, transport, priority, _address, port, rest = m.groups()
        for n, public in enumerate(options.public_ips):
            # A lower priority than the host candidate it mirrors, so a LAN peer still prefers the host one.
            prio = max(1, int(priority) - 1 - n)
            out.append(
                f"a=candidate:{foundation}p{n} {component} {transport} {prio} {public} {port} typ host{rest}"
            )
    return "\r\n".join(out) + "\r\n"
