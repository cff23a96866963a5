"""The reviews API against the real app: a buyer of a collected order posts photos, moderators
decide, the wall and the photo URLs follow; hostile uploads get clear codes and store nothing."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import ExifTags, Image

from server.app import create_app
from server.domain.accounts.roles import Role
from server.domain.voice.review_photos import MAX_BYTES
from server.http.keys import SETTINGS
from tests.commerce import Buyer, Shop, csrf, make_shop
from tests.conftest import make_settings
from tests.reviews import (
    HOSTILE,
    ROLES,
    account,
    gps_jpeg,
    jpeg,
    noisy_jpeg,
    png,
    png_bomb,
    received_order,
    review_form,
)

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
async def shop(database_url: str, tmp_path: Path, aiohttp_client: Callable[..., Any]) -> Shop:
    client = await aiohttp_client(create_app(make_settings(database_url, media_dir=tmp_path / "media")))
    return await make_shop(client)


def media_files(shop: Shop) -> list[Path]:
    return sorted(p for p in shop.client.app[SETTINGS].media_dir.rglob("*") if p.is_file())


async def post_review(shop: Shop, who: Buyer, form: Any) -> tuple[int, dict[str, Any]]:
    resp = await shop.client.post("/api/reviews", data=form, headers=await csrf(shop.client, who))
    body: dict[str, Any] = await resp.json()
    return resp.status, body


async def wall(shop: Shop) -> list[dict[str, Any]]:
    resp = await shop.client.get(f"/api/rooms/{shop.room}/reviews")
    assert resp.status == 200
    reviews: list[dict[str, Any]] = (await resp.json())["reviews"]
    return reviews


async def test_a_buyer_reviews_a_collected_order_and_once_approved_it_is_on_the_wall(shop: Shop) -> None:
    buyer = await account(shop, Role.VIEWER, "buyer")
    moderator = await account(shop, Role.MODERATOR, "mod")
    order_id = await received_order(shop, buyer)
    # A PNG named .jpg and declared as JPEG: its type comes from its bytes, and it is accepted.
    photos = [("farm.jpg", gps_jpeg(), "image/jpeg"), ("renamed.jpg", png(), "image/jpeg")]
    status, body = await post_review(shop, buyer, review_form(order_id, 5, "番茄沙沙的，酸甜刚好", photos))
    assert status == 201, body
    review = body["review"]
    assert review["status"] == "pending" and review["verified"] is True and review["order_id"] == order_id
    assert review["room"] == shop.room and review["products"] == ["高山有机番茄"]
    assert len(review["photos"]) == 2 and review["approved_at"] is None
    assert await wall(shop) == [], "not on the wall until a moderator approves it"

    # Pending photos: the author and moderators see them, nobody else does.
    thumb, large = review["photos"][0]["thumb"], review["photos"][0]["large"]
    assert (await shop.client.get(thumb)).status == 404
    mine = await shop.client.get(thumb, headers=buyer.headers)
    assert mine.status == 200 and mine.content_type == "image/jpeg"
    assert mine.headers["Cache-Control"] == "private, no-store"
    assert (await shop.client.get(large, headers=moderator.headers)).status == 200

    resp = await shop.client.post(f"/api/reviews/{review['id']}/approve", headers=await csrf(shop.client, moderator))
    assert resp.status == 200, await resp.text()
    shown = await wall(shop)
    assert [r["id"] for r in shown] == [review["id"]]
    assert shown[0]["text"] == "番茄沙沙的，酸甜刚好" and shown[0]["approved_at"] is not None
    assert "order_id" not in shown[0] and "user_id" not in shown[0], "the wall does not expose buyers' orders"

    # Approved photos are public, at the URLs the review gave, and carry no EXIF or GPS.
    public = await shop.client.get(large)
    assert public.status == 200 and "public" in public.headers["Cache-Control"]
    with Image.open(io.BytesIO(await public.read())) as served:
        assert served.format == "JPEG" and max(served.size) == 1080
        assert not served.getexif().get_ifd(ExifTags.IFD.GPSInfo) and "exif" not in served.info
    with Image.open(io.BytesIO(await (await shop.client.get(thumb)).read())) as small:
        assert max(small.size) == 320


async def test_only_the_buyer_of_a_received_order_reviews_it_once(shop: Shop) -> None:
    buyer = await account(shop, Role.VIEWER, "buyer")
    other = await account(shop, Role.VIEWER, "other")
    collected = await received_order(shop, buyer)
    unshipped = await received_order(shop, buyer, to="pending_payment")
    for who, order_id in [(other, collected), (buyer, unshipped), (buyer, 999_999)]:
        status, body = await post_review(shop, who, review_form(order_id, 4, "好"))
        assert (status, body["error"]) == (403, "order_not_received")
    assert (await post_review(shop, buyer, review_form(collected, 4, "好")))[0] == 201
    status, body = await post_review(shop, buyer, review_form(collected, 5, "再评一次"))
    assert (status, body["error"]) == (409, "already_reviewed")


@pytest.mark.parametrize(
    "photos, status, code",
    [
        ([("notes.jpg", b"<html><script>alert(1)</script></html>" * 20, "image/jpeg")], 400, "bad_photo"),
        ([("cut.jpg", noisy_jpeg()[:500_000], "image/jpeg")], 400, "bad_photo"),
        ([("huge.jpg", b"\xff\xd8\xff" + b"\x00" * MAX_BYTES, "image/jpeg")], 400, "photo_too_large"),
        ([("wide.png", png_bomb(9000, 100), "image/png")], 400, "photo_too_large"),
        ([("bomb.png", png_bomb(), "image/png")], 400, "photo_too_large"),
        ([(f"p{i}.jpg", jpeg(), "image/jpeg") for i in range(5)], 400, "too_many_photos"),
    ],
    ids=["not-an-image", "truncated", "oversize-bytes", "oversize-dimensions", "decompression-bomb", "five-photos"],
)
async def test_hostile_uploads_are_refused_clearly_and_nothing_is_stored(
    shop: Shop, photos: list[tuple[str, bytes, str]], status: int, code: str
) -> None:
    buyer = await account(shop, Role.VIEWER, "buyer")
    order_id = await received_order(shop, buyer)
    got, body = await post_review(shop, buyer, review_form(order_id, 5, "好", photos))
    assert (got, body["error"]) == (status, code), body
    assert body["message"]
    assert media_files(shop) == []
    operator = {"Authorization": f"Bearer {shop.token}"}
    queue = await (await shop.client.get("/api/reviews?status=all", headers=operator)).json()
    assert queue["reviews"] == []
    # The order can still be reviewed once the photo is right.
    got, body = await post_review(shop, buyer, review_form(order_id, 5, "好", [("ok.jpg", jpeg(), "image/jpeg")]))
    assert got == 201, body


async def test_bad_forms_get_a_clear_error(shop: Shop) -> None:
    buyer = await account(shop, Role.VIEWER, "buyer")
    order_id = await received_order(shop, buyer)
    headers = await csrf(shop.client, buyer)
    cases: list[tuple[Any, int, str]] = [
        (review_form(order_id, 9), 422, "invalid_input"),
        (review_form(order_id, "five"), 422, "invalid_input"),
        (review_form("abc"), 422, "invalid_input"),
        (review_form(order_id, 5, "好" * 501), 400, "text_too_long"),
        (review_form(order_id, 5, user_id="1"), 400, "invalid_input"),
    ]
    for form, status, code in cases:
        resp = await shop.client.post("/api/reviews", data=form, headers=headers)
        assert (resp.status, (await resp.json())["error"]) == (status, code)
    resp = await shop.client.post("/api/reviews", json={"order_id": order_id, "rating": 5}, headers=headers)
    assert resp.status == 400 and "multipart" in (await resp.json())["message"]
    # A cookie-authenticated write without the CSRF header is refused before anything is read.
    resp = await shop.client.post("/api/reviews", data=review_form(order_id, 5), headers=buyer.headers)
    assert resp.status == 403


async def test_hostile_text_comes_back_as_the_same_text(shop: Shop) -> None:
    buyer = await account(shop, Role.VIEWER, "buyer")
    operator = {"Authorization": f"Bearer {shop.token}"}
    for text in HOSTILE:
        order_id = await received_order(shop, buyer)
        status, body = await post_review(shop, buyer, review_form(order_id, 3, text))
        assert status == 201, body
        assert body["review"]["text"] == text.replace("\u202e", "")
        await shop.call("POST", f"/api/reviews/{body['review']['id']}/approve", status=200, headers=operator)
    texts = [r["text"] for r in await wall(shop)]
    assert sorted(texts) == sorted(t.replace("\u202e", "") for t in HOSTILE)


async def test_who_may_call_what(shop: Shop) -> None:
    buyer = await account(shop, Role.VIEWER, "buyer")
    order_id = await received_order(shop, buyer)
    status, body = await post_review(shop, buyer, review_form(order_id, 5, "好"))
    assert status == 201
    review_id = body["review"]["id"]
    cast = {name: await account(shop, role, name) for name, role in ROLES.items()}
    client = shop.client

    # Anyone reads the wall; an unknown room is a 404.
    assert (await client.get(f"/api/rooms/{shop.room}/reviews")).status == 200
    assert (await client.get("/api/rooms/nowhere/reviews")).status == 404
    # Writing needs an account.
    assert (await client.post("/api/reviews", data=review_form(order_id, 5))).status == 401

    moderation: list[tuple[str, str, Any]] = [
        ("GET", "/api/reviews?status=pending", None),
        ("POST", f"/api/reviews/{review_id}/reject", {"reason": "与商品无关"}),
        ("POST", f"/api/reviews/{review_id}/approve", None),
    ]
    for method, path, body_json in moderation:
        assert (await client.request(method, path, json=body_json)).status == 401, path
        for name in ("viewer", "koc"):
            headers = await csrf(client, cast[name])
            resp = await client.request(method, path, json=body_json, headers=headers)
            assert (resp.status, (await resp.json())["error"]) == (403, "forbidden"), (name, path)
        for name in ("moderator", "host", "operator"):
            headers = await csrf(client, cast[name])
            resp = await client.request(method, path, json=body_json, headers=headers)
            assert resp.status == 200, (name, path, await resp.text())
        token = await client.request(method, path, json=body_json, headers={"Authorization": f"Bearer {shop.token}"})
        assert token.status == 200, path

    headers = await csrf(client, cast["moderator"])
    missing = await client.post("/api/reviews/424242/approve", headers=headers)
    assert (missing.status, (await missing.json())["error"]) == (404, "review_not_found")
    no_reason = await client.post(f"/api/reviews/{review_id}/reject", json={"reason": " "}, headers=headers)
    assert (no_reason.status, (await no_reason.json())["error"]) == (400, "reason_required")
    bad_status = await client.get("/api/reviews?status=deleted", headers=headers)
    assert bad_status.status == 422
