"""Review test helpers: real received orders through the commerce API, accounts of each role,
photo files (good and hostile) and the multipart body a browser sends."""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

import aiohttp
from PIL import ExifTags, Image

from server.domain.accounts.grants import GRANTABLE
from server.domain.accounts.roles import Role
from server.http.keys import ACCOUNTS
from tests.commerce import Buyer, Shop, csrf, key, make_buyers, pickup
from tests.helpers import grant_room

HOSTILE = [
    "<img src=x onerror=alert(1)>",
    "有机番茄" * 125,  # 500 characters: the most a review may say
    "🍅🥬👨‍👩‍👧 新鲜",
    "\u202eنموذج عربي",
]
ROLES = {"viewer": Role.VIEWER, "koc": Role.KOC, "moderator": Role.MODERATOR, "host": Role.HOST, "operator": Role.OPERATOR}


async def received_order(shop: Shop, buyer: Buyer, *, to: str = "collected") -> int:
    """A real order of `buyer`, placed in the shop's room and moved along to `to` by the operator."""
    body = {"room_id": shop.room, "product_id": shop.product["id"], "quantity": 1, "delivery": pickup(shop),
            "idempotency_key": key()}
    resp = await shop.client.post("/api/orders", json=body, headers=await csrf(shop.client, buyer))
    assert resp.status == 201, await resp.text()
    order_id = int((await resp.json())["order"]["id"])
    path = ["packed", "departed", "at_pickup", "collected"]
    for state in path[: path.index(to) + 1] if to in path else []:
        await shop.call("POST", f"/api/orders/{order_id}/status", {"state": state}, status=200)
    return order_id


async def account(shop: Shop, role: Role, prefix: str = "r", rooms: tuple[str, ...] | None = None) -> Buyer:
    """A signed-in account with `role` (no password hashing); a host or moderator holds that role
    in `rooms` (by default the shop's room)."""
    made = (await make_buyers(shop.client, 1, shop.community.get("id"), prefix=prefix))[0]
    if role is not Role.VIEWER:
        accounts = shop.client.app[ACCOUNTS]
        user = await accounts.users.get(made.user_id)
        assert user is not None
        await accounts.set_role(user, role)
        if role in GRANTABLE:
            for room_id in (shop.room,) if rooms is None else rooms:
                await grant_room(shop.client.app, made.user_id, room_id, role)
    return made


def encoded(image: Image.Image, fmt: str, **options: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def jpeg(colour: tuple[int, int, int] = (200, 60, 30), size: tuple[int, int] = (1200, 900), **options: Any) -> bytes:
    return encoded(Image.new("RGB", size, colour), "JPEG", **options)


def noisy_jpeg(size: tuple[int, int] = (1200, 900)) -> bytes:
    """A photo-like JPEG (hundreds of KB), so half of it really is half a picture."""
    return encoded(Image.effect_noise(size, 64).convert("RGB"), "JPEG", quality=95)


def png(colour: tuple[int, int, int] = (30, 160, 60), size: tuple[int, int] = (800, 600)) -> bytes:
    return encoded(Image.new("RGB", size, colour), "PNG")


def gps_jpeg() -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.BodySerialNumber] = "SN-123456789"
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (31.0, 14.0, 2.5),
        ExifTags.GPS.GPSLongitudeRef: "E", ExifTags.GPS.GPSLongitude: (121.0, 28.0, 1.0),
    }
    return jpeg(exif=exif)


def png_bomb(width: int = 50_000, height: int = 50_000) -> bytes:
    """A few hundred bytes that claim width x height pixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 4096, 9))
            + chunk(b"IEND", b""))


def review_form(order_id: int | str, rating: int | str = 5, text: str = "",
                photos: list[tuple[str, bytes, str]] | None = None, **extra: str) -> aiohttp.FormData:
    """The multipart body of POST /api/reviews: photos are (file name, bytes, declared type)."""
    form = aiohttp.FormData()
    form.add_field("order_id", str(order_id))
    form.add_field("rating", str(rating))
    form.add_field("text", text)
    for name, value in extra.items():
        form.add_field(name, value)
    for filename, data, content_type in photos or []:
        form.add_field("photos", data, filename=filename, content_type=content_type)
    return form
