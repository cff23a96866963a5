"""Room grants over HTTP: who hosts or moderates a room.

    GET    /api/rooms/{room_id}/grants                   the room's hosts and moderators
    POST   /api/rooms/{room_id}/grants                   {"identifier"|"user_id"|"token_id", "role"}
    DELETE /api/rooms/{room_id}/grants/users/{user_id}   take a user's grant away
    DELETE /api/rooms/{room_id}/grants/tokens/{token_id} take an API token's grant away

Operators manage every room's grants; a room's host appoints and removes its moderators.
"""

from __future__ import annotations

import logging
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..domain.accounts.grants import RoomGrant, Subject, SubjectKind, token_subject, user_subject
from ..domain.accounts.roles import Role
from ..domain.accounts.users import normalise_identifier
from ..domain.errors import Forbidden, InvalidInput, NotFound
from ..media import load_room
from .auth import require_room_role
from .body import read_json
from .keys import ACCOUNTS, GRANTS
from .openapi import api

logger = logging.getLogger(__name__)
routes = web.RouteTableDef()


class GrantCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["host", "moderator"]
    identifier: str | None = Field(default=None, min_length=3, max_length=254)
    user_id: int | None = Field(default=None, ge=1, le=2**53)
    token_id: int | None = Field(default=None, ge=1, le=2**53)

    @model_validator(mode="after")
    def _one_subject(self) -> GrantCreate:
        given = [v for v in (self.identifier, self.user_id, self.token_id) if v is not None]
        if len(given) != 1:
            raise ValueError("name exactly one of identifier, user_id, token_id")
        return self


class GrantSubjectPublic(BaseModel):
    kind: Literal["user", "token"]
    id: int
    nickname: str | None  # users only


class GrantPublic(BaseModel):
    room: str
    role: str
    subject: GrantSubjectPublic
    granted_by: str
    created_at: str


class GrantList(BaseModel):
    room: str
    grants: list[GrantPublic]


async def _public(request: web.Request, grant: RoomGrant) -> dict[str, object]:
    nickname = None
    if grant.subject.kind is SubjectKind.USER:
        user = await request.app[ACCOUNTS].users.get(grant.subject.id)
        nickname = user.nickname if user else None
    return GrantPublic(
        room=grant.room_id, role=grant.role.value,
        subject=GrantSubjectPublic(kind=grant.subject.kind.value, id=grant.subject.id, nickname=nickname),
        granted_by=grant.granted_by, created_at=grant.created_at.isoformat(),
    ).model_dump()


async def _subject(request: web.Request, body: GrantCreate) -> Subject:
    if body.token_id is not None:
        return token_subject(body.token_id)
    users = request.app[ACCOUNTS].users
    user = await users.get(body.user_id) if body.user_id is not None else None
    if body.identifier is not None:
        try:
            user = await users.by_identifier(normalise_identifier(body.identifier))
        except InvalidInput:
            user = None
    if user is None or user.id is None:
        raise NotFound("no account with that phone, email or id: they sign up first")
    return user_subject(user.id)


@routes.get("/api/rooms/{room_id}/grants")
@api("The room's hosts and moderators (operators, or the room's host)", tag="grants", role=Role.HOST,
     response=GrantList)
async def list_grants(request: web.Request) -> web.Response:
    room = await load_room(request.app, request.match_info["room_id"])
    await require_room_role(request, room.id, Role.HOST)
    grants = await request.app[GRANTS].in_room(room.id)
    return web.json_response({"room": room.id, "grants": [await _public(request, g) for g in grants]})


@routes.post("/api/rooms/{room_id}/grants")
@api("Make someone host or moderator of the room (a room's host appoints moderators only)", tag="grants",
     role=Role.HOST, body=GrantCreate, response=GrantPublic, status=201)
async def add_grant(request: web.Request) -> web.Response:
    room = await load_room(request.app, request.match_info["room_id"])
    who = await require_room_role(request, room.id, Role.HOST)
    body = GrantCreate.model_validate(await read_json(request))
    if body.token_id is not None and who.role_in(room.id) is not Role.OPERATOR:
        raise Forbidden("API tokens are granted rooms by operators")
    subject = await _subject(request, body)
    grant = await request.app[GRANTS].grant(who.role_in(room.id), who.label, room.id, subject, Role(body.role))
    return web.json_response(await _public(request, grant), status=201)


async def _remove(request: web.Request, subject: Subject) -> web.Response:
    room = await load_room(request.app, request.match_info["room_id"])
    who = await require_room_role(request, room.id, Role.HOST)
    removed = await request.app[GRANTS].revoke(who.role_in(room.id), who.label, room.id, subject)
    return web.json_response(await _public(request, removed))


def _int(request: web.Request, name: str) -> int:
    try:
        value = int(request.match_info[name])
    except ValueError as exc:
        raise NotFound("no such grant") from exc
    if not 1 <= value <= 2**53:
        raise NotFound("no such grant")
    return value


@routes.delete(r"/api/rooms/{room_id}/grants/users/{user_id:\d+}")
@api("Take a user's grant in the room away", tag="grants", role=Role.HOST, response=GrantPublic)
async def remove_user_grant(request: web.Request) -> web.Response:
    return await _remove(request, user_subject(_int(request, "user_id")))


@routes.delete(r"/api/rooms/{room_id}/grants/tokens/{token_id:\d+}")
@api("Take an API token's grant in the room away", tag="grants", role=Role.HOST, response=GrantPublic)
async def remove_token_grant(request: web.Request) -> web.Response:
    return await _remove(request, token_subject(_int(request, "token_id")))
