"""Testimonial wall: photo processing, the scrolling ticker per frame, and uploads against a real server.

In this process:
  - a 12 MP phone photo checked, re-encoded and thumbnailed (review_photos.process_photo), against
    the naive way (decode at full size, resize from it for each rendition) as the peer;
  - the ticker (12 reviews with photos, scrolling) composited per frame at 720x1280, against the
    naive moving layer (convert the visible slice of the strip to YUV again every frame);
  - rendering and converting the ticker's strip, which happens once per approval, off the media thread.
Against a real server (child process, SQLite), from this process:
  - POST /api/reviews with four 12 MP photos, for real collected orders placed through the API;
  - GET /healthz latency while four such uploads run at once, against the same when idle: the
    photo work runs in an executor, so the event loop keeps answering.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import multiprocessing
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from typing import Any

import aiohttp
import numpy as np
from PIL import Image, ImageOps

from overlay.compose import Compositor
from overlay.layers.testimonial_ticker import TestimonialTicker, TickerItem, TickerState, ticker_box
from overlay.sprite import rgba_to_sprite
from server.domain.voice.review_photos import LARGE, THUMB, process_photo

from .server_proc import start_server

ROOM = "bench"


@dataclass(frozen=True)
class Size:
    photo_runs: int
    frames: int
    uploads: int  # at once
    photos: int  # in each upload
    idle_probe_s: float


FULL = Size(photo_runs=5, frames=300, uploads=4, photos=4, idle_probe_s=3.0)
SMOKE = Size(photo_runs=1, frames=20, uploads=2, photos=1, idle_probe_s=0.5)
POSITIVE = ("review_photo_ms_12mp", "review_photo_speedup", "ticker_frame_us_720p", "ticker_vs_reconvert",
            "review_post_ms_*", "review_posts_*_at_once_s", "healthz_p99_ms_*")


def phone_photo(width: int = 4032, height: int = 3024, seed: int = 7) -> bytes:
    """A 12 MP JPEG with a phone photo's detail and size (a few MB): gradients, shapes and grain."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([
        120 + 80 * np.sin(x / 370.0) * np.cos(y / 290.0),
        140 + 60 * np.cos(x / 510.0 + y / 700.0),
        90 + 70 * np.sin((x + y) / 430.0),
    ], axis=-1)
    grain = rng.normal(0, 14, (height, width, 3)).astype(np.float32)
    pixels = np.clip(base + grain, 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=92)
    return out.getvalue()


