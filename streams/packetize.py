"""RTP payloads made once per room, not once per viewer.

aiortc's sender calls `encoder.pack(packet)` for every viewer, splitting the Annex B stream and
building the FU-A/STAP-A payloads again each time. The room does it once, in its media thread, and
each viewer's sender is given an encoder that hands back those payloads.
"""

from __future__ import annotations

from typing import Protocol

from aiortc.codecs.base import Encoder
from aiortc.codecs.h264 import H264Encoder
from av.frame import Frame
from av.packet import Packet

Payloads = list[bytes]


def h264_payloads(packet: Packet) -> Payloads:
    return H264Encoder._packetize(H264Encoder._split_bitstream(bytes(packet)))


class HasPayloads(Protocol):
    payloads: Payloads | None


class PrepackedEncoder(Encoder):
    """Hands the sender the payloads its track just returned along with the packet."""

    def __init__(self, track: HasPayloads) -> None:
        self.track = track

    def encode(self, frame: Frame, force_keyframe: bool = False) -> tuple[Payloads, int]:
        raise TypeError("this sender only forwards the room's encoded packets")

    def pack(self, packet: Packet) -> tuple[Payloads, int]:
        # The sender calls pack() right after recv() with no await between, so the track's
        # payloads are those of this packet. pts are already in the 90 kHz RTP clock.
        payloads = self.track.payloads
        assert payloads is not None and packet.pts is not None
        return payloads, int(packet.pts)
