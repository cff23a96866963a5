"""RTP payloads made once per room, not once per viewer.

aiortc's sender would call `encoder.pack(packet)` for every viewer, splitting the Annex B stream
and building the FU-A/STAP-A payloads again each time. The room does it once, in its media thread,
and each viewer's lean sender (egress/sender.py) forwards those payloads.
"""

from __future__ import annotations

from aiortc.codecs.h264 import H264Encoder
from av.packet import Packet

Payloads = list[bytes]


def h264_payloads(packet: Packet) -> Payloads:
    return H264Encoder._packetize(H264Encoder._split_bitstream(bytes(packet)))
