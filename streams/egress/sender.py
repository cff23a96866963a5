"""A lean RTP send loop for forwarding the room's ready-made payloads to one viewer.

aiortc's `RTCRtpSender._run_rtp` builds an `RtpPacket` object per RTP packet, serialises its header
extensions through a generic map and reads the wall clock (via `datetime`) for every packet. On the
forward-only path the per-frame parts are the same for every packet of the frame, so this loop
computes the header extension block and the absolute send time once per frame and packs each RTP
header with one `struct.pack`. The wire format is the same as aiortc's; SRTP, ICE, RTCP sender
reports and NACK retransmission (with RTX) keep working through aiortc's own transport.

It replaces two methods on one sender instance (`_run_rtp`, `_retransmit`) and reads the sender's
private state: that coupling is pinned to aiortc's version range in pyproject.toml and covered by
the end-to-end tests, which decode every frame a viewer receives.
"""

from __future__ import annotations

import asyncio
import logging
import struct
import traceback
from types import MethodType
from typing import Any

from aiortc import RTCRtpCodecParameters, RTCRtpSender
from aiortc.clock import current_ntp_time
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcrtpsender import random_sequence_number
from aiortc.rtp import HeaderExtensions, RtpPacket, wrap_rtx
from aiortc.utils import random32, uint16_add, uint32_add

from ..fanout import PacketTrack

logger = logging.getLogger(__name__)

HISTORY = 128  # packets kept per viewer for NACK retransmission (about half a second of video)
_P = "_RTCRtpSender__"  # aiortc's name-mangled private attributes
_HEADER = struct.Struct("!BBHLL")


def install(sender: RTCRtpSender, track: PacketTrack) -> None:
    """Make `sender` forward `track`'s pre-packetised frames through the lean loop."""
    history: dict[int, bytes] = {}
    sender._run_rtp = MethodType(_make_run_rtp(track, history), sender)  # type: ignore[method-assign]
    sender._retransmit = MethodType(_make_retransmit(history), sender)  # type: ignore[method-assign]


def _get(sender: RTCRtpSender, name: str) -> Any:
    return getattr(sender, _P + name)


def _set(sender: RTCRtpSender, name: str, value: Any) -> None:
    setattr(sender, _P + name, value)


def _make_run_rtp(track: PacketTrack, history: dict[int, bytes]):  # type: ignore[no-untyped-def]
    async def run_rtp(self: RTCRtpSender, codec: RTCRtpCodecParameters) -> None:
        _get(self, "rtp_started").set()
        ext_map = _get(self, "rtp_header_extensions_map")
        mid = _get(self, "mid")
        transport = self.transport
        ssrc = self._ssrc
        payload_type = codec.payloadType
        sequence_number = random_sequence_number()
        timestamp_origin = random32()
        octets = _get(self, "octet_count")
        count = _get(self, "packet_count")
        extensions = HeaderExtensions()
        extensions.mid = mid
        try:
            while True:
                packet = await track.recv()
                if not self._enabled:
                    continue
                payloads = track.payloads if track.payloads is not None else [bytes(packet)]
                if not payloads:
                    continue
                # pts are already in the RTP clock of the codec (90 kHz video, 48 kHz Opus).
                timestamp = uint32_add(timestamp_origin, int(packet.pts or 0))
                ntp = current_ntp_time()
                extensions.abs_send_time = (ntp >> 14) & 0x00FFFFFF
                profile, value = ext_map.set(extensions)
                if value:
                    first = 0x90  # version 2, extension bit
                    ext = struct.pack("!HH", profile, len(value) >> 2) + value
                else:
                    first = 0x80
                    ext = b""
                last = len(payloads) - 1
                for i, payload in enumerate(payloads):
                    marker = 0x80 if i == last else 0
                    data = _HEADER.pack(first, marker | payload_type, sequence_number, timestamp, ssrc) + ext + payload
                    history[sequence_number % HISTORY] = data
                    await transport._send_rtp(data)
                    octets += len(payload)
                    count += 1
                    sequence_number = uint16_add(sequence_number, 1)
                # What the RTCP sender reports read.
                _set(self, "ntp_timestamp", ntp)
                _set(self, "rtp_timestamp", timestamp)
                _set(self, "octet_count", octets)
                _set(self, "packet_count", count)
        except (asyncio.CancelledError, ConnectionError, MediaStreamError):
            pass
        except Exception:  # noqa: BLE001
            # aiortc's stop() waits for the exit flag below: never leave without setting it.
            logger.warning("lean RTP loop failed: %s", traceback.format_exc())
        if _get(self, "track") is not None:
            _get(self, "track").stop()
            _set(self, "track", None)
        _set(self, "encoder", None)
        _get(self, "rtp_exited").set()

    return run_rtp


def _make_retransmit(history: dict[int, bytes]):  # type: ignore[no-untyped-def]
    async def retransmit(self: RTCRtpSender, sequence_number: int) -> None:
        data = history.get(sequence_number % HISTORY)
        if data is None:
            return
        ext_map = _get(self, "rtp_header_extensions_map")
        packet = RtpPacket.parse(data, ext_map)
        if packet.sequence_number != sequence_number:
            return  # overwritten by a newer packet: too late to repair
        rtx_payload_type = _get(self, "rtx_payload_type")
        if rtx_payload_type is not None:
            rtx_seq = _get(self, "rtx_sequence_number")
            packet = wrap_rtx(packet, payload_type=rtx_payload_type, sequence_number=rtx_seq, ssrc=self._rtx_ssrc)
            _set(self, "rtx_sequence_number", uint16_add(rtx_seq, 1))
            data = packet.serialize(ext_map)
        await self.transport._send_rtp(data)

    return retransmit
