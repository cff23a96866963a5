"""Uploaded photos keep only their pixels: a JPEG comment (COM segment) holding `<script>` is in no
stored rendition of a review, product or trace photo, and every photo is served as an image that a
browser may not sniff into HTML."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from server.app import create_app
from tests.commerce import Shop, csrf, make_buyers, make_shop
from tests.conftest import make_settings
from tests.reviews import received_order, review_form

pytestmark = pytest.mark.timeout(90)

PAYLOAD = b"<script>alert(document.cookie)</script>"


@pytest.fixture
async def shop(sqlite_url: str, tmp_path: Path, aiohttp_client: Callable[..., Any]) -> Shop:
    client = await aiohttp_client(create_app(make_settings(sqlite_url, media_dir=tmp_path / "media")))
    return await make_shop(client)


def commented_jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1600, 1200), (180, 60, 40)).save(out, "JPEG", comment=PAYLOAD)
    data = out.getvalue()
    assert PAYLOAD in data and b"\xff\xfe" in data  # the upload really carries a COM segment
    return data


def jpeg_segments(data: bytes) -> list[int]:
    """The marker bytes of the segments before the image data (0xFE is COM)."""
    assert data[:2] == b"\xff\xd8"
    markers, i = [], 2
    while i + 4 <= len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        markers.append(marker)
        if marker == 0xDA:  # start of scan: the pixels follow
            break
        i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
    return markers


async def served_clean(shop: Shop, url: str, headers: dict[str, str] | None = None) -> None:
    resp = await shop.client.get(url, headers=headers or {})
    assert resp.status == 200, (url, await resp.text())
    assert resp.content_type == "image/jpeg"
    assert resp.headers.get("X-Content-Type-Options") == "nosniff", url
    data = await resp.read()
    assert PAYLOAD not in data and b"<script" not in data, url
    assert 0xFE not in jpeg_segments(data), url
    assert "comment" not in Image.open(io.BytesIO(data)).info


async def test_review_photo_renditions_drop_the_comment(shop: Shop) -> None:
    buyer = (await make_buyers(shop.client, 1, shop.community["id"]))[0]
    order_id = await received_order(shop, buyer)
    form = review_form(order_id, 5, "好吃", [("farm.jpg", commented_jpeg(), "image/jpeg")])
    resp = await shop.client.post("/api/reviews", data=form, headers=await csrf(shop.client, buyer))
    assert resp.status == 201, await resp.text()
    photo = (await resp.json())["review"]["photos"][0]
    for url in (photo["thumb"], photo["large"]):
        await served_clean(shop, url, buyer.headers)


async def test_product_photo_drops_the_comment(shop: Shop) -> None:
    made = await shop.call("POST", f"/api/products/{shop.product['id']}/photos", data=commented_jpeg(), status=201)
    await served_clean(shop, made["photos"][-1])


async def test_trace_photo_drops_the_comment_and_is_served_as_the_hashed_bytes(shop: Shop) -> None:
    import hashlib

    made = await shop.call("POST", "/api/trace/photos", data=commented_jpeg(), status=201)
    await served_clean(shop, made["url"])
    # The log names the photo by the hash of the stored (re-encoded) bytes: still what is served.
    data = await (await shop.client.get(made["url"])).read()
    assert made["uri"] == f"ni:///sha-256;{hashlib.sha256(data).hexdigest()}"