def naive_process(data: bytes) -> list[bytes]:
    """The peer: what a straightforward upload handler does (full decode, resize from full size)."""
    with Image.open(io.BytesIO(data)) as image:
        picture = ImageOps.exif_transpose(image).convert("RGB")
    out = []
    for size in (LARGE, THUMB):
        copy = picture.copy()
        copy.thumbnail((size, size), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        copy.save(buffer, "JPEG", quality=85, optimize=True, progressive=True)
        out.append(buffer.getvalue())
    return out


def timed(fn: Any, *args: Any, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def ticker_items(n: int = 12) -> tuple[TickerItem, ...]:
    thumbs = [process_photo(phone_photo(800, 600, seed=i)).rendition(THUMB).jpeg for i in range(4)]
    quotes = ["番茄沙沙的，酸甜刚好，孩子一口气吃了三个", "冷链到家还是凉的，很新鲜", "第三次回购了，比超市的好吃太多",
              "包装很用心，一个都没坏"]
    return tuple(TickerItem(f"买家{i}", 5 - i % 2, quotes[i % 4], thumbs[i % 4]) for i in range(n))


def frame_planes(width: int, height: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (np.full((height, width), 90, np.uint8), np.full((height // 2, width // 2), 120, np.uint8),
            np.full((height // 2, width // 2), 130, np.uint8))


def ticker_figures(frames: int) -> None:
    size = (720, 1280)
    state = TickerState(ticker_items())
    start = time.perf_counter()
    ticker = TestimonialTicker("ticker", state)
    ticker.warm(size)
    print(f"ticker_render_ms: {1000 * (time.perf_counter() - start):.1f}", flush=True)

    compositor = Compositor(*size)
    compositor.add(ticker)
    y, u, v = frame_planes(*size)
    times = []
    for n in range(frames):
        start = time.perf_counter()
        compositor.composite(y, u, v, 100.0 + n / 30)
        times.append(time.perf_counter() - start)
    ours = statistics.median(times)

    # The peer: the same strip picture, its visible slice converted to YUV again every frame.
    box = ticker_box(size)
    panel = ticker.sprite(size)
    strip = np.asarray(ticker.render_items(state, size))
    loop = strip.shape[1]
    tiled = np.concatenate([strip, strip[:, : box.view_width]], axis=1)
    times = []
    for n in range(frames):
        start = time.perf_counter()
        offset = (2 * n) % loop
        sprite = rgba_to_sprite(tiled[:, offset : offset + box.view_width], box.view_x, box.y, size)
        if panel is not None:
            panel.blend(y, u, v)
        sprite.blend(y, u, v)
        times.append(time.perf_counter() - start)
    naive = statistics.median(times)
    print(f"ticker_frame_us_720p: {1e6 * ours:.0f}", flush=True)
    print(f"ticker_reconvert_frame_us_720p: {1e6 * naive:.0f}", flush=True)
    print(f"ticker_vs_reconvert: {naive / ours:.1f}x", flush=True)


def photo_figures(photo: bytes, runs: int) -> None:
    ours = timed(process_photo, photo, runs=runs)
    naive = timed(naive_process, photo, runs=runs)
    print(f"review_photo_bytes_12mp: {len(photo)}", flush=True)
    print(f"review_photo_ms_12mp: {1000 * ours:.0f}", flush=True)
    print(f"review_photo_naive_ms_12mp: {1000 * naive:.0f}", flush=True)
    print(f"review_photo_speedup: {naive / ours:.1f}x", flush=True)


# -- against a real server ----------------------------------------------------------------------


async def _json(resp: aiohttp.ClientResponse, status: int) -> Any:
    body = await resp.json()
    assert resp.status == status, (resp.status, body)
    return body


async def _buyer(base: str, i: int, community_id: int) -> tuple[aiohttp.ClientSession, dict[str, str]]:
    http = aiohttp.ClientSession(base, cookie_jar=aiohttp.CookieJar(unsafe=True))  # cookies for 127.0.0.1
    await _json(await http.post("/api/auth/register", json={
        "identifier": f"buyer{i}@example.com", "password": "tomato-2026", "nickname": f"买家{i}"}), 202)
    await _json(await http.post("/api/auth/login", json={
        "identifier": f"buyer{i}@example.com", "password": "tomato-2026"}), 200)
    me = await _json(await http.get("/api/me"), 200)
    headers = {"X-CSRF-Token": me["csrf"]}
    await _json(await http.put("/api/me/community", json={"community_id": community_id}, headers=headers), 200)
    return http, headers


async def _shop(base: str, token: str) -> tuple[aiohttp.ClientSession, dict[str, Any], dict[str, Any], int]:
    ops = aiohttp.ClientSession(base, headers={"Authorization": f"Bearer {token}"})
    product = await _json(await ops.post("/api/products", json={
        "name_zh": "高山有机番茄", "name_en": "Highland organic tomatoes", "gtin": "6901234567892",
        "unit": "500g", "price_fen": 1280, "stock": 1000}), 201)
    community = await _json(await ops.post("/api/communities", json={
        "name": "阳光花园", "leader_name": "王阿姨", "leader_phone": "13800000000"}), 201)
    point = await _json(await ops.post(f"/api/communities/{community['id']}/pickup-points", json={
        "name": "3号楼驿站", "address": "阳光花园3号楼一层", "hours": "18:00-21:00"}), 201)
    await _json(await ops.post(f"/api/rooms/{ROOM}/sessions", json={
        "title": "番茄专场", "product_ids": [product["id"]]}), 201)
    return ops, product, point, int(community["id"])


async def _collected_order(ops: aiohttp.ClientSession, http: aiohttp.ClientSession, headers: dict[str, str],
                           product: dict[str, Any], point: dict[str, Any], n: int) -> int:
    order = await _json(await http.post("/api/orders", headers=headers, json={
        "room_id": ROOM, "product_id": product["id"], "quantity": 1, "idempotency_key": f"bench-order-{n:04d}",
        "delivery": {"fulfilment": "pickup", "pickup_point_id": point["id"], "contact_name": "李女士",
                     "contact_phone": "13912345678"}}), 201)
    order_id = int(order["order"]["id"])
    for state in ("packed", "departed", "at_pickup", "collected"):
        await _json(await ops.post(f"/api/orders/{order_id}/status", json={"state": state}), 200)
    return order_id


async def _post_review(http: aiohttp.ClientSession, headers: dict[str, str], order_id: int, photos: list[bytes]) -> float:
    form = aiohttp.FormData()
    form.add_field("order_id", str(order_id))
    form.add_field("rating", "5")
    form.add_field("text", "番茄沙沙的，酸甜刚好")
    for i, data in enumerate(photos):
        form.add_field("photos", data, filename=f"IMG_{i}.jpg", content_type="image/jpeg")
    start = time.perf_counter()
    await _json(await http.post("/api/reviews", data=form, headers=headers), 201)
    return time.perf_counter() - start


def _probe(base: str, ready: Any, stop: Any, out: Any, every_s: float = 0.02) -> None:
    """GET /healthz every 20 ms until told to stop (its own process: the uploads' client work in
    this one must not be counted as the server's)."""
    latencies = []
    while not stop.is_set():
        start = time.perf_counter()
        with urllib.request.urlopen(base + "/healthz", timeout=10) as resp:
            resp.read()
        latencies.append(time.perf_counter() - start)
        ready.set()
        time.sleep(every_s)
    out.put(latencies)


class Probe:
    def __init__(self, base: str) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.ready_event = ctx.Event()
        self.stop_event = ctx.Event()
        self.results = ctx.Queue()
        self.process = ctx.Process(target=_probe, args=(base, self.ready_event, self.stop_event, self.results),
                                   daemon=True)
        self.process.start()

    async def polling(self) -> None:
        """Until the probe process has its first answer (starting it takes a while on a busy machine)."""
        if not await asyncio.to_thread(self.ready_event.wait, 60):
            raise SystemExit("the /healthz probe process got no answer in 60 s")

    async def stop(self) -> list[float]:
        self.stop_event.set()
        latencies: list[float] = await asyncio.to_thread(self.results.get, True, 30)
        await asyncio.to_thread(self.process.join, 10)
        return latencies


def p99(values: list[float]) -> float:
    return float(np.percentile(values, 99)) if values else float("nan")


async def server_figures(base: str, token: str, photo: bytes, size: Size) -> None:
    ops, product, point, community_id = await _shop(base, token)
    try:
        buyers = [await _buyer(base, i, community_id) for i in range(size.uploads + 1)]
        orders = [await _collected_order(ops, http, headers, product, point, i)
                  for i, (http, headers) in enumerate(buyers)]
        photos = [photo] * size.photos

        # One upload on its own, then the loop's latency idle and under four at once.
        http, headers = buyers[-1]
        alone = await _post_review(http, headers, orders[-1], photos)
        probe = Probe(base)
        await probe.polling()
        await asyncio.sleep(size.idle_probe_s)
        idle = await probe.stop()
        probe = Probe(base)
        await probe.polling()
        start = time.perf_counter()
        await asyncio.gather(*(_post_review(h, hd, o, photos) for (h, hd), o in zip(buyers[: size.uploads], orders)))
        together = time.perf_counter() - start
        busy = await probe.stop()
        print(f"review_post_ms_{size.photos}x12mp: {1000 * alone:.0f}", flush=True)
        print(f"review_posts_{size.uploads}_at_once_s: {together:.2f}", flush=True)
        print(f"healthz_p99_ms_idle: {1000 * p99(idle):.1f}", flush=True)
        print(f"healthz_p99_ms_during_uploads: {1000 * p99(busy):.1f}", flush=True)
        for http, _ in buyers:
            await http.close()
    finally:
        await ops.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a tiny run that checks the path works")
    size = SMOKE if parser.parse_args().smoke else FULL
    photo = phone_photo()
    photo_figures(photo, size.photo_runs)
    ticker_figures(size.frames)
    media = tempfile.mkdtemp(prefix="fieldcast-bench-media-")
    server, _ = start_server([(ROOM, [])], {"FIELDCAST_MEDIA_DIR": media})
    try:
        token = subprocess.run([sys.executable, "-m", "server", "token", "--role", "operator"], env=server.env,
                               check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
        asyncio.run(server_figures(server.base, token, photo, size))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
