"""WHIP ingest (RFC 9725): a browser, OBS 30+ or any WHIP client publishes into a room.

aiortc negotiates H.264, VP8 and Opus and decodes in its own threads; we only pass each decoded
frame to the room by reference. The room decides when a publisher has gone quiet.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av.audio.frame import AudioFrame
from av.video.frame import VideoFrame

from ..errors import BadOffer
from ..options import IceOptions
from ..peer import PeerSession
from ..room import LiveRoom
from .bitrate import with_start_bitrate, without_abs_send_time

logger = logging.getLogger(__name__)


class WhipSession(PeerSession):
    kind = "whip"

    def __init__(self, room: LiveRoom, ice: IceOptions, on_closed: Callable[[WhipSession], None]) -> None:
        super().__init__(room.spec.room_id, ice)
        self.room = room
        self._on_closed = on_closed
        self._readers: list[asyncio.Task[None]] = []
        self.pc.on("track", self._on_track)
        self.pc.on("connectionstatechange", self._on_state)

    async def start(self, offer: str) -> str:
        await self._apply_offer(without_abs_send_time(offer))
        usable = [t for t in self.pc.getTransceivers() if t._codecs]
        if not usable:
            raise BadOffer("the offer has no codec we take: H.264, VP8 or Opus")
        answer = with_start_bitrate(await self._answer(), self.room.options.video_bitrate // 2000)
        self.room.attach_publisher(self.id)
        logger.info("publisher connected", extra={"room": self.room_id, "peer": self.id})
        return answer

    def _on_track(self, track: MediaStreamTrack) -> None:
        self._readers.append(asyncio.ensure_future(self._read(track)))

    async def _read(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                if isinstance(frame, VideoFrame):
                    self.room.push_video(self.id, frame)
                elif isinstance(frame, AudioFrame):
                    self.room.push_audio(self.id, frame)
        except MediaStreamError:
            pass

    async def _on_state(self) -> None:
        state = self.pc.connectionState
        logger.info("publisher %s", state, extra={"room": self.room_id, "peer": self.id})
        if state in ("failed", "closed"):
            await self.close()

    async def close(self) -> None:
        if self.closed:
            return
        self.room.detach_publisher(self.id)
        for task in self._readers:
            task.cancel()
        await super().close()
        self._on_closed(self)
