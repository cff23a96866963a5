"""`fieldcast serve|demo|room|user|token|grant`: the operator's command line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from aiohttp import web

from . import cli_grants
from .app import create_app
from .config import Settings
from .domain.errors import DomainError
from .domain.rooms import Orientation, new_room, rotate_stream_key
from .features.demo_shop import seed_demo_shop
from .features.demo_trace import seed_demo_trace
from .gc_tuning import tune_gc
from .logs import configure_logging
from .persistence.db import Database
from .persistence.rooms import SqlRoomRepository

logger = logging.getLogger("fieldcast")

DEMO_TITLE = "高山有机番茄 现摘现发"
DEMO_BRAND = "青禾农场"


def demo_app(settings: Settings, demo_room: str) -> web.Application:
    """The app `fieldcast demo` runs: the demo room's shop and trust chain made on start-up."""
    app = create_app(settings)

    async def _demo_content(app: web.Application) -> None:
        await seed_demo_shop(app, demo_room)
        await seed_demo_trace(app, demo_room)

    app.on_startup.append(_demo_content)  # after the app's own start-up: the services exist
    return app


def _serve(settings: Settings, banner: list[str] | None = None, demo_room: str | None = None) -> None:
    app = create_app(settings) if demo_room is None else demo_app(settings, demo_room)

    async def _print_banner(_app: web.Application) -> None:
        for line in banner or []:
            print(line, flush=True)

    app.on_startup.append(_print_banner)
    tune_gc(app)
    loop = _event_loop(settings)
    logger.info("event loop: %s", type(loop).__module__.split(".")[0])
    # Open Socket.IO websockets would otherwise hold a Ctrl-C for a minute. keepalive_timeout is also
    # aiohttp's only bound on a request head that never completes (server/http/timeouts.py).
    web.run_app(app, host=settings.host, port=settings.port, print=None, access_log=None, shutdown_timeout=3,
                keepalive_timeout=settings.http_header_timeout_s, loop=loop)


def _event_loop(settings: Settings) -> asyncio.AbstractEventLoop:
    if settings.event_loop == "uvloop":
        try:
            import uvloop
        except ImportError:  # not built for this platform: the standard loop does the same work
            logger.warning("uvloop is not installed: using the standard asyncio loop")
        else:
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()


async def ensure_demo_room(settings: Settings) -> str:
    """The demo room exists, with a fresh stream key (printed, since only its hash is kept)."""
    db = Database(settings.database_url)
    try:
        await db.create_schema()
        repo = SqlRoomRepository(db)
        room = await repo.get(settings.demo_room_id)
        if room is None:
            room, key = new_room(
                settings.demo_room_id, DEMO_TITLE, brand=DEMO_BRAND, demo_source=True
            )
            await repo.add(room)
        else:
            room, key = rotate_stream_key(room)
            await repo.save(room)
        return key
    finally:
        await db.close()


async def _room_command(settings: Settings, args: argparse.Namespace) -> int:
    db = Database(settings.database_url)
    try:
        await db.create_schema()
        repo = SqlRoomRepository(db)
        if args.room_cmd == "create":
            room, key = new_room(
                args.id,
                args.title,
                brand=args.brand,
                orientation=Orientation(args.orientation),
                demo_source=args.demo,
            )
            await repo.add(room)
            print(f"room {room.id} created ({room.orientation.value} {room.size[0]}x{room.size[1]})")
            print(f"stream key (shown once): {key}")
            print(f"watch:   {settings.base_url()}/r/{room.id}")
            print(f"publish: {settings.base_url()}/studio/{room.id}#key={key}")
        elif args.room_cmd == "list":
            for room in await repo.list():
                print(f"{room.id}\t{room.orientation.value}\t{room.brand}\t{room.title}")
        elif args.room_cmd == "rotate-key":
            room = await repo.get(args.id)
            if room is None:
                print(f"no room {args.id!r}", file=sys.stderr)
                return 1
            room, key = rotate_stream_key(room)
            await repo.save(room)
            print(f"new stream key for {room.id} (shown once): {key}")
        return 0
    finally:
        await db.close()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fieldcast", description="Fieldcast live-commerce server")
    parser.add_argument("--host", help="listen address (FIELDCAST_HOST)")
    parser.add_argument("--port", type=int, help="listen port (FIELDCAST_PORT)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the server")
    sub.add_parser("demo", help="run the server with the demo farm room")
    room = sub.add_parser("room", help="manage rooms")
    room_sub = room.add_subparsers(dest="room_cmd", required=True)
    create = room_sub.add_parser("create", help="create a room and print its stream key")
    create.add_argument("id")
    create.add_argument("--title", required=True)
    create.add_argument("--brand", default="")
    create.add_argument("--orientation", choices=[o.value for o in Orientation], default="portrait")
    create.add_argument(
        "--demo", action="store_true", help="play the synthetic farm camera whenever nobody publishes"
    )
    room_sub.add_parser("list")
    rotate = room_sub.add_parser("rotate-key", help="issue a new stream key; the old one stops working")
    rotate.add_argument("id")
    cli_grants.add_parsers(sub)
    return parser


def demo_settings(settings: Settings) -> Settings:
    """What `fieldcast demo` changes, where the operator has not said otherwise."""
    if settings.is_sqlite and settings.database_url == "sqlite:///./fieldcast.db":
        settings = settings.model_copy(update={"database_url": "sqlite:///./data/fieldcast-demo.db"})
    if "login_codes_to_log" not in settings.model_fields_set:
        # The demo has no SMS/email sender: its sign-in codes go to this terminal. `serve` never.
        settings = settings.model_copy(update={"login_codes_to_log": True})
    if not settings.ice_servers and not settings.ice_include_loopback:
        # The demo is usually watched on the same machine: offer 127.0.0.1 too.
        settings = settings.model_copy(update={"ice_include_loopback": True})
    return settings


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    overrides: dict[str, object] = {}
    if args.host:
        overrides["host"] = args.host
    if args.port:
        overrides["port"] = args.port
    settings = Settings(**overrides)  # type: ignore[arg-type]
    configure_logging(settings.log_level, settings.log_format)
    try:
        if args.command == "serve":
            _serve(settings)
        elif args.command == "demo":
            settings = demo_settings(settings)
            key = asyncio.run(ensure_demo_room(settings))
            base = settings.base_url()
            room = settings.demo_room_id
            _serve(settings, [
                "",
                "  Fieldcast demo is running.",
                f"  Watch:   {base}/r/{room}",
                f"  Go live: {base}/studio/{room}#key={key}",
                f"  OBS (WHIP): server {base}/whip/{room}  bearer token {key}",
                "",
            ], demo_room=room)
        elif args.command == "room":
            sys.exit(asyncio.run(_room_command(settings, args)))
        elif args.command == "user":
            sys.exit(asyncio.run(cli_grants.user_command(settings, args)))
        elif args.command == "token":
            sys.exit(asyncio.run(cli_grants.token_command(settings, args)))
        elif args.command == "grant":
            sys.exit(asyncio.run(cli_grants.grant_command(settings, args)))
    except DomainError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        sys.exit(2)
