"""Who may do what, live: room grants and token revocation over HTTP, and the link that closes a
caller's open connections when they sign out, change role, lose a grant or have a token revoked.

The account and grant services only bump a version and tell `IdentityChanges`; this wiring hands
each change to the Socket.IO server on this node and, through Redis, on every other node (http/
never imports realtime/).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from ..domain.accounts.grants import Subject, SubjectKind
from ..domain.accounts.identity import Change, IdentityChanged
from ..http import grants as grant_routes
from ..http import tokens as token_routes
from ..http.keys import IDENTITY, REALTIME, SETTINGS
from ..realtime.node_channel import NodeChannel

logger = logging.getLogger(__name__)

CHANNEL = "fieldcast:identity"


def setup(app: web.Application) -> None:
    app.add_routes(grant_routes.routes)
    app.add_routes(token_routes.routes)
    app.cleanup_ctx.append(_identity_link)


def _decode(body: dict[str, Any]) -> IdentityChanged:
    session_hash = body.get("session_hash")
    return IdentityChanged(
        Subject(SubjectKind(body["kind"]), int(body["id"])), Change(body["change"]), int(body["version"]),
        session_hash if isinstance(session_hash, str) else None,
    )


async def _identity_link(app: web.Application) -> AsyncIterator[None]:
    realtime = app[REALTIME]
    pending: set[asyncio.Task[None]] = set()

    def received(body: dict[str, Any]) -> None:
        try:
            change = _decode(body)
        except (KeyError, ValueError, TypeError):
            logger.warning("ignored a malformed identity change", extra={"channel": CHANNEL})
            return
        task = asyncio.ensure_future(realtime.identity_changed(change))
        pending.add(task)
        task.add_done_callback(pending.discard)

    channel = NodeChannel(app[SETTINGS].redis_url, CHANNEL, received)

    async def changed(change: IdentityChanged) -> None:
        await realtime.identity_changed(change)
        if change.change.ends_connections:
            await channel.publish(encode(change))

    app[IDENTITY].subscribe(changed)
    await channel.start()
    yield
    await channel.close()
    await asyncio.gather(*pending, return_exceptions=True)


def encode(change: IdentityChanged) -> dict[str, Any]:
    return {
        "kind": change.subject.kind.value, "id": change.subject.id, "change": change.change.value,
        "version": change.version, "session_hash": change.session_hash,
    }
