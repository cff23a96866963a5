"""The room's encoder: constrained baseline, no B-frames, Annex B with SPS/PPS before every IDR."""

from __future__ import annotations

import numpy as np

from streams.encoder import AudioEncoder, VideoEncoder
from streams.yuv import new_frame, plane_views


def _nal_types(data: bytes) -> list[int]:
    types = []
    i = data.find(b"\x00\x00\x01")
    while i != -1:
        types.append(data[i + 3] & 0x1F)
        i = data.find(b"\x00\x00\x01", i + 3)
    return types


def _encode(n: int, force: set[int]) -> list[tuple[int, bytes, bool]]:
    enc = VideoEncoder(320, 240, 30, 500_000, 1.0)
    out = []
    rng = np.random.default_rng(1)
    for i in range(n):
        frame = new_frame(320, 240)
        y, u, v = plane_views(frame)
        y[:] = rng.integers(0, 255, y.shape, dtype=np.uint8)
        u[:] = 128
        v[:] = 128
        for packet in enc.encode(frame, i, keyframe=i in force):
            out.append((i, bytes(packet), packet.is_keyframe))
            assert packet.pts == i * 3000 and packet.dts == packet.pts  # no reordering: no B-frames
    return out


def test_every_idr_carries_sps_and_pps_and_comes_at_least_every_interval() -> None:
    packets = _encode(75, force={40})
    keyframes = [i for i, _, key in packets if key]
    assert keyframes[0] == 0 and 40 in keyframes  # the first, and the one asked for
    # Never more than the interval (30 frames at 1 s) apart; a forced one restarts the count.
    assert max(np.diff(keyframes + [75])) <= 30, keyframes
    for i, data, key in packets:
        types = _nal_types(data)
        assert data.startswith(b"\x00\x00\x00\x01") or data.startswith(b"\x00\x00\x01")  # Annex B
        if key:
            assert types[:2] == [7, 8] and 5 in types, (i, types)
        else:
            assert 5 not in types and 7 not in types


def test_profile_is_constrained_baseline() -> None:
    _, data, _ = _encode(1, set())[0]
    sps = data[data.find(b"\x00\x00\x01\x67") + 4 :]
    profile_idc, constraints = sps[0], sps[1]
    assert profile_idc == 66  # baseline
    assert constraints & 0x40  # constraint_set1: constrained baseline


def test_opus_packets_are_20ms_apart() -> None:
    enc = AudioEncoder(64_000)
    pts = []
    for i in range(10):
        for packet in enc.encode(bytes(960 * 4), i * 960):
            pts.append(packet.pts)
    assert len(pts) >= 9
    assert set(np.diff(pts)) == {960}
