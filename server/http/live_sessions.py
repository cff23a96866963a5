"""Live sessions (a room's broadcast): start one with products, pin the product being explained,
and the shop state a viewer's page loads on arrival."""

from __future__ import annotations

import logging

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from ..domain.accounts.roles import Role
from ..domain.commerce.errors import NotOnSale, UnknownSession
from ..domain.commerce.text import clean_line
from ..media import load_room
from .auth import require_host_of, require_role
from .body import read_json
from .commerce_keys import COMMERCE
from .commerce_models import (
    PinPublic,
    SessionPublic,
    ShopState,
    pin_public,
    session_public,
)
from .openapi import api
from .products import _id

logger = logging.getLogger(__name__)
routes = web.RouteTableDef()


class SessionStart(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(default="", max_length=200)
    product_ids: list[int] = Field(default_factory=list, max_length=200)


class SessionProducts(BaseModel):
    model_config = ConfigDict(extra="forbid")
    product_ids: list[int] = Field(min_length=1, max_length=200)


class PinRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    product_id: int = Field(gt=0)


@routes.post("/api/rooms/{room_id}/sessions")
@api("Start a live session (the room's current broadcast) with products on sale", tag="sessions",
     role=Role.OPERATOR, body=SessionStart, response=SessionPublic, status=201)
async def start_session(request: web.Request) -> web.Response:
    await require_role(request, Role.OPERATOR)
    room = await load_room(request.app, request.match_info["room_id"])
    body = SessionStart.model_validate(await read_json(request))
    commerce = request.app[COMMERCE]
    for pid in body.product_ids:
        await commerce.catalog.require(pid)
    title = clean_line(body.title, field="title", max_len=120, min_len=0) or room.title
    session = await commerce.sessions.start(room.id, title, commerce.clock())
    assert session.id is not None
    await commerce.sessions.attach(session.id, body.product_ids)
    started = await commerce.sessions.get(session.id)
    assert started is not None
    commerce.forget_caches()
    await commerce.live.shop_changed(room.id)
    return web.json_response(session_public(started).model_dump(mode="json"), status=201)


async def _session(request: web.Request) -> tuple[int, str]:
    commerce = request.app[COMMERCE]
    session = await commerce.sessions.get(_id(request, "session_id"))
    if session is None or session.id is None:
        raise UnknownSession(f"no live session {request.match_info['session_id']}")
    return session.id, session.room_id


@routes.post("/api/sessions/{session_id}/products")
@api("Attach products to a live session", tag="sessions", role=Role.OPERATOR, body=SessionProducts, response=SessionPublic)
async def attach_products(request: web.Request) -> web.Response:
    await require_role(request, Role.OPERATOR)
    body = SessionProducts.model_validate(await read_json(request))
    commerce = request.app[COMMERCE]
    session_id, room_id = await _session(request)
    for pid in body.product_ids:
        await commerce.catalog.require(pid)
    await commerce.sessions.attach(session_id, body.product_ids)
    commerce.forget_caches()
    session = await commerce.sessions.get(session_id)
    assert session is not None
    await commerce.live.shop_changed(room_id)
    return web.json_response(session_public(session).model_dump(mode="json"))


@routes.post("/api/sessions/{session_id}/end")
@api("End a live session", tag="sessions", role=Role.OPERATOR, response=SessionPublic)
async def end_session(request: web.Request) -> web.Response:
    await require_role(request, Role.OPERATOR)
    commerce = request.app[COMMERCE]
    session_id, room_id = await _session(request)
    await commerce.sessions.end(session_id, commerce.clock())
    commerce.forget_caches()
    await commerce.live.pin_changed(room_id, None)
    session = await commerce.sessions.get(session_id)
    assert session is not None
    return web.json_response(session_public(session).model_dump(mode="json"))


@routes.get("/api/sessions/{session_id}/pins")
@api("Pin history of a session (what was explained when: for replays)", tag="sessions", role=None,
     response=PinPublic, list_response=True)
async def list_pins(request: web.Request) -> web.Response:
    await require_role(request, Role.VIEWER)
    session_id, _ = await _session(request)
    pins = await request.app[COMMERCE].sessions.pins(session_id)
    return web.json_response([pin_public(p).model_dump(mode="json") for p in pins])


@routes.post("/api/rooms/{room_id}/pin")
@api("Pin a product (讲解): the card shows on the stream and every viewer's page. A host, or the "
     "room's stream key as the Bearer token (the studio page)", tag="sessions",
     role=Role.HOST, body=PinRequest, response=PinPublic)
async def pin_product(request: web.Request) -> web.Response:
    await require_host_of(request, await load_room(request.app, request.match_info["room_id"]))
    body = PinRequest.model_validate(await read_json(request))
    pin = await request.app[COMMERCE].live.pin(request.match_info["room_id"], body.product_id)
    return web.json_response(pin_public(pin).model_dump(mode="json"))


@routes.delete("/api/rooms/{room_id}/pin")
@api("Unpin the product (a host, or the room's stream key)", tag="sessions", role=Role.HOST, status=204)
async def unpin_product(request: web.Request) -> web.Response:
    await require_host_of(request, await load_room(request.app, request.match_info["room_id"]))
    await request.app[COMMERCE].live.unpin(request.match_info["room_id"])
    return web.Response(status=204)


@routes.get("/api/rooms/{room_id}/shop")
@api("The room's shop: session, products, pinned product, group-buys, flash claims", tag="sessions",
     role=None, response=ShopState)
async def shop_state(request: web.Request) -> web.Response:
    await require_role(request, Role.VIEWER)
    room = await load_room(request.app, request.match_info["room_id"])
    state = await request.app[COMMERCE].live.shop_state(room.id)
    return web.json_response(state.model_dump(mode="json"))


def ensure_on_sale(product_ids: tuple[int, ...], product_id: int) -> None:
    if product_id not in product_ids:
        raise NotOnSale(f"product {product_id} is not on sale in this live session")
