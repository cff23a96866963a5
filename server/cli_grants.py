"""The account side of the command line: `fieldcast user`, `token` and `grant`.

The CLI acts as an operator. Its changes reach open connections: with Redis configured it bumps
the shared identity versions and tells the nodes to close what lost power; on a single node
without Redis the server re-reads its sockets' callers within `identity_recheck_s` (config.py).
"""

from __future__ import annotations

import argparse
import getpass
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from .config import Settings
from .domain.accounts.grants import GrantService, Subject, token_subject, user_subject
from .domain.accounts.identity import (
    Change,
    IdentityChanged,
    IdentityChanges,
    MemoryIdentityVersions,
)
from .domain.accounts.roles import Role
from .domain.accounts.service import AccountService
from .domain.accounts.tokens import ApiToken, hash_secret, new_secret
from .domain.accounts.users import normalise_identifier
from .domain.errors import InvalidInput, NotFound
from .persistence.accounts import (
    SqlInviteRepository,
    SqlLoginCodeRepository,
    SqlSessionRepository,
    SqlUserRepository,
)
from .persistence.db import Database
from .persistence.grants import SqlGrantRepository
from .persistence.rooms import SqlRoomRepository
from .persistence.tokens import SqlTokenRepository

logger = logging.getLogger(__name__)

BY = "cli"


@dataclass
class Accounts:
    db: Database
    accounts: AccountService
    grants: GrantService
    tokens: SqlTokenRepository
    rooms: SqlRoomRepository
    identity: IdentityChanges


@asynccontextmanager
async def open_accounts(settings: Settings) -> AsyncIterator[Accounts]:
    from .features.identity import CHANNEL, encode
    from .realtime.node_channel import NodeChannel

    db = Database(settings.database_url)
    redis = None
    channel = NodeChannel(settings.redis_url, CHANNEL, lambda _body: None)
    try:
        await db.create_schema()
        if settings.redis_url:
            from redis.asyncio import Redis

            from .persistence.identity_versions import RedisIdentityVersions

            redis = Redis.from_url(settings.redis_url, driver_info=None)
            identity = IdentityChanges(RedisIdentityVersions(redis))
            await channel.start()

            async def tell_nodes(change: IdentityChanged) -> None:
                if change.change.ends_connections:
                    await channel.publish(encode(change))

            identity.subscribe(tell_nodes)
        else:
            identity = IdentityChanges(MemoryIdentityVersions())

        async def grants_changed(subject: Subject, lost: bool) -> None:
            await identity.changed(subject, Change.GRANT_REMOVED if lost else Change.GRANT_ADDED)

        yield Accounts(
            db,
            AccountService(
                SqlUserRepository(db), SqlSessionRepository(db), SqlLoginCodeRepository(db),
                SqlInviteRepository(db), identity=identity,
            ),
            GrantService(SqlGrantRepository(db), changed=grants_changed),
            SqlTokenRepository(db),
            SqlRoomRepository(db),
            identity,
        )
    finally:
        await channel.close()
        if redis is not None:
            await redis.aclose()
        await db.close()


async def _room_exists(ctx: Accounts, room_id: str) -> None:
    if await ctx.rooms.get(room_id) is None:
        raise NotFound(f"no room {room_id!r} (fieldcast room list)")


async def _user_id(ctx: Accounts, identifier: str) -> int:
    user = await ctx.accounts.users.by_identifier(normalise_identifier(identifier))
    if user is None or user.id is None:
        raise NotFound(f"no account {identifier!r}")
    return user.id


async def _check_rooms(ctx: Accounts, role: Role, rooms: list[str]) -> None:
    """`--room` fits the role and every room exists: checked before the account or token is made."""
    if rooms and role not in (Role.HOST, Role.MODERATOR):
        raise InvalidInput("--room goes with --role host or --role moderator (operators are global)")
    for room_id in rooms:
        await _room_exists(ctx, room_id)


async def _grant_rooms(ctx: Accounts, subject: Subject, role: Role, rooms: list[str]) -> None:
    """Grant rooms that `_check_rooms` has passed."""
    for room_id in rooms:
        await ctx.grants.grant(Role.OPERATOR, BY, room_id, subject, role)
        print(f"  {role.value} of room {room_id}")


async def user_command(settings: Settings, args: argparse.Namespace) -> int:
    async with open_accounts(settings) as ctx:
        if args.user_cmd == "create":
            role = Role(args.role)
            rooms: list[str] = args.room or []
            await _check_rooms(ctx, role, rooms)
            password = args.password or getpass.getpass("password: ")
            user = await ctx.accounts.register(args.identifier, password, args.nickname, role=role)
            assert user.id is not None
            print(f"{user.role.value} {user.nickname} ({user.identifier}) created; sign in at {settings.base_url()}/login")
            await _grant_rooms(ctx, user_subject(user.id), role, rooms)
            if role in (Role.HOST, Role.MODERATOR) and not rooms:
                print(f"  no rooms yet: fieldcast grant add ROOM {user.identifier} --role {role.value}")
        elif args.user_cmd == "role":
            found = await ctx.accounts.users.by_identifier(normalise_identifier(args.identifier))
            if found is None:
                raise NotFound(f"no account {args.identifier!r}")
            changed = await ctx.accounts.set_role(found, Role(args.role))
            print(f"{changed.identifier} is now {changed.role.value}")
        return 0


