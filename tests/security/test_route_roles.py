"""Every HTTP route x every kind of caller, from the app's own route table.

RULES says, for each route (method + path template), which kinds of caller may call it. The test
calls every route as every kind of caller: those not allowed must be refused (401/403; 404 where
the route deliberately does not say that something exists), those allowed must not be, and nobody
gets a 500. A route added without an entry here fails the suite, and so does an entry whose route
is gone. Socket.IO events are authorised per event and tested in tests/server/realtime.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from server.app import create_app
from tests.conftest import make_settings
from tests.security.world import PAYMENTS_SECRET, Kind, Payload, World, build_world

pytestmark = pytest.mark.timeout(120)

K = Kind
ANYONE = frozenset(Kind)
SIGNED_IN = frozenset({K.VIEWER, K.MODERATOR, K.HOST, K.OPERATOR, K.MODERATOR_ELSEWHERE, K.HOST_ELSEWHERE})
MODERATORS = frozenset({K.MODERATOR, K.HOST, K.OPERATOR})  # hosts moderate their broadcasts too
HOSTS = frozenset({K.HOST, K.OPERATOR})
HOSTS_OR_KEY = HOSTS | {K.STREAM_KEY}
OPERATORS = frozenset({K.OPERATOR})
STREAM_KEY = frozenset({K.STREAM_KEY})
DEVICE = frozenset({K.DEVICE})
WEBHOOK = frozenset({K.WEBHOOK})

EMPTY = Payload.json({})
SDP = Payload(b"v=0\r\n", "application/sdp")
FRAGMENT = Payload(b"a=candidate:1 1 udp 1 127.0.0.1 9 typ host\r\n", "application/trickle-ice-sdpfrag")
JPEG = Payload(b"\xff\xd8not really", "image/jpeg")


@dataclass(frozen=True)
class Rule:
    allowed: frozenset[Kind]
    payload: Payload | Callable[[World], Payload] | None = None
    params: dict[str, str] = field(default_factory=dict)  # placeholders that point elsewhere
    # Kinds refused with a 404 rather than 401/403: the route does not say whether the thing exists.
    hidden: frozenset[Kind] = frozenset()
    fresh: bool = False  # the call ends the caller's credentials (sign out): use fresh ones
    # Acts on one room (the world's): a host or moderator of another room is refused here. None:
    # the path says so ({room_id} in it); set it for routes whose room is that of the thing named.
    room: bool | None = None

    def allows(self, kind: Kind, template: str) -> bool:
        """Whether `kind` may call the route: a host or moderator of another room may wherever the
        same role may and the route acts on no room (trace capture, sensors), or any buyer may."""
        if kind in self.allowed:
            return True
        base = {K.MODERATOR_ELSEWHERE: K.MODERATOR, K.HOST_ELSEWHERE: K.HOST}.get(kind)
        in_room = self.room if self.room is not None else "{room_id}" in template
        return base is not None and base in self.allowed and not in_room


def _payment(world: World) -> Payload:
    return Payload.json({"id": "evt_matrix", "type": "payment.succeeded", "order_id": int(world.ids["order_id"]),
                         "amount_fen": int(world.ids["order_due_fen"])})


NOT_MINE = frozenset(Kind) - {K.VIEWER, K.OPERATOR}

RULES: dict[tuple[str, str], Rule] = {
    # pages (the APIs behind them check the caller), static files, health, the API description
    ("GET", "/"): Rule(ANYONE),
    ("GET", "/r/{room_id}"): Rule(ANYONE),
    ("GET", "/studio/{room_id}"): Rule(ANYONE),
    ("GET", "/mod/{room_id}"): Rule(ANYONE),
    ("GET", "/ops"): Rule(ANYONE),
    ("GET", "/trace/capture"): Rule(ANYONE),
    ("GET", "/trace/labels/{gtin}/{lot}"): Rule(ANYONE),
    ("GET", "/01/{gtin}/10/{lot}"): Rule(ANYONE),
    ("GET", "/static"): Rule(ANYONE),
    ("GET", "/healthz"): Rule(ANYONE),
    ("GET", "/api/openapi.json"): Rule(ANYONE),
    ("OPTIONS", "/api/{tail}"): Rule(ANYONE),
    # Socket.IO's transport: each event checks its caller (tests/server/realtime)
    ("GET", "/socket.io/"): Rule(ANYONE),
    ("POST", "/socket.io/"): Rule(ANYONE),
    ("OPTIONS", "/socket.io/"): Rule(ANYONE),
    # accounts
    ("POST", "/api/auth/register"): Rule(ANYONE, EMPTY),
    ("POST", "/api/auth/login"): Rule(ANYONE, EMPTY),
    ("POST", "/api/auth/code"): Rule(ANYONE, EMPTY),
    ("POST", "/api/auth/code/verify"): Rule(ANYONE, EMPTY),
    ("POST", "/api/auth/logout"): Rule(ANYONE, fresh=True),
    ("GET", "/api/me"): Rule(ANYONE),
    ("PATCH", "/api/me"): Rule(SIGNED_IN, EMPTY),
    ("PUT", "/api/me/community"): Rule(SIGNED_IN, EMPTY),
    ("GET", "/api/me/trace-notices"): Rule(SIGNED_IN),
    ("POST", "/api/invites"): Rule(OPERATORS, EMPTY),
    ("POST", "/api/invites/accept"): Rule(SIGNED_IN, EMPTY),
    # rooms
    ("GET", "/api/rooms"): Rule(OPERATORS),
    ("POST", "/api/rooms"): Rule(OPERATORS, EMPTY),
    ("GET", "/api/rooms/{room_id}"): Rule(ANYONE),
    ("PATCH", "/api/rooms/{room_id}"): Rule(OPERATORS, EMPTY),
    ("DELETE", "/api/rooms/{room_id}"): Rule(OPERATORS, params={"room_id": "doomed"}),
    ("POST", "/api/rooms/{room_id}/stream-key"): Rule(OPERATORS, params={"room_id": "rekeyed"}),
    ("GET", "/api/rooms/{room_id}/moderation-log"): Rule(MODERATORS),
    # room grants: operators, and the room's host (who appoints and removes its moderators)
    ("GET", "/api/rooms/{room_id}/grants"): Rule(HOSTS),
    ("POST", "/api/rooms/{room_id}/grants"): Rule(HOSTS, EMPTY),
    ("DELETE", "/api/rooms/{room_id}/grants/users/{user_id}"): Rule(HOSTS),
    ("DELETE", "/api/rooms/{room_id}/grants/tokens/{token_id}"): Rule(HOSTS, params={"token_id": "999999"}),
    ("DELETE", "/api/tokens/{token_id}"): Rule(OPERATORS, params={"token_id": "999999"}),
    ("POST", "/api/rooms/{room_id}/pin"): Rule(HOSTS_OR_KEY, EMPTY),
    ("DELETE", "/api/rooms/{room_id}/pin"): Rule(HOSTS_OR_KEY),
    ("GET", "/api/rooms/{room_id}/reviews"): Rule(ANYONE),
    ("POST", "/api/rooms/{room_id}/sessions"): Rule(OPERATORS, EMPTY),
    ("GET", "/api/rooms/{room_id}/shop"): Rule(ANYONE),
    ("PUT", "/api/rooms/{room_id}/trace-overlay"): Rule(HOSTS, EMPTY),
    # media: WHIP needs the room's stream key, WHEP nothing (the session URL is the secret)
    ("POST", "/whip/{room_id}"): Rule(STREAM_KEY, SDP),
    ("OPTIONS", "/whip/{room_id}"): Rule(ANYONE),
    ("PATCH", "/whip/{room_id}/{session_id}"): Rule(STREAM_KEY, FRAGMENT, params={"session_id": "no-such-session"}),
    ("DELETE", "/whip/{room_id}/{session_id}"): Rule(STREAM_KEY, params={"session_id": "no-such-session"}),
    ("OPTIONS", "/whip/{room_id}/{session_id}"): Rule(ANYONE, params={"session_id": "no-such-session"}),
    ("POST", "/whep/{room_id}"): Rule(ANYONE, SDP),
    ("OPTIONS", "/whep/{room_id}"): Rule(ANYONE),
    ("PATCH", "/whep/{room_id}/{session_id}"): Rule(ANYONE, FRAGMENT, params={"session_id": "no-such-session"}),
    ("DELETE", "/whep/{room_id}/{session_id}"): Rule(ANYONE, params={"session_id": "no-such-session"}),
    ("OPTIONS", "/whep/{room_id}/{session_id}"): Rule(ANYONE, params={"session_id": "no-such-session"}),
    # catalogue, communities, coupons
    ("GET", "/api/products"): Rule(ANYONE),
    ("POST", "/api/products"): Rule(OPERATORS, EMPTY),
    ("GET", "/api/products/{product_id}"): Rule(ANYONE),
    ("PATCH", "/api/products/{product_id}"): Rule(OPERATORS, EMPTY),
    ("POST", "/api/products/{product_id}/photos"): Rule(OPERATORS, JPEG),
    ("POST", "/api/products/{product_id}/stock"): Rule(OPERATORS, EMPTY),
    ("GET", "/media/products/{name}"): Rule(ANYONE),
    ("GET", "/api/communities"): Rule(ANYONE),
    ("POST", "/api/communities"): Rule(OPERATORS, EMPTY),
    ("POST", "/api/communities/{community_id}/pickup-points"): Rule(OPERATORS, EMPTY),
    ("PUT", "/api/communities/{community_id}/prices/{product_id}"): Rule(OPERATORS, EMPTY),
    ("POST", "/api/coupons"): Rule(OPERATORS, EMPTY),
    # live sessions, group-buys, flash claims
    ("POST", "/api/sessions/{session_id}/products"): Rule(OPERATORS, EMPTY),
    ("POST", "/api/sessions/{session_id}/end"): Rule(OPERATORS, params={"session_id": "{ending_session_id}"}),
    ("GET", "/api/sessions/{session_id}/pins"): Rule(ANYONE),
    ("POST", "/api/sessions/{session_id}/group-buys"): Rule(OPERATORS, EMPTY),
    ("POST", "/api/sessions/{session_id}/flash-claims"): Rule(OPERATORS, EMPTY),
    ("GET", "/api/group-buys/{group_buy_id}"): Rule(ANYONE),
    ("GET", "/api/group-buys/{group_buy_id}/refunds"): Rule(OPERATORS),
    ("POST", "/api/group-buys/{group_buy_id}/settle"): Rule(OPERATORS),
    ("GET", "/api/flash-claims/{claim_id}"): Rule(ANYONE),
    ("POST", "/api/flash-claims/{claim_id}/claim"): Rule(SIGNED_IN, EMPTY),
    # orders (the buyer's own, or an operator; others are told it does not exist)
    ("POST", "/api/orders/quote"): Rule(ANYONE, EMPTY),
    ("POST", "/api/orders"): Rule(SIGNED_IN, EMPTY),
    ("GET", "/api/orders"): Rule(OPERATORS),
    ("GET", "/api/orders.csv"): Rule(OPERATORS),
    ("GET", "/api/orders/mine"): Rule(SIGNED_IN),
    ("GET", "/api/orders/{order_id}"): Rule(frozenset({K.VIEWER, K.OPERATOR}), hidden=NOT_MINE),
    ("POST", "/api/orders/{order_id}/cancel"): Rule(frozenset({K.VIEWER}), hidden=NOT_MINE | {K.OPERATOR}),
    ("POST", "/api/orders/{order_id}/status"): Rule(OPERATORS, EMPTY),
    ("GET", "/api/pick-lists"): Rule(OPERATORS),
    ("POST", "/api/webhooks/payments/{provider}"): Rule(WEBHOOK, _payment),
    # reviews (a pending photo: its author and moderators; to anyone else it does not exist)
    ("POST", "/api/reviews"): Rule(SIGNED_IN, EMPTY),
    ("GET", "/api/reviews"): Rule(MODERATORS),
    ("POST", "/api/reviews/{review_id}/approve"): Rule(MODERATORS, room=True),
    ("POST", "/api/reviews/{review_id}/reject"): Rule(MODERATORS, Payload.json({"reason": "不是本店的商品"}), room=True),
    ("GET", "/media/reviews/{sha256}-{size}.jpg"): Rule(
        MODERATORS, params={"sha256": "{review_sha256}", "size": "{review_size}"}, hidden=frozenset(Kind) - MODERATORS,
        room=True),
    # sensors
    ("GET", "/api/sensors/devices"): Rule(HOSTS),
    ("POST", "/api/sensors/devices"): Rule(OPERATORS, EMPTY),
    ("POST", "/api/sensors/devices/{device_id}/revoke"): Rule(OPERATORS, params={"device_id": "doomed-1"}),
    ("POST", "/api/sensors/{device_id}/readings"): Rule(DEVICE, EMPTY),
    ("GET", "/api/sensors/{device_id}/latest"): Rule(ANYONE),
    ("GET", "/api/sensors/{device_id}/history"): Rule(HOSTS),
    ("GET", "/api/sensors/stats"): Rule(OPERATORS),
    # trace
    ("POST", "/api/trace/products"): Rule(OPERATORS, EMPTY),
    ("GET", "/api/trace/batches"): Rule(HOSTS),
    ("POST", "/api/trace/batches"): Rule(HOSTS, EMPTY),
    ("GET", "/api/trace/batches/{gtin}/{lot}"): Rule(ANYONE),
    ("GET", "/api/trace/batches/{gtin}/{lot}/epcis"): Rule(ANYONE),
    ("GET", "/api/trace/batches/{gtin}/{lot}/qr.png"): Rule(ANYONE),
    ("GET", "/api/trace/batches/{gtin}/{lot}/qr.svg"): Rule(ANYONE),
    ("GET", "/api/trace/batches/{gtin}/{lot}/verify"): Rule(ANYONE),
    ("POST", "/api/epcis/capture"): Rule(HOSTS, EMPTY),
    ("POST", "/api/epcis/events"): Rule(HOSTS, EMPTY),
    ("GET", "/api/epcis/events/{event_id}"): Rule(ANYONE),
    ("GET", "/api/trace/log"): Rule(ANYONE),
    ("GET", "/api/trace/checkpoint"): Rule(ANYONE),
    ("GET", "/api/trace/checkpoint/{size}"): Rule(ANYONE),
    ("GET", "/api/trace/entries/{index}"): Rule(ANYONE),
    ("GET", "/api/trace/proof/consistency"): Rule(ANYONE),
    ("GET", "/api/trace/proof/inclusion"): Rule(ANYONE),
    ("POST", "/api/trace/photos"): Rule(HOSTS, JPEG),
    ("GET", "/api/trace/photos/{sha256}"): Rule(ANYONE),
    ("GET", "/api/trace/breaches"): Rule(OPERATORS),
    ("GET", "/api/trace/compensation-policy"): Rule(OPERATORS),
    ("PUT", "/api/trace/compensation-policy"): Rule(OPERATORS, EMPTY),
}

REFUSED = (401, 403)


def route_table(app: web.Application) -> set[tuple[str, str]]:
    """(method, path template) of every route the app serves; HEAD goes with GET."""
    found = set()
    for route in app.router.routes():
        if route.method == "HEAD":
            continue
        info = route.resource.get_info() if route.resource is not None else {}
        template = info.get("formatter") or info.get("path") or info.get("prefix")
        found.add((route.method, str(template)))
    return found


def concrete(template: str, world: World, rule: Rule) -> str:
    if template == "/static":
        return "/static/js/el.js"
    values = {**world.ids, **{k: v.format(**world.ids) for k, v in rule.params.items()}}
    return template.format(**values)


@pytest.fixture
async def world(sqlite_url: str, tmp_path: Path, aiohttp_client: Callable[..., Any]) -> World:
    settings = make_settings(sqlite_url, media_dir=tmp_path / "media", test_payments_secret=PAYMENTS_SECRET)
    return await build_world(await aiohttp_client(create_app(settings)))


def test_every_route_has_a_rule() -> None:
    from server.config import Settings

    served = route_table(create_app(Settings(database_url="sqlite:///:memory:")))
    missing = sorted(served - RULES.keys())
    stale = sorted(RULES.keys() - served)
    assert not missing, f"routes with no entry in RULES (say who may call them): {missing}"
    assert not stale, f"RULES entries for routes that no longer exist: {stale}"


async def test_every_route_refuses_every_caller_it_does_not_allow(world: World) -> None:
    wrong: list[str] = []
    calls = 0
    for (method, template), rule in sorted(RULES.items(), key=lambda item: item[0][1]):
        path = concrete(template, world, rule)
        for kind in Kind:
            payload = rule.payload(world) if callable(rule.payload) else rule.payload
            headers = await world.signed_in(kind) if rule.fresh and kind in SIGNED_IN else None
            resp = await world.call(method, path, kind, payload, headers)
            calls += 1
            status = resp.status
            if status >= 500:
                wrong.append(f"{method} {template} as {kind}: {status} {(await resp.text())[:120]}")
            elif rule.allows(kind, template) and status in REFUSED:
                wrong.append(f"{method} {template} as {kind}: refused ({status}) but allowed by RULES")
            elif not rule.allows(kind, template):
                expected = REFUSED + ((404,) if kind in rule.hidden else ())
                if status not in expected:
                    wrong.append(f"{method} {template} as {kind}: {status}, expected {expected}")
    assert calls == len(RULES) * len(Kind)
    assert not wrong, "\n".join(wrong)
