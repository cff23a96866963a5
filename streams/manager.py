"""The media server: the live rooms of this node and the WHIP/WHEP sessions into and out of them."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable

from .egress.whep import WhepSession
from .errors import PublisherBusy, TooManySessions, UnknownSession
from .ice import apply_host_policy
from .ingest.whip import WhipSession
from .options import IceOptions, MediaOptions, WhepLimits
from .peer import PeerSession
from .room import LiveRoom, Presence, RoomSpec

logger = logging.getLogger(__name__)


class MediaServer:
    def __init__(
        self,
        ice: IceOptions,
        on_presence: Callable[[Presence], None] | None = None,
        idle_close_s: float = 60.0,
        whep_limits: WhepLimits | None = None,
    ) -> None:
        self.ice = ice
        self.whep_limits = whep_limits or WhepLimits()
        apply_host_policy(ice)
        self.rooms: dict[str, LiveRoom] = {}
        self.sessions: dict[str, PeerSession] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._on_presence = on_presence
        self.idle_close_s = idle_close_s
        # Called with each room pipeline as it opens: features install their overlay layers here.
        self.on_room_open: list[Callable[[LiveRoom], None]] = []
        self._watchdog: asyncio.Task[None] | None = None

    # -- rooms ----------------------------------------------------------------------------------

    def open_room(self, spec: RoomSpec, options: MediaOptions) -> LiveRoom:
        """The room's pipeline, started if it is not running (restarted if it failed)."""
        room = self.rooms.get(spec.room_id)
        if room is None or (room.options.width, room.options.height) != (options.width, options.height):
            if room is not None:
                asyncio.ensure_future(self._retire(room))
            room = LiveRoom(spec, options, asyncio.get_running_loop())
            if self._on_presence is not None:
                room.listeners.append(self._on_presence)
                # Its state from the start (a demo room is on air before anyone watches), not only
                # from its first change: a client joining now is told what /api/rooms says.
                self._on_presence(room.presence())
            self.rooms[spec.room_id] = room
            for hook in self.on_room_open:
                hook(room)
            room.start()
        elif not room.running:
            logger.warning("restarting room pipeline", extra={"room": spec.room_id})
            room.start()
        if self._watchdog is None:
            self._watchdog = asyncio.ensure_future(self._watch_rooms())
        return room

    async def _retire(self, room: LiveRoom) -> None:
        for session in [s for s in self.sessions.values() if s.room_id == room.spec.room_id]:
            await session.close()
        await room.stop()

    async def close_room(self, room_id: str) -> None:
        room = self.rooms.pop(room_id, None)
        if room is not None:
            await self._retire(room)

    async def _watch_rooms(self) -> None:
        idle_since: dict[str, float] = {}
        while True:
            await asyncio.sleep(1.0)
            now = time.monotonic()
            for room in list(self.rooms.values()):
                room_id = room.spec.room_id
                if room.failed is not None:
                    # A room whose pipeline died restarts on its own; its viewers stay connected.
                    logger.warning("room pipeline died; restarting", extra={"room": room_id})
                    room.start()
                # Nobody watching, nobody publishing: stop encoding for no one. (Demo rooms run
                # on, so the first viewer sees a picture at once.) The next WHIP/WHEP reopens it.
                if room.spec.demo or room.viewers or room.publisher is not None:
                    idle_since.pop(room_id, None)
                elif now - idle_since.setdefault(room_id, now) >= self.idle_close_s:
                    idle_since.pop(room_id, None)
                    logger.info("closing idle room pipeline", extra={"room": room_id})
                    await self.close_room(room_id)

    # -- sessions -------------------------------------------------------------------------------

    async def publish(self, room: LiveRoom, offer: str, *, takeover: bool = False) -> tuple[WhipSession, str]:
        lock = self._locks.setdefault(room.spec.room_id, asyncio.Lock())
        async with lock:
            current = self.sessions.get(room.publisher or "")
            if current is not None and not current.closed:
                if not takeover:
                    raise PublisherBusy("someone is already live in this room")
                logger.info("publisher taken over", extra={"room": room.spec.room_id, "peer": current.id})
                await current.close()
            session = WhipSession(room, self.ice, self._forget)
            try:
                answer = await session.start(offer)
            except BaseException:
                await session.close()
                raise
            self.sessions[session.id] = session
            return session, answer

    async def watch(self, room: LiveRoom, offer: str, client: str = "unknown") -> tuple[WhepSession, str]:
        """A new viewer of `room` from the address `client`, within the WHEP limits.

        The session is registered before its first await, so concurrent offers count each other:
        a flood of offers cannot all pass the caps before any of them is counted.
        """
        room_id = room.spec.room_id
        limits = self.whep_limits
        viewers = [s for s in self.sessions.values() if isinstance(s, WhepSession)]
        retry_after = math.ceil(limits.connect_timeout_s)
        # (Refusals are logged once, where they become a 429.)
        if sum(1 for s in viewers if s.client == client) >= limits.max_per_client:
            raise TooManySessions(
                f"at most {limits.max_per_client} viewer sessions from one address", retry_after
            )
        if sum(1 for s in viewers if s.room_id == room_id) >= limits.max_per_room:
            raise TooManySessions(f"this room has its most viewers ({limits.max_per_room})", retry_after)
        session = WhepSession(room, self.ice, self._forget, client=client, on_connected=self._viewer_connected)
        self.sessions[session.id] = session
        try:
            answer = await session.start(offer)
        except BaseException:
            await session.close()
            raise
        session.drop_unless_connected_within(limits.connect_timeout_s)
        return session, answer

    def _viewer_connected(self, session: WhepSession) -> None:
        self._count_viewers(session.room_id)

    def session(self, room_id: str, session_id: str, kind: str) -> PeerSession:
        session = self.sessions.get(session_id)
        if session is None or session.room_id != room_id or session.kind != kind or session.closed:
            raise UnknownSession("no such session (it may have ended)")
        return session

    def _forget(self, session: PeerSession) -> None:
        self.sessions.pop(session.id, None)
        if session.kind == "whep":
            self._count_viewers(session.room_id)

    def _count_viewers(self, room_id: str) -> None:
        room = self.rooms.get(room_id)
        if room is not None:
            # A viewer counts once its media flows (ICE and DTLS done), not when it sends an offer.
            n = sum(
                1 for s in self.sessions.values()
                if isinstance(s, WhepSession) and s.room_id == room_id and s.connected and not s.closed
            )
            room.set_viewers(n)

    async def close(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
        await asyncio.gather(*(s.close() for s in list(self.sessions.values())), return_exceptions=True)
        for room in list(self.rooms.values()):
            await room.stop()
        self.rooms.clear()
