"""numpy views of PyAV frames and RGB <-> I420 helpers, shared by the pipeline and the demo camera."""

from __future__ import annotations

import cv2
import numpy as np
from av.video.frame import VideoFrame

Planes = tuple[np.ndarray, np.ndarray, np.ndarray]


def plane_views(frame: VideoFrame) -> Planes:
    """Writable numpy views (no copy) of a yuv420p frame's planes, honouring each row's stride."""
    views = []
    for plane in frame.planes:
        buf = np.frombuffer(plane, dtype=np.uint8).reshape(plane.height, plane.line_size)
        views.append(buf[:, : plane.width])
    return views[0], views[1], views[2]


def rgb_to_planes(rgb: np.ndarray) -> Planes:
    """BT.601 limited-range I420 planes (contiguous) from an (h, w, 3) RGB image with even sides."""
    h, w = rgb.shape[:2]
    packed = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2YUV_I420)
    y = packed[:h]
    u = packed[h : h + h // 4].reshape(h // 2, w // 2)
    v = packed[h + h // 4 :].reshape(h // 2, w // 2)
    return y.copy(), u.copy(), v.copy()


def planes_to_rgb(y: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    h, w = y.shape
    packed = np.concatenate([y, u.reshape(h // 4, w), v.reshape(h // 4, w)])
    return cv2.cvtColor(packed, cv2.COLOR_YUV2RGB_I420)


def new_frame(width: int, height: int) -> VideoFrame:
    return VideoFrame(width, height, "yuv420p")


def copy_planes(dst: Planes, src: Planes) -> None:
    for d, s in zip(dst, src, strict=True):
        np.copyto(d, s)


class FramePool:
    """The room's own output frames, reused round-robin instead of a fresh 1.4 MB buffer per tick.

    x264 copies its input during encode (zerolatency: no lookahead), so a frame is free again once
    encode returns; `make_writable()` is then a no-op, and copies only if something still holds it.
    """

    def __init__(self, width: int, height: int, size: int = 2) -> None:
        self._frames = [new_frame(width, height) for _ in range(size)]
        self._next = 0

    def take(self) -> tuple[VideoFrame, Planes]:
        frame = self._frames[self._next]
        self._next = (self._next + 1) % len(self._frames)
        frame.make_writable()
        return frame, plane_views(frame)
