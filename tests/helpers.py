"""Test helpers: a running app, operator tokens and rooms, real aiortc WHIP/WHEP peers."""

from __future__ import annotations

import asyncio
import fractions
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
from aiohttp import web
from aiohttp.test_utils import TestClient
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, MediaStreamTrack
from av.video.frame import VideoFrame

from server.domain.accounts.grants import GRANTABLE, token_subject, user_subject
from server.domain.accounts.roles import Role
from server.domain.accounts.tokens import ApiToken, hash_secret, new_secret
from server.domain.accounts.users import User
from server.domain.rooms import Orientation, new_room
from server.http.keys import ACCOUNTS, GRANTS, ROOMS, TOKENS

VIDEO_CLOCK = fractions.Fraction(1, 90_000)


async def operator_token(client: TestClient) -> str:
    secret = new_secret("fc")
    await client.app[TOKENS].add(
        ApiToken(None, "test", Role.OPERATOR, hash_secret(secret), datetime.now(UTC))
    )
    return secret


async def grant_room(app: web.Application, user_id: int, room_id: str, role: Role) -> None:
    """Host or moderator of one room, as an operator would grant it."""
    await app[GRANTS].grant(Role.OPERATOR, "test", room_id, user_subject(user_id), role)


async def staff_account(
    app: web.Application, identifier: str, password: str, nickname: str, role: Role,
    rooms: tuple[str, ...] = ("farm",),
) -> User:
    """An account with `role`; a host or moderator also holds that role's grant in `rooms`."""
    user = await app[ACCOUNTS].register(identifier, password, nickname, role=role)
    assert user.id is not None
    if role in GRANTABLE:
        for room_id in rooms:
            await grant_room(app, user.id, room_id, role)
    return user


async def role_token(app: web.Application, role: Role, rooms: tuple[str, ...] = ()) -> str:
    """An API token with `role`, holding that role's grant in `rooms`."""
    secret = new_secret("fc")
    token = await app[TOKENS].add(ApiToken(None, f"test-{role.value}", role, hash_secret(secret), datetime.now(UTC)))
    assert token.id is not None
    for room_id in rooms:
        await app[GRANTS].grant(Role.OPERATOR, "test", room_id, token_subject(token.id), role)
    return secret


async def add_room(
    client: TestClient,
    room_id: str = "farm",
    *,
    title: str = "高山有机番茄 现摘现发",
    brand: str = "青禾农场",
    orientation: Orientation = Orientation.PORTRAIT,
    demo: bool = False,
) -> str:
    room, key = new_room(room_id, title, brand=brand, orientation=orientation, demo_source=demo)
    await client.app[ROOMS].add(room)
    return key


class PatternTrack(MediaStreamTrack):
    """A publisher camera: a solid colour with a white square, stamped with its send time."""

    kind = "video"

    def __init__(self, width: int, height: int, rgb: tuple[int, int, int], fps: int = 30) -> None:
        super().__init__()
        img = np.zeros((height, width, 3), np.uint8)
        img[:] = rgb
        s = min(width, height) // 4
        img[height // 2 - s // 2 : height // 2 + s // 2, width // 2 - s // 2 : width // 2 + s // 2] = 255
        self.image = img
        self.fps = fps
        self._n = 0
        self._start: float | None = None

    async def recv(self) -> VideoFrame:
        if self._start is None:
            self._start = time.monotonic()
        due = self._start + self._n / self.fps
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        frame = VideoFrame.from_ndarray(self.image, format="rgb24").reformat(format="yuv420p")
        frame.pts = self._n * (90_000 // self.fps)
        frame.time_base = VIDEO_CLOCK
        self._n += 1
        return frame


async def _gathered_offer(pc: RTCPeerConnection) -> str:
    offer = await pc.createOffer()
    await pc.setLocalDescription(offer)  # aiortc gathers fully here
    return pc.localDescription.sdp


@dataclass
class Publisher:
    pc: RTCPeerConnection
    location: str
    key: str


async def publish(
    client: TestClient,
    room_id: str,
    key: str,
    track: MediaStreamTrack,
    *,
    takeover: bool = False,
    audio: bool = True,
    video_codec: str | None = None,
) -> Publisher:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    sender = pc.addTrack(track)
    if video_codec is not None:
        # Send only this codec (as a browser or OBS would offer H.264 first).
        from aiortc import RTCRtpSender

        codecs = [c for c in RTCRtpSender.getCapabilities("video").codecs if c.mimeType == f"video/{video_codec}"]
        next(t for t in pc.getTransceivers() if t.sender is sender).setCodecPreferences(codecs)
    if audio:
        pc.addTrack(AudioStreamTrack())
    headers = {"Content-Type": "application/sdp", "Authorization": f"Bearer {key}"}
    if takeover:
        headers["X-Fieldcast-Takeover"] = "1"
    resp = await client.post(f"/whip/{room_id}", data=await _gathered_offer(pc), headers=headers)
    if resp.status != 201:
        await pc.close()
        raise AssertionError(f"WHIP POST {resp.status}: {await resp.text()}")
    await pc.setRemoteDescription(RTCSessionDescription(await resp.text(), "answer"))
    return Publisher(pc, resp.headers["Location"], key)


@dataclass
class Viewer:
    pc: RTCPeerConnection
    location: str
    frames: list[VideoFrame] = field(default_factory=list)
    audio_frames: int = 0
    first_frame_at: float | None = None
    keep: int = 5
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    frame_count: int = 0

    async def wait_frames(self, n: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        target = self.frame_count + n
        while self.frame_count < target:
            if time.monotonic() > deadline:
                raise AssertionError(f"viewer got {self.frame_count} frames, wanted {target}")
            await asyncio.sleep(0.02)

    def latest_rgb(self) -> np.ndarray:
        return self.frames[-1].to_ndarray(format="rgb24")

    async def close(self) -> None:
        for t in self.tasks:
            t.cancel()
        await self.pc.close()


async def watch(client: TestClient, room_id: str, *, read: bool = True) -> Viewer:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver("video", direction="recvonly")
    pc.addTransceiver("audio", direction="recvonly")
    viewer = Viewer(pc, "")
    started = time.monotonic()

    async def consume(track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                if isinstance(frame, VideoFrame):
                    if viewer.first_frame_at is None:
                        viewer.first_frame_at = time.monotonic() - started
                    viewer.frames.append(frame)
                    del viewer.frames[: -viewer.keep]
                    viewer.frame_count += 1
                else:
                    viewer.audio_frames += 1
        except MediaStreamError:
            pass

    @pc.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        if read:
            viewer.tasks.append(asyncio.ensure_future(consume(track)))

    resp = await client.post(
        f"/whep/{room_id}", data=await _gathered_offer(pc), headers={"Content-Type": "application/sdp"}
    )
    if resp.status != 201:
        await pc.close()
        raise AssertionError(f"WHEP POST {resp.status}: {await resp.text()}")
    viewer.location = resp.headers["Location"]
    await pc.setRemoteDescription(RTCSessionDescription(await resp.text(), "answer"))
    return viewer


def region_mean(rgb: np.ndarray, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    return rgb[y0:y1, x0:x1].reshape(-1, 3).mean(axis=0)

