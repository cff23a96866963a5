"""One room's encoded packets, handed to every viewer without re-encoding.

Lives on the event loop; the media thread publishes with `call_soon_threadsafe`. Each viewer has a
bounded queue: a viewer that falls behind is cut back to the next keyframe (and asks the encoder
for one), so a slow or stalled viewer never grows memory and never holds up the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av.packet import Packet

from .packetize import Payloads

logger = logging.getLogger(__name__)


class PacketTrack(MediaStreamTrack):
    """A viewer's track: `recv()` returns the room's `av.Packet`s, which aiortc packetises as-is."""

    def __init__(
        self,
        kind: str,
        fanout: Fanout,
        limit: int,
        on_subscribe: Callable[[PacketTrack], None] | None = None,
    ) -> None:
        super().__init__()
        self.kind = kind
        self._fanout = fanout
        self._limit = limit
        self._queue: deque[tuple[Packet, Payloads | None]] = deque()
        # The RTP payloads of the packet recv() returned last (read by egress/sender.py right after recv).
        self.payloads: Payloads | None = None
        self._ready = asyncio.Event()
        self._needs_keyframe = kind == "video"
        self._subscribed = False
        self._on_subscribe = on_subscribe
        self.dropped = 0

    @property
    def queued(self) -> int:
        return len(self._queue)

    def offer(self, packet: Packet, keyframe: bool, payloads: Payloads | None = None) -> None:
        if self._needs_keyframe:
            if not keyframe:
                self.dropped += 1
                return
            self._needs_keyframe = False
        if len(self._queue) >= self._limit:
            self.dropped += len(self._queue)
            self._queue.clear()
            if self.kind == "video":
                # Skip to the next keyframe rather than queue without bound.
                self._needs_keyframe = True
                self._fanout.request_keyframe()
                if not keyframe:
                    return
        self._queue.append((packet, payloads))
        self._ready.set()

    async def recv(self) -> Packet:  # type: ignore[override]
        if not self._subscribed:
            # Subscribe when the sender first pulls (DTLS is up), not at signalling time: the first
            # packet is then a keyframe made for this viewer, not one queued a while ago.
            self._subscribed = True
            self._fanout.subscribe(self)
            if self._on_subscribe is not None:
                self._on_subscribe(self)
        while not self._queue:
            if self.readyState != "live":
                raise MediaStreamError
            self._ready.clear()
            await self._ready.wait()
        packet, self.payloads = self._queue.popleft()
        return packet

    def stop(self) -> None:
        super().stop()
        self._fanout.unsubscribe(self)
        self._ready.set()


class Fanout:
    """The set of viewer tracks of one kind in one room."""

    def __init__(self, request_keyframe: Callable[[], None] = lambda: None) -> None:
        self._tracks: set[PacketTrack] = set()
        self.request_keyframe = request_keyframe

    def __len__(self) -> int:
        return len(self._tracks)

    def subscribe(self, track: PacketTrack) -> None:
        self._tracks.add(track)
        if track.kind == "video":
            self.request_keyframe()

    def unsubscribe(self, track: PacketTrack) -> None:
        self._tracks.discard(track)

    def publish(self, packet: Packet, keyframe: bool, payloads: Payloads | None = None) -> None:
        for track in self._tracks:
            track.offer(packet, keyframe, payloads)

    def publish_many(self, packets: list[tuple[Packet, bool, Payloads | None]]) -> None:
        for packet, keyframe, payloads in packets:
            self.publish(packet, keyframe, payloads)

    def close(self) -> None:
        for track in list(self._tracks):
            track.stop()
