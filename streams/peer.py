"""What WHIP and WHEP sessions share: an aiortc peer answering one SDP offer, non-trickle."""

from __future__ import annotations

import logging
import secrets

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.exceptions import OperationError
from aiortc.sdp import candidate_from_sdp

from .errors import BadOffer, UnsupportedPatch
from .ice import advertise_public_ips, rtc_configuration
from .options import IceOptions

logger = logging.getLogger(__name__)


def check_offer(sdp: str) -> None:
    if not sdp.strip():
        raise BadOffer("the body must be an SDP offer (Content-Type: application/sdp)")
    if not sdp.lstrip().startswith("v=0"):
        raise BadOffer("not an SDP offer: it must start with v=0")
    if "\nm=" not in sdp.replace("\r\n", "\n"):
        raise BadOffer("the SDP offer has no media sections")


class PeerSession:
    """One peer connection, identified by a random id that becomes its resource URL."""

    kind = "peer"

    def __init__(self, room_id: str, ice: IceOptions) -> None:
        self.id = secrets.token_urlsafe(12)
        self.room_id = room_id
        self.ice = ice
        self.pc = RTCPeerConnection(rtc_configuration(ice))
        self.closed = False
        self._remote_ufrag: str | None = None
        self._remote_pwd: str | None = None

    async def _apply_offer(self, sdp: str) -> None:
        check_offer(sdp)
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        except OperationError as exc:
            raise BadOffer(
                f"no codec in common ({exc}): send H.264, VP8 or Opus; watch with H.264 and Opus"
            ) from exc
        except Exception as exc:  # aiortc raises ValueError/InvalidStateError/... on bad SDP
            raise BadOffer(f"the SDP offer could not be used: {exc}") from exc
        for line in sdp.splitlines():
            if line.startswith("a=ice-ufrag:") and self._remote_ufrag is None:
                self._remote_ufrag = line.split(":", 1)[1].strip()
            if line.startswith("a=ice-pwd:") and self._remote_pwd is None:
                self._remote_pwd = line.split(":", 1)[1].strip()

    async def _answer(self) -> str:
        try:
            answer = await self.pc.createAnswer()
            await self.pc.setLocalDescription(answer)
        except Exception as exc:
            raise BadOffer(f"no answer can be made to this offer: {exc}") from exc
        return advertise_public_ips(self.pc.localDescription.sdp, self.ice)

    async def patch(self, fragment: str) -> None:
        """RFC 9725 trickle ICE: add the client's late candidates. ICE restarts are not supported."""
        ufrag = pwd = None
        mid: str | None = None
        candidates = []
        for raw in fragment.splitlines():
            line = raw.strip()
            if line.startswith("a=ice-ufrag:"):
                ufrag = line.split(":", 1)[1]
            elif line.startswith("a=ice-pwd:"):
                pwd = line.split(":", 1)[1]
            elif line.startswith("a=mid:"):
                mid = line.split(":", 1)[1]
            elif line.startswith("a=candidate:"):
                try:
                    candidate = candidate_from_sdp(line[len("a=candidate:") :])
                except (ValueError, IndexError) as exc:
                    raise BadOffer(f"bad candidate line: {line!r}") from exc
                candidate.sdpMid = mid
                candidate.sdpMLineIndex = 0 if mid is None else None
                candidates.append(candidate)
        if (ufrag and ufrag != self._remote_ufrag) or (pwd and pwd != self._remote_pwd):
            raise UnsupportedPatch("ICE restarts are not supported: start a new session")
        for candidate in candidates:
            await self.pc.addIceCandidate(candidate)
        logger.debug("trickled %d candidates", len(candidates), extra={"peer": self.id})

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            await self.pc.close()
