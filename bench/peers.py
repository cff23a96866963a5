"""aiortc peers for the benchmarks: a stamped WHIP publisher and WHEP viewers (decoding or not)."""

from __future__ import annotations

import asyncio
import fractions
import time

import aiohttp
import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av.video.frame import VideoFrame

from streams.ice import apply_host_policy
from streams.options import IceOptions

apply_host_policy(IceOptions(include_loopback=True))

BITS = 16
BLOCK = 48
BAR_X, BAR_Y, BAR_H = 256, 300, 80


class StampedCamera(MediaStreamTrack):
    """Frames that carry their own number as a barcode; remembers when each was handed over."""

    kind = "video"

    def __init__(self, width: int = 1280, height: int = 720, fps: int = 30) -> None:
        super().__init__()
        self.width, self.height, self.fps = width, height, fps
        self.sent: dict[int, float] = {}
        self._n = 0
        self._t0: float | None = None
        rng = np.random.default_rng(3)
        self._texture = rng.integers(60, 180, (height, width), dtype=np.uint8)

    async def recv(self) -> VideoFrame:
        if self._t0 is None:
            self._t0 = time.monotonic()
        due = self._t0 + self._n / self.fps
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        n = self._n
        self._n += 1
        frame = VideoFrame(self.width, self.height, "yuv420p")
        y = np.frombuffer(frame.planes[0], np.uint8).reshape(self.height, frame.planes[0].line_size)
        y[:, : self.width] = np.roll(self._texture, n * 4, axis=1)
        code = n % (1 << BITS)
        for b in range(BITS):
            x = BAR_X + b * BLOCK
            y[BAR_Y : BAR_Y + BAR_H, x : x + BLOCK] = 235 if (code >> b) & 1 else 16
        for plane in frame.planes[1:]:
            np.frombuffer(plane, np.uint8)[:] = 128
        frame.pts = n * (90_000 // self.fps)
        frame.time_base = fractions.Fraction(1, 90_000)
        self.sent[code] = time.monotonic()
        return frame


def read_stamp(frame: VideoFrame) -> int:
    y = frame.to_ndarray(format="gray")
    code = 0
    for b in range(BITS):
        x = BAR_X + b * BLOCK + BLOCK // 2
        if y[BAR_Y + BAR_H // 2, x - 8 : x + 8].mean() > 128:
            code |= 1 << b
    return code


async def _offer(pc: RTCPeerConnection) -> str:
    await pc.setLocalDescription(await pc.createOffer())
    return pc.localDescription.sdp


async def publish(http: aiohttp.ClientSession, base: str, room: str, key: str, track: MediaStreamTrack) -> RTCPeerConnection:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTrack(track)
    async with http.post(
        f"{base}/whip/{room}", data=await _offer(pc),
        headers={"Content-Type": "application/sdp", "Authorization": f"Bearer {key}"},
    ) as resp:
        assert resp.status == 201, await resp.text()
        await pc.setRemoteDescription(RTCSessionDescription(await resp.text(), "answer"))
    return pc


async def watch(
    http: aiohttp.ClientSession, base: str, room: str, on_frame=None, audio: bool = True
) -> tuple[RTCPeerConnection, str]:
    """A WHEP viewer; `on_frame(frame, now)` sees every decoded video frame."""
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver("video", direction="recvonly")
    if audio:
        pc.addTransceiver("audio", direction="recvonly")

    async def consume(track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                if on_frame is not None and isinstance(frame, VideoFrame):
                    on_frame(frame, time.monotonic())
        except MediaStreamError:
            pass

    pc.on("track", lambda track: asyncio.ensure_future(consume(track)))
    async with http.post(
        f"{base}/whep/{room}", data=await _offer(pc), headers={"Content-Type": "application/sdp"}
    ) as resp:
        assert resp.status == 201, await resp.text()
        location = resp.headers["Location"]
        await pc.setRemoteDescription(RTCSessionDescription(await resp.text(), "answer"))
    return pc, location
