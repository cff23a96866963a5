"""Sign-up, sign-in, the current user, and invites."""

from __future__ import annotations

import logging
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from ..domain.accounts.roles import Role
from ..domain.accounts.service import SignedIn
from ..domain.accounts.sessions import csrf_token
from ..domain.accounts.users import User
from ..domain.errors import InvalidInput
from .auth import (
    caller,
    clear_session_cookie,
    client_ip,
    csrf_for,
    require_role,
    require_user,
    set_session_cookie,
)
from .body import read_json
from .keys import ACCOUNTS, SECRET, SETTINGS

logger = logging.getLogger(__name__)
routes = web.RouteTableDef()


class Register(BaseModel):
    model_config = ConfigDict(extra="forbid")
    identifier: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=128)
    nickname: str = Field(default="", max_length=64)


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid")
    identifier: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=128)


class CodeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    identifier: str = Field(min_length=3, max_length=254)


class CodeVerify(BaseModel):
    model_config = ConfigDict(extra="forbid")
    identifier: str = Field(min_length=3, max_length=254)
    code: str = Field(min_length=6, max_length=6, pattern=r"^\d{6}$")


class ProfileUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    nickname: str | None = Field(default=None, max_length=64)
    community: str | None = Field(default=None, max_length=80)


class InviteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["host", "moderator", "koc", "operator"]


class InviteAccept(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str = Field(min_length=8, max_length=100)


class UserPublic(BaseModel):
    id: int
    nickname: str
    role: str
    community: str
    community_id: int | None  # the community (小区) they buy with
    identifier: str  # only ever sent to the user themselves


def user_public(user: User) -> dict[str, object]:
    assert user.id is not None
    return UserPublic(
        id=user.id, nickname=user.nickname, role=user.role.value,
        community=user.community, community_id=user.community_id, identifier=user.identifier,
    ).model_dump()


def _signed_in(request: web.Request, signed: SignedIn, status: int = 200) -> web.Response:
    response = web.json_response(
        {"user": user_public(signed.user), "csrf": csrf_token(request.app[SECRET], signed.token)},
        status=status,
    )
    set_session_cookie(request, response, signed.token)
    return response


# What sign-up answers, whether or not the phone/email already has an account: telling the two
# apart would list who has one. The page then signs in with the password it just chose.
SIGN_UP_ACCEPTED = "if this phone or email has no account yet, it has one now: sign in with this password"


@routes.post("/api/auth/register")
async def register(request: web.Request) -> web.Response:
    body = Register.model_validate(await read_json(request))
    await request.app[ACCOUNTS].sign_up(body.identifier, body.password, body.nickname)
    return web.json_response({"accepted": True, "message": SIGN_UP_ACCEPTED}, status=202)


@routes.post("/api/auth/login")
async def login(request: web.Request) -> web.Response:
    body = Login.model_validate(await read_json(request))
    signed = await request.app[ACCOUNTS].login(body.identifier, body.password, ip=client_ip(request))
    logger.info("signed in", extra={"user": signed.user.id})
    return _signed_in(request, signed)


@routes.post("/api/auth/code")
async def request_code(request: web.Request) -> web.Response:
    body = CodeRequest.model_validate(await read_json(request))
    if not request.app[SETTINGS].login_codes_to_log:
        raise web.HTTPNotImplemented(
            text='{"error":"no_code_sender","message":"sign-in codes are not configured here"}',
            content_type="application/json",
        )
    await request.app[ACCOUNTS].request_code(body.identifier, ip=client_ip(request))
    return web.json_response({"sent": True}, status=202)


@routes.post("/api/auth/code/verify")
async def verify_code(request: web.Request) -> web.Response:
    body = CodeVerify.model_validate(await read_json(request))
    signed = await request.app[ACCOUNTS].verify_code(body.identifier, body.code, ip=client_ip(request))
    return _signed_in(request, signed)


@routes.post("/api/auth/logout")
async def logout(request: web.Request) -> web.Response:
    who = await caller(request)
    if who.session_token is not None:
        await request.app[ACCOUNTS].logout(who.session_token)
    response = web.json_response({"signed_in": False})
    clear_session_cookie(response)
    return response


@routes.get("/api/me")
async def me(request: web.Request) -> web.Response:
    who = await caller(request)
    return web.json_response({
        "user": user_public(who.user) if who.user else None,
        "role": who.role.value,
        # Rooms this caller hosts or moderates (operators: every room, so none are listed).
        "rooms": {room: role.value for room, role in sorted(who.grants.items())},
        "csrf": csrf_for(request, who),
    })


@routes.patch("/api/me")
async def update_me(request: web.Request) -> web.Response:
    _, user = await require_user(request)
    body = ProfileUpdate.model_validate(await read_json(request))
    user = await request.app[ACCOUNTS].update_profile(user, nickname=body.nickname, community=body.community)
    return web.json_response({"user": user_public(user)})


@routes.post("/api/invites")
async def create_invite(request: web.Request) -> web.Response:
    who = await require_role(request, Role.OPERATOR)
    if who.user is None:
        raise InvalidInput("invites are made by a signed-in operator")
    body = InviteCreate.model_validate(await read_json(request))
    invite, token = await request.app[ACCOUNTS].invite(who.user, Role(body.role))
    url = f"{request.app[SETTINGS].base_url()}/invite/{token}"
    logger.info("invite for %s made", body.role, extra={"user": who.user.id})
    return web.json_response(
        {"role": invite.role.value, "url": url, "token": token, "expires_at": invite.expires_at.isoformat()},
        status=201,
    )


@routes.post("/api/invites/accept")
async def accept_invite(request: web.Request) -> web.Response:
    _, user = await require_user(request)
    body = InviteAccept.model_validate(await read_json(request))
    user = await request.app[ACCOUNTS].accept_invite(user, body.token)
    logger.info("invite accepted: now %s", user.role.value, extra={"user": user.id})
    return web.json_response({"user": user_public(user)})
