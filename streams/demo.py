"""The demo farm camera: a moving, recognisable farm scene and its ambience, made up on the fly.

Used by the demo room (and the tests) so everything works with no camera. The picture is built once
as layers in YUV, then each frame scrolls the sky, sways the crops and drives a tractor across: a few
slice copies per frame, well under a millisecond at 720p. It is labelled as simulated on screen.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from .yuv import Planes, rgb_to_planes

SKY_TOP = (110, 170, 230)
SKY_HORIZON = (205, 228, 245)


def _even(n: float) -> int:
    return int(n) // 2 * 2


class FarmScene:
    """Renders frame n of the scene into the planes of a yuv420p frame of the given size."""

    def __init__(self, width: int, height: int, fps: int = 30) -> None:
        self.width, self.height, self.fps = width, height, fps
        rng = np.random.default_rng(7)
        self.horizon = _even(height * (0.40 if height > width else 0.45))
        self._sky = rgb_to_planes(self._sky_panorama(rng))  # twice the width: scrolls and wraps
        land_rgb, land_alpha = self._build_land(rng)
        self._land = rgb_to_planes(land_rgb)
        self._land_mask = (land_alpha > 0).astype(np.uint8)
        self._land_mask_c = self._land_mask[::2, ::2].copy()
        self._land_top = _even(int(np.argmax(self._land_mask.any(axis=1))))
        tractor_rgb, tractor_alpha = self._tractor()
        self._tractor_planes = rgb_to_planes(tractor_rgb)
        self._tractor_mask = tractor_alpha > 0
        self._tractor_mask_c = self._tractor_mask[::2, ::2]
        # The swaying band: the lowest rows of crops, displaced by a per-row sine each frame.
        self._sway_top = _even(height * 0.72)
        ys = np.arange(self._sway_top, height, dtype=np.float32)
        self._sway_depth = ((ys - self._sway_top) / max(1, height - self._sway_top)).astype(np.float32)
        self._grid_x = np.tile(np.arange(width, dtype=np.float32), (len(ys), 1))
        self._grid_y = np.repeat(ys[:, None], width, axis=1) - self._sway_top

    # -- building the layers once ------------------------------------------------------------

    def _sky_panorama(self, rng: np.random.Generator) -> np.ndarray:
        w, h = self.width * 2, self.height
        t = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
        top, bottom = np.array(SKY_TOP, np.float32), np.array(SKY_HORIZON, np.float32)
        sky = np.broadcast_to(top * (1 - t) + bottom * t, (h, w, 3)).copy()
        # Sun with a soft glow.
        cx, cy, r = int(w * 0.3), int(self.horizon * 0.35), max(18, self.width // 16)
        yy, xx = np.ogrid[:h, :w]
        d = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2)
        glow = np.clip(1.0 - d / (r * 4), 0, 1)[..., None] ** 2
        sky = sky * (1 - glow * 0.5) + np.array([255, 240, 200], np.float32) * glow * 0.5
        sky[d < r] = (255, 236, 160)
        # Clouds: clusters of blurred ellipses.
        clouds = np.zeros((h, w), np.float32)
        for _ in range(7):
            x0 = rng.integers(0, w)
            y0 = rng.integers(int(self.horizon * 0.1), int(self.horizon * 0.7))
            for _ in range(5):
                ax = int(rng.integers(self.width // 20, self.width // 9))
                cv2.ellipse(
                    clouds,
                    (int(x0 + rng.integers(-ax, ax)), int(y0 + rng.integers(-ax // 3, ax // 3))),
                    (ax, ax // 2), 0, 0, 360, 1.0, -1,
                )
        clouds = cv2.GaussianBlur(clouds, (0, 0), max(2.0, self.width / 160))[..., None]
        sky = sky * (1 - clouds * 0.85) + 255.0 * clouds * 0.85
        return np.clip(sky, 0, 255).astype(np.uint8)

    def _build_land(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        w, h, hz = self.width, self.height, self.horizon
        rgb = np.zeros((h, w, 3), np.uint8)
        alpha = np.zeros((h, w), np.uint8)
        xs = np.arange(w)
        # Two ranges of hills, the far one hazier.
        for depth, (color, amp, base) in enumerate(
            [((120, 160, 135), 0.10, 0.02), ((78, 140, 70), 0.06, -0.01)]
        ):
            phase = rng.uniform(0, 6.28)
            ridge = hz - (amp * h * 0.5) * (1 + np.sin(xs / w * 6.28 * (1.3 + depth) + phase)) / 2
            ridge = ridge - base * h
            for x in xs:
                top = int(ridge[x])
                rgb[top:hz, x] = color
                alpha[top:hz, x] = 255
        # The field: furrows converging on a vanishing point above the horizon.
        field = np.zeros((h - hz, w, 3), np.uint8)
        vy = hz - h * 0.15
        yy, xx = np.mgrid[hz:h, 0:w].astype(np.float32)
        rel = (xx - w / 2) / np.maximum(yy - vy, 1.0)
        rows = np.sin(rel * 40.0)
        crop = np.array([64, 142, 52], np.float32)
        soil = np.array([122, 88, 56], np.float32)
        k = ((rows > -0.2).astype(np.float32))[..., None]
        shade = (0.75 + 0.25 * (yy - hz) / (h - hz))[..., None]
        field = (crop * k + soil * (1 - k)) * shade
        # Red fruit dots on the crop rows, denser nearer the camera.
        for _ in range(w * h // 900):
            y = int(hz + (h - hz) * rng.random() ** 0.6)
            x = int(rng.integers(0, w))
            r = max(1, int(2 + 8 * (y - hz) / (h - hz)))
            if rows[y - hz, x] > 0.2:
                cv2.circle(field, (x, y - hz), r, (214, 48, 36), -1)
        rgb[hz:] = np.clip(field, 0, 255).astype(np.uint8)
        alpha[hz:] = 255
        return rgb, alpha

    def _tractor(self) -> tuple[np.ndarray, np.ndarray]:
        s = max(60, self.width // 6) // 2 * 2
        h = (s * 2 // 3) // 2 * 2
        rgb = np.zeros((h, s, 3), np.uint8)
        a = np.zeros((h, s), np.uint8)
        body = (200, 40, 30)
        for canvas, col in ((rgb, body), (a, 255)):
            cv2.rectangle(canvas, (int(s * 0.15), int(h * 0.35)), (int(s * 0.95), int(h * 0.7)), col, -1)
            cv2.rectangle(canvas, (int(s * 0.5), int(h * 0.05)), (int(s * 0.8), int(h * 0.4)), col, -1)
        cv2.rectangle(rgb, (int(s * 0.55), int(h * 0.1)), (int(s * 0.75), int(h * 0.33)), (170, 210, 235), -1)
        cv2.rectangle(rgb, (int(s * 0.2), int(h * 0.05)), (int(s * 0.26), int(h * 0.35)), (60, 60, 60), -1)
        cv2.rectangle(a, (int(s * 0.2), int(h * 0.05)), (int(s * 0.26), int(h * 0.35)), 255, -1)
        for cx, r in ((0.3, 0.2), (0.78, 0.28)):
            center = (int(s * cx), int(h * 0.98) - int(h * r))
            cv2.circle(rgb, center, int(h * r), (30, 30, 30), -1)
            cv2.circle(rgb, center, int(h * r * 0.45), (230, 190, 40), -1)
            cv2.circle(a, center, int(h * r), 255, -1)
        return rgb, a

    # -- per frame ---------------------------------------------------------------------------

    def render(self, n: int, out: Planes) -> None:
        w, h = self.width, self.height
        y, u, v = out
        t = n / self.fps
        # Sky: scroll the panorama (clouds drift), wrapping at twice the width.
        off = _even(int(t * w / 40) % w)
        for dst, src, div in ((y, self._sky[0], 1), (u, self._sky[1], 2), (v, self._sky[2], 2)):
            o = off // div
            dst[:, :] = src[:, o : o + w // div]
        # Hills and field over the sky.
        top = self._land_top
        np.copyto(y[top:], self._land[0][top:], where=self._land_mask[top:].astype(bool))
        ct = top // 2
        mc = self._land_mask_c[ct:].astype(bool)
        np.copyto(u[ct:], self._land[1][ct:], where=mc)
        np.copyto(v[ct:], self._land[2][ct:], where=mc)
        # Crops in the foreground sway with the wind.
        sway = (6.0 * self._sway_depth[:, None]) * math.sin(t * 1.7) + 2.0 * np.sin(
            self._grid_y * 0.05 + t * 3.1
        )
        map_x = self._grid_x + sway.astype(np.float32)
        st = self._sway_top
        band = cv2.remap(self._land[0][st:], map_x, self._grid_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        y[st:] = band
        mx, my = map_x[::2, ::2] / 2, self._grid_y[::2, ::2] / 2
        u[st // 2 :] = cv2.remap(self._land[1][st // 2 :], mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        v[st // 2 :] = cv2.remap(self._land[2][st // 2 :], mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        # The tractor drives across the field and comes back round.
        ty, tu, tv = self._tractor_planes
        th, tw = ty.shape
        span = w + tw
        x = _even(int((t * w / 12) % span) - tw)
        row = _even(self.horizon + (h - self.horizon) * 0.18)
        x0, x1 = max(0, x), min(w, x + tw)
        if x1 > x0:
            sx0 = x0 - x
            m = self._tractor_mask[:, sx0 : sx0 + (x1 - x0)]
            np.copyto(y[row : row + th, x0:x1], ty[:, sx0 : sx0 + (x1 - x0)], where=m)
            mc2 = self._tractor_mask_c[:, sx0 // 2 : (sx0 + x1 - x0) // 2]
            cs = slice(x0 // 2, x1 // 2)
            np.copyto(u[row // 2 : (row + th) // 2, cs], tu[:, sx0 // 2 : (sx0 + x1 - x0) // 2], where=mc2)
            np.copyto(v[row // 2 : (row + th) // 2, cs], tv[:, sx0 // 2 : (sx0 + x1 - x0) // 2], where=mc2)


class FarmAmbience:
    """Wind and birdsong, 48 kHz stereo s16: a 12 s loop made once, played round and round."""

    def __init__(self, seconds: float = 12.0, rate: int = 48_000) -> None:
        rng = np.random.default_rng(11)
        n = int(seconds * rate)
        t = np.arange(n, dtype=np.float32) / rate
        # Wind: low-passed noise with a slow swell.
        noise = rng.standard_normal(n).astype(np.float32)
        wind = np.convolve(noise, np.ones(400, np.float32) / 400, mode="same")
        wind *= 0.35 * (0.6 + 0.4 * np.sin(2 * np.pi * t / seconds * 2))
        song = np.zeros(n, np.float32)
        # Birds: short chirps sweeping down in pitch, in little phrases.
        for start in rng.uniform(0, seconds - 1, 14):
            for k in range(int(rng.integers(2, 5))):
                s0 = int((start + k * 0.13) * rate)
                m = int(0.07 * rate)
                if s0 + m >= n:
                    continue
                tt = np.arange(m, dtype=np.float32) / rate
                f0 = float(rng.uniform(2800, 4200))
                phase = 2 * np.pi * (f0 * tt - 9000 * tt**2)
                env = np.sin(np.pi * tt / (m / rate)) ** 2
                song[s0 : s0 + m] += 0.18 * env * np.sin(phase)
        mono = wind + song
        pan = 0.5 + 0.3 * np.sin(2 * np.pi * t / 5)
        stereo = np.stack([mono * (1 - pan) * 2, mono * pan * 2], axis=1)
        self.samples = (np.clip(stereo, -1, 1) * 9000).astype(np.int16)
        self.pos = 0

    def read(self, frames: int) -> np.ndarray:
        n = len(self.samples)
        idx = (np.arange(frames) + self.pos) % n
        self.pos = (self.pos + frames) % n
        return self.samples[idx]
