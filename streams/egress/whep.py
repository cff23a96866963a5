"""WHEP egress: any WHEP player watches a room.

Each viewer's senders get the room's encoded packets (no per-viewer encoder). aiortc ignores PLI on
that pass-through path, so each sender's keyframe request is routed to the room's encoder, which
rate-limits them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aiortc import RTCRtpCodecCapability, RTCRtpSender

from ..errors import BadOffer
from ..options import IceOptions
from ..peer import PeerSession
from ..room import LiveRoom
from . import sender as lean_sender

logger = logging.getLogger(__name__)

_WANTED = {"video": "video/H264", "audio": "audio/opus"}


def _codecs(kind: str) -> list[RTCRtpCodecCapability]:
    return [
        c
        for c in RTCRtpSender.getCapabilities(kind).codecs
        if c.mimeType.lower() == _WANTED[kind].lower()
        # The room's encoder makes constrained baseline, packetization-mode 1.
        and (kind != "video" or c.parameters.get("packetization-mode") == "1")
    ]


class WhepSession(PeerSession):
    """One viewer. It counts as watching (`connected`) only once ICE and DTLS have completed, so
    media flows: an offer that never finishes ICE is no viewer, and is dropped after a deadline."""

    kind = "whep"

    def __init__(
        self,
        room: LiveRoom,
        ice: IceOptions,
        on_closed: Callable[[WhepSession], None],
        *,
        client: str = "unknown",
        on_connected: Callable[[WhepSession], None] | None = None,
    ) -> None:
        super().__init__(room.spec.room_id, ice)
        self.room = room
        self.client = client  # the address the offer came from: the per-client cap counts by it
        self.connected = False
        self._on_closed = on_closed
        self._on_connected = on_connected
        self._deadline: asyncio.Task[None] | None = None
        self.tracks = room.viewer_tracks()
        self.pc.on("connectionstatechange", self._on_state)

    def drop_unless_connected_within(self, seconds: float) -> None:
        """Close this session if its ICE/DTLS has not completed `seconds` from now."""
        self._deadline = asyncio.ensure_future(self._expire(seconds))

    async def _expire(self, seconds: float) -> None:
        await asyncio.sleep(seconds)  # a timer: nothing to wait for but the clock
        if not self.connected and not self.closed:
            logger.info(
                "viewer dropped: ICE/DTLS not completed in %.1f s", seconds,
                extra={"room": self.room_id, "peer": self.id},
            )
            await self.close()

    async def start(self, offer: str) -> str:
        # The sending transceivers exist before the offer is applied: aiortc binds the offer's
        # m-lines to them and negotiates codecs against their preferences (H.264 and Opus only,
        # the codecs the room encodes in), raising if the viewer supports neither.
        offered = {line[2:7] for line in offer.splitlines() if line.startswith(("m=video", "m=audio"))}
        for track in self.tracks:
            if track.kind not in offered:
                continue
            transceiver = self.pc.addTransceiver(track, direction="sendonly")
            transceiver.setCodecPreferences(_codecs(track.kind))
            if track.kind == "video":
                # Route the viewer's PLI/FIR to the room encoder (aiortc would only set a flag
                # that the packet path never reads).
                transceiver.sender._send_keyframe = self.room.request_keyframe  # type: ignore[method-assign]
            # The room packetised each frame once; this sender only forwards the payloads.
            lean_sender.install(transceiver.sender, track)
        await self._apply_offer(offer)
        if not any(t.mid is not None for t in self.pc.getTransceivers()):
            raise BadOffer("the offer asks for no video or audio we can send")
        answer = await self._answer()
        logger.info("viewer answered", extra={"room": self.room_id, "peer": self.id})
        return answer

    async def _on_state(self) -> None:
        state = self.pc.connectionState
        logger.debug("viewer %s", state, extra={"room": self.room_id, "peer": self.id})
        if state == "connected" and not self.connected and not self.closed:
            self.connected = True
            logger.info("viewer connected", extra={"room": self.room_id, "peer": self.id})
            if self._on_connected is not None:
                self._on_connected(self)
        if state in ("failed", "closed"):
            await self.close()

    async def close(self) -> None:
        if self.closed:
            return
        if self._deadline is not None and self._deadline is not asyncio.current_task():
            self._deadline.cancel()  # (unless it is the deadline itself that is closing us)
        for track in self.tracks:
            track.stop()
        await super().close()
        self._on_closed(self)
