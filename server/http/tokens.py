"""API tokens over HTTP: an operator revokes one (they are made with `fieldcast token create`)."""

from __future__ import annotations

import logging

from aiohttp import web

from ..domain.accounts.grants import token_subject
from ..domain.accounts.identity import Change
from ..domain.accounts.roles import Role
from ..domain.errors import NotFound
from .auth import require_role
from .keys import IDENTITY, TOKENS
from .openapi import api

logger = logging.getLogger(__name__)
routes = web.RouteTableDef()


@routes.delete(r"/api/tokens/{token_id:\d+}")
@api("Revoke an API token: it stops working at once, open connections included", tag="accounts",
     role=Role.OPERATOR, status=204)
async def revoke_token(request: web.Request) -> web.Response:
    who = await require_role(request, Role.OPERATOR)
    token_id = int(request.match_info["token_id"])
    if not 1 <= token_id <= 2**53 or not await request.app[TOKENS].revoke(token_id):
        raise NotFound(f"no API token #{request.match_info['token_id']}")
    logger.info("API token #%d revoked", token_id, extra={"user": who.label})
    await request.app[IDENTITY].changed(token_subject(token_id), Change.TOKEN_REVOKED)
    return web.Response(status=204)
