"""Who is on the other end of a connection, when a reverse proxy stands in between.

X-Forwarded-For is believed only from addresses the operator lists in FIELDCAST_TRUSTED_PROXIES:
otherwise any client could name any address and walk past every per-address limit. Each proxy
appends the address it saw, so the list is read from the right, skipping the trusted proxies; the
first address left is the client.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Sequence
from functools import lru_cache

logger = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=16)
def _networks(trusted: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in trusted)


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return False
    return any(ip in net for net in networks)


def forwarded_client(peer: str | None, forwarded_for: Sequence[str], trusted_proxies: Sequence[str]) -> str:
    peer = peer or "unknown"
    if not trusted_proxies or not forwarded_for:
        return peer
    networks = _networks(tuple(trusted_proxies))
    if not _trusted(peer, networks):
        return peer
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, networks):
            try:
                return str(ipaddress.ip_address(hop.strip("[]")))
            except ValueError:
                # Garbage from a client the proxy passed on: the proxy's own view is all we know.
                logger.warning("unreadable X-Forwarded-For entry from a trusted proxy")
                return peer
    return hops[0] if hops else peer