async def token_command(settings: Settings, args: argparse.Namespace) -> int:
    async with open_accounts(settings) as ctx:
        if args.token_cmd == "revoke":
            if not await ctx.tokens.revoke(args.id):
                raise NotFound(f"no API token #{args.id}")
            await ctx.identity.changed(token_subject(args.id), Change.TOKEN_REVOKED)
            print(f"API token #{args.id} revoked")
            return 0
        role = Role(args.role)
        rooms: list[str] = args.room or []
        await _check_rooms(ctx, role, rooms)
        secret = new_secret("fc")
        token = await ctx.tokens.add(ApiToken(None, args.label, role, hash_secret(secret), datetime.now(UTC)))
        assert token.id is not None
        print(f"{token.role.value} API token #{token.id} ({token.label}), shown once:")
        print(secret)
        await _grant_rooms(ctx, token_subject(token.id), role, rooms)
        return 0


async def grant_command(settings: Settings, args: argparse.Namespace) -> int:
    async with open_accounts(settings) as ctx:
        await _room_exists(ctx, args.room)
        if args.grant_cmd == "list":
            for grant in await ctx.grants.in_room(args.room):
                name = grant.subject.key
                if grant.subject.kind.value == "user":
                    user = await ctx.accounts.users.get(grant.subject.id)
                    name = f"{user.identifier} ({user.nickname})" if user else name
                print(f"{grant.role.value}\t{name}\tby {grant.granted_by}\t{grant.created_at:%Y-%m-%d %H:%M}")
            return 0
        if (args.identifier is None) == (args.token is None):
            raise InvalidInput("name an account (phone or email) or --token ID")
        subject = token_subject(args.token) if args.token is not None else user_subject(await _user_id(ctx, args.identifier))
        if args.grant_cmd == "add":
            grant = await ctx.grants.grant(Role.OPERATOR, BY, args.room, subject, Role(args.role))
            print(f"{subject.key} is now {grant.role.value} of room {args.room}")
        else:
            await ctx.grants.revoke(Role.OPERATOR, BY, args.room, subject)
            print(f"{subject.key} no longer holds a grant in room {args.room}")
        return 0


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    user = sub.add_parser("user", help="manage accounts")
    user_sub = user.add_subparsers(dest="user_cmd", required=True)
    create_user = user_sub.add_parser("create", help="create an account (the first operator, say)")
    create_user.add_argument("identifier", help="mobile number or email")
    create_user.add_argument("--role", choices=[r.value for r in Role], default=Role.OPERATOR.value)
    create_user.add_argument("--room", action="append", help="host or moderator of this room (repeatable)")
    create_user.add_argument("--nickname", default="")
    create_user.add_argument("--password", help="asked for when left out")
    role = user_sub.add_parser("role", help="change an account's role (its open connections close)")
    role.add_argument("identifier")
    role.add_argument("role", choices=[r.value for r in Role])
    token = sub.add_parser("token", help="create an API token (or: token revoke ID)")
    token.add_argument("--role", choices=[r.value for r in Role], default=Role.OPERATOR.value)
    token.add_argument("--room", action="append", help="host or moderator of this room (repeatable)")
    token.add_argument("--label", default="cli")
    token_sub = token.add_subparsers(dest="token_cmd")
    # `fieldcast token create --role ...` and `fieldcast token --role ...` both create; SUPPRESS
    # keeps an option given before `create` from being reset by the subcommand's default.
    create_token = token_sub.add_parser("create", help="create an API token (shown once)")
    create_token.add_argument("--role", choices=[r.value for r in Role], default=argparse.SUPPRESS)
    create_token.add_argument("--room", action="append", default=argparse.SUPPRESS,
                              help="host or moderator of this room (repeatable)")
    create_token.add_argument("--label", default=argparse.SUPPRESS)
    revoke = token_sub.add_parser("revoke", help="revoke an API token")
    revoke.add_argument("id", type=int)
    grant = sub.add_parser("grant", help="who hosts or moderates a room")
    grant_sub = grant.add_subparsers(dest="grant_cmd", required=True)
    for name, text in (("add", "make an account or token host/moderator of a room"),
                       ("remove", "take a room grant away")):
        p = grant_sub.add_parser(name, help=text)
        p.add_argument("room")
        p.add_argument("identifier", nargs="?", help="the account's phone or email")
        p.add_argument("--token", type=int, help="an API token's id instead of an account")
        if name == "add":
            p.add_argument("--role", choices=[Role.HOST.value, Role.MODERATOR.value], default=Role.MODERATOR.value)
    listing = grant_sub.add_parser("list", help="a room's hosts and moderators")
    listing.add_argument("room")
