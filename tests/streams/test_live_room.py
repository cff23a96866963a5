"""The live room end to end: a real aiortc publisher over WHIP, real aiortc viewers over WHEP.

The viewers decode what the server encoded and the tests look at the pixels: the publisher's
picture is there, fitted into the portrait room, and the lower-third sits where the layer says.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from aiohttp.test_utils import TestClient

from server.app import create_app
from server.http.keys import MEDIA
from streams.fit import fit_into
from streams.yuv import plane_views, planes_to_rgb
from tests.conftest import make_settings
from tests.helpers import PatternTrack, add_room, publish, region_mean, watch

pytestmark = [pytest.mark.media, pytest.mark.timeout(90)]

MAGENTA = (200, 40, 160)


@pytest.fixture
async def client(database_url: str, aiohttp_client: Callable[..., Any]) -> TestClient:
    return await aiohttp_client(create_app(make_settings(database_url)))


def reference_frame(client: TestClient, room_id: str, source_rgb: np.ndarray) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """What the room should show: the source fitted, with the lower-third blended on top.

    Returns the RGB reference and the lower-third's box (x0, y0, x1, y1).
    """
    from av.video.frame import VideoFrame

    from overlay.compose import Compositor

    live = client.app[MEDIA].rooms[room_id]
    src = VideoFrame.from_ndarray(source_rgb, format="rgb24").reformat(format="yuv420p")
    out = VideoFrame(live.width, live.height, "yuv420p")
    planes = plane_views(out)
    fit_into(plane_views(src), planes)
    layer = live.compositor.get("lower-third")
    assert layer is not None
    comp = Compositor(live.width, live.height)
    comp.add(layer)
    comp.composite(*planes, time.monotonic() + 10)  # well past any fade-in
    rendered = layer.render(layer.state, (live.width, live.height))
    assert rendered is not None
    box = (rendered.x, rendered.y, rendered.x + rendered.image.width, rendered.y + rendered.image.height)
    y, u, v = (np.ascontiguousarray(p) for p in planes)
    return planes_to_rgb(y, u, v), box


@pytest.mark.both_loops
@pytest.mark.parametrize("codec", ["H264", "VP8"])
async def test_viewer_sees_publisher_with_lower_third(client: TestClient, codec: str) -> None:
    key = await add_room(client, "farm")
    track = PatternTrack(640, 360, MAGENTA)  # landscape camera into a portrait room
    pub = await publish(client, "farm", key, track, video_codec=codec)
    assert f"{codec}/90000" in pub.pc.remoteDescription.sdp
    viewer = await watch(client, "farm")
    try:
        await viewer.wait_frames(1, timeout=15)
        live = client.app[MEDIA].rooms["farm"]
        # Wait until the publisher's picture is on air (the room switches on its first frame).
        deadline = time.monotonic() + 10
        while not live.live and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert live.live
        await viewer.wait_frames(15)
        rgb = viewer.latest_rgb()
        assert rgb.shape == (1280, 720, 3)
        # The camera's white square, in the middle of the fitted landscape picture.
        center = region_mean(rgb, 340, 620, 380, 660)
        assert center.min() > 215, center
        # The magenta around it (a band above the square, inside the fitted picture).
        band = region_mean(rgb, 100, 560, 200, 580)
        assert np.abs(band - np.array(MAGENTA)).max() < 25, band
        # Blurred fill above and below the picture: darker magenta-ish, not black bars.
        fill = region_mean(rgb, 300, 150, 420, 250)
        assert fill.max() > 40 and fill[0] > fill[1], fill

        reference, (x0, y0, x1, y1) = reference_frame(client, "farm", track.image)
        got = rgb[y0:y1, x0:x1].astype(np.int16)
        want = reference[y0:y1, x0:x1].astype(np.int16)
        assert np.abs(got - want).mean() < 8, np.abs(got - want).mean()
        # And it really is drawn: the box differs from the bare picture there.
        bare = np.zeros_like(reference)
        assert np.abs(want - bare[y0:y1, x0:x1]).mean() > 1
        assert viewer.audio_frames > 0
    finally:
        await viewer.close()
        await pub.pc.close()


SDP = {"Content-Type": "application/sdp"}


async def _offer(kind_video: bool = True) -> str:
    from aiortc import RTCConfiguration, RTCPeerConnection

    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver("video" if kind_video else "audio", direction="sendrecv")
    await pc.setLocalDescription(await pc.createOffer())
    sdp = pc.localDescription.sdp
    await pc.close()
    return sdp


async def test_whip_refuses_bad_keys_rooms_and_offers(client: TestClient) -> None:
    key = await add_room(client, "farm")
    offer = await _offer()
    resp = await client.post("/whip/farm", data=offer, headers=SDP)
    assert resp.status == 401 and resp.headers["WWW-Authenticate"].startswith("Bearer")
    resp = await client.post("/whip/farm", data=offer, headers={**SDP, "Authorization": "Bearer sk_wrong"})
    assert resp.status == 401
    resp = await client.post("/whip/nowhere", data=offer, headers={**SDP, "Authorization": f"Bearer {key}"})
    assert resp.status == 404
    auth = {"Authorization": f"Bearer {key}"}
    resp = await client.post("/whip/farm", data="hello", headers={**SDP, **auth})
    assert resp.status == 400 and "v=0" in (await resp.json())["message"]
    resp = await client.post("/whip/farm", data=offer, headers={"Content-Type": "text/plain", **auth})
    assert resp.status == 400
    # An offer whose only codec we cannot take (AV1 video).
    lines = [ln for ln in offer.split("\r\n") if not ln.startswith(("a=rtpmap", "a=fmtp", "a=rtcp-fb"))]
    lines = [ln.split(" UDP/TLS/RTP/SAVPF ")[0] + " UDP/TLS/RTP/SAVPF 45" if ln.startswith("m=video") else ln for ln in lines]
    bad = "\r\n".join(lines).replace("a=mid:0", "a=mid:0\r\na=rtpmap:45 AV1/90000")
    resp = await client.post("/whip/farm", data=bad, headers={**SDP, **auth})
    assert resp.status == 400, await resp.text()
    assert "codec" in (await resp.json())["message"]
    # Nothing was published by any of that.
    assert client.app[MEDIA].rooms.get("farm") is None or client.app[MEDIA].rooms["farm"].publisher is None


async def test_whip_options_cors_and_patch(client: TestClient) -> None:
    key = await add_room(client, "farm")
    resp = await client.options("/whip/farm", headers={"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "POST"})
    assert resp.status == 204
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert "Authorization" in resp.headers["Access-Control-Allow-Headers"]
    assert "Location" in resp.headers["Access-Control-Expose-Headers"]
    assert resp.headers["Accept-Post"] == "application/sdp"
    pub = await publish(client, "farm", key, PatternTrack(320, 240, MAGENTA), audio=False)
    try:
        auth = {"Authorization": f"Bearer {key}"}
        frag = {"Content-Type": "application/trickle-ice-sdpfrag"}
        ok = "a=ice-ufrag:{}\r\na=mid:0\r\na=candidate:1 1 udp 2122260223 127.0.0.1 9 typ host\r\n"
        ufrag = [ln for ln in pub.pc.localDescription.sdp.splitlines() if ln.startswith("a=ice-ufrag:")][0].split(":")[1]
        resp = await client.patch(pub.location, data=ok.format(ufrag), headers={**frag, **auth})
        assert resp.status == 204, await resp.text()
        resp = await client.patch(pub.location, data=ok.format("restart1"), headers={**frag, **auth})
        assert resp.status == 422
        resp = await client.patch(pub.location, data="x", headers={"Content-Type": "application/sdp", **auth})
        assert resp.status == 415
        assert (await client.delete(pub.location)).status == 401
        assert (await client.delete(pub.location, headers=auth)).status == 200
        assert (await client.delete(pub.location, headers=auth)).status == 404
    finally:
        await pub.pc.close()


async def test_second_publisher_is_refused_unless_it_takes_over(client: TestClient) -> None:
    key = await add_room(client, "farm")
    first = await publish(client, "farm", key, PatternTrack(320, 240, MAGENTA), audio=False)
    try:
        with pytest.raises(AssertionError, match="409"):
            await publish(client, "farm", key, PatternTrack(320, 240, (20, 200, 40)), audio=False)
        second = await publish(client, "farm", key, PatternTrack(320, 240, (20, 200, 40)), takeover=True, audio=False)
        room = client.app[MEDIA].rooms["farm"]
        assert room.publisher == second.location.rsplit("/", 1)[1]
        await second.pc.close()
    finally:
        await first.pc.close()


async def test_publisher_drop_shows_slate_and_resume_keeps_viewers(client: TestClient) -> None:
    key = await add_room(client, "farm")
    pub = await publish(client, "farm", key, PatternTrack(640, 360, MAGENTA), audio=False)
    viewer = await watch(client, "farm")
    room = client.app[MEDIA].rooms["farm"]
    try:
        await viewer.wait_frames(5, timeout=15)
        deadline = time.monotonic() + 10
        while not room.live and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert room.live
        # The publisher vanishes without a word (no DELETE): its media simply stops.
        await pub.pc.close()
        dropped_at = time.monotonic()
        while room.live and time.monotonic() - dropped_at < 5:
            await asyncio.sleep(0.05)
        assert not room.live
        assert time.monotonic() - dropped_at <= 2.0
        await viewer.wait_frames(10)
        slate = viewer.latest_rgb()
        assert np.abs(region_mean(slate, 100, 560, 200, 580) - np.array(MAGENTA)).max() > 40
        assert room.viewers == 1
        # The host comes back: the same viewer, still connected, sees them again.
        frames_before = viewer.frame_count
        pub2 = await publish(client, "farm", key, PatternTrack(640, 360, (30, 180, 60)), audio=False)
        deadline = time.monotonic() + 10
        while not room.live and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await viewer.wait_frames(15)
        band = region_mean(viewer.latest_rgb(), 100, 560, 200, 580)
        assert np.abs(band - np.array((30, 180, 60))).max() < 25, band
        assert viewer.frame_count > frames_before
        assert viewer.pc.connectionState == "connected"
        await pub2.pc.close()
    finally:
        await viewer.close()


async def test_stalled_viewer_stays_bounded_and_others_keep_up(client: TestClient) -> None:
    await add_room(client, "farm", demo=True)
    stalled = await watch(client, "farm", read=False)  # never reads a frame
    healthy = await watch(client, "farm")
    room = client.app[MEDIA].rooms["farm"]
    try:
        await healthy.wait_frames(60, timeout=20)
        assert room.viewers == 2
        limit = room.options.viewer_queue_packets
        session_tracks = [s.tracks for s in client.app[MEDIA].sessions.values() if s.kind == "whep"]
        for video, audio in session_tracks:
            assert video.queued <= limit
            assert audio.queued <= max(10, limit // 3)
        await stalled.close()
        await healthy.close()
        deadline = time.monotonic() + 10
        while room.viewers and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert room.viewers == 0
    finally:
        await stalled.close()
        await healthy.close()


async def test_idle_room_pipeline_closes_and_reopens_on_demand(sqlite_url: str, aiohttp_client: Callable[..., Any]) -> None:
    client = await aiohttp_client(create_app(make_settings(sqlite_url)))
    media = client.app[MEDIA]
    media.idle_close_s = 1.0
    await add_room(client, "farm")
    viewer = await watch(client, "farm")
    await viewer.wait_frames(3, timeout=15)
    await client.delete(viewer.location)
    await viewer.close()
    deadline = time.monotonic() + 10
    while "farm" in media.rooms and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert "farm" not in media.rooms
    again = await watch(client, "farm")
    try:
        await again.wait_frames(3, timeout=15)
        assert media.rooms["farm"].running
    finally:
        await again.close()
