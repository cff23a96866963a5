"""Communities (小区) with their leader and pickup points, community prices, and a buyer's choice."""

from __future__ import annotations

import logging
from dataclasses import replace

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from ..domain.accounts.roles import Role
from ..domain.commerce.communities import CommunityPrice, new_community, new_pickup_point
from ..domain.commerce.errors import UnknownCommunity
from .accounts import UserPublic, user_public
from .auth import require_role, require_user
from .body import read_json
from .commerce_keys import COMMERCE
from .commerce_models import CommunityPublic, PickupPointPublic, community_public, point_public
from .openapi import api
from .products import _id

logger = logging.getLogger(__name__)
routes = web.RouteTableDef()


class CommunityCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=80)
    leader_name: str = Field(min_length=1, max_length=48)
    leader_phone: str = Field(default="", max_length=20)
    delivery: bool = True


class PickupPointCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=80)
    address: str = Field(min_length=1, max_length=240)
    hours: str = Field(default="", max_length=80)


class CommunityPriceSet(BaseModel):
    model_config = ConfigDict(extra="forbid")
    price_fen: int = Field(gt=0, le=100_000_000)


class CommunityChoice(BaseModel):
    model_config = ConfigDict(extra="forbid")
    community_id: int = Field(gt=0)


class MePublic(BaseModel):
    user: UserPublic
    community_id: int | None


@routes.get("/api/communities")
@api("List communities and their pickup points", tag="communities", role=None, response=CommunityPublic, list_response=True)
async def list_communities(request: web.Request) -> web.Response:
    await require_role(request, Role.VIEWER)
    communities = await request.app[COMMERCE].communities.list()
    return web.json_response([community_public(c).model_dump(mode="json") for c in communities])


@routes.post("/api/communities")
@api("Create a community with its leader", tag="communities", role=Role.OPERATOR, body=CommunityCreate, response=CommunityPublic, status=201)
async def create_community(request: web.Request) -> web.Response:
    await require_role(request, Role.OPERATOR)
    body = CommunityCreate.model_validate(await read_json(request))
    community = await request.app[COMMERCE].communities.add(new_community(
        name=body.name, leader_name=body.leader_name, leader_phone=body.leader_phone, delivery=body.delivery))
    return web.json_response(community_public(community).model_dump(mode="json"), status=201)


@routes.post("/api/communities/{community_id}/pickup-points")
@api("Add a pickup point", tag="communities", role=Role.OPERATOR, body=PickupPointCreate, response=PickupPointPublic, status=201)
async def add_pickup_point(request: web.Request) -> web.Response:
    await require_role(request, Role.OPERATOR)
    body = PickupPointCreate.model_validate(await read_json(request))
    commerce = request.app[COMMERCE]
    community_id = _id(request, "community_id")
    if await commerce.communities.get(community_id) is None:
        raise UnknownCommunity(f"no community {community_id}")
    point = await commerce.communities.add_pickup_point(
        new_pickup_point(community_id, name=body.name, address=body.address, hours=body.hours))
    commerce.forget_caches()
    return web.json_response(point_public(point).model_dump(mode="json"), status=201)


@routes.put("/api/communities/{community_id}/prices/{product_id}")
@api("Set a community-exclusive price", tag="communities", role=Role.OPERATOR, body=CommunityPriceSet)
async def set_price(request: web.Request) -> web.Response:
    await require_role(request, Role.OPERATOR)
    body = CommunityPriceSet.model_validate(await read_json(request))
    commerce = request.app[COMMERCE]
    community_id, product_id = _id(request, "community_id"), _id(request, "product_id")
    if await commerce.communities.get(community_id) is None:
        raise UnknownCommunity(f"no community {community_id}")
    await commerce.catalog.require(product_id)
    await commerce.communities.set_price(CommunityPrice(community_id, product_id, body.price_fen))
    return web.json_response({"community_id": community_id, "product_id": product_id, "price_fen": body.price_fen})


@routes.put("/api/me/community")
@api("Pick the community you buy with", tag="communities", role=Role.VIEWER, body=CommunityChoice, response=MePublic)
async def choose_community(request: web.Request) -> web.Response:
    _, user = await require_user(request)
    body = CommunityChoice.model_validate(await read_json(request))
    commerce = request.app[COMMERCE]
    community = await commerce.communities.get(body.community_id)
    if community is None:
        raise UnknownCommunity(f"no community {body.community_id}")
    user = replace(user, community_id=community.id, community=community.name)
    await commerce.users.save(user)
    assert user.id is not None
    commerce.user_community.forget(user.id)
    return web.json_response(MePublic(user=UserPublic.model_validate(user_public(user)), community_id=user.community_id).model_dump(mode="json"))
