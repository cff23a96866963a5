"""Where the application meets the media plane: rooms in the database -> live pipelines."""

from __future__ import annotations

from aiohttp import web

from streams.options import IceOptions, MediaOptions, WhepLimits
from streams.room import LiveRoom, RoomSpec

from .config import Settings
from .domain.errors import NotFound
from .domain.rooms import Room
from .http.keys import MEDIA, ROOMS, SETTINGS


def ice_options(settings: Settings) -> IceOptions:
    return IceOptions(
        servers=tuple(settings.ice_servers),
        public_ips=tuple(settings.ice_public_ips),
        include_loopback=settings.ice_include_loopback,
    )


def whep_limits(settings: Settings) -> WhepLimits:
    return WhepLimits(
        max_per_client=settings.whep_max_sessions_per_ip,
        max_per_room=settings.whep_max_sessions_per_room,
        connect_timeout_s=settings.whep_connect_timeout_s,
    )


def media_options(settings: Settings, room: Room) -> MediaOptions:
    width, height = room.size
    return MediaOptions(
        width=width,
        height=height,
        video_bitrate=settings.video_bitrate,
        keyframe_interval_s=settings.keyframe_interval_s,
        keyframe_min_interval_s=settings.keyframe_min_interval_s,
        publisher_timeout_s=settings.publisher_timeout_s,
        viewer_queue_packets=settings.viewer_queue_packets,
    )


def room_spec(room: Room) -> RoomSpec:
    return RoomSpec(room_id=room.id, title=room.title, brand=room.brand, demo=room.demo_source)


async def load_room(app: web.Application, room_id: str) -> Room:
    room = await app[ROOMS].get(room_id)
    if room is None:
        raise NotFound(f"no room {room_id!r}")
    return room


async def open_live_room(app: web.Application, room: Room) -> LiveRoom:
    return app[MEDIA].open_room(room_spec(room), media_options(app[SETTINGS], room))
