"""A fuzz pass over the JSON bodies of every route that takes one: no input may produce a 500.

Hypothesis draws bodies shaped by the schemas in the OpenAPI document the server serves (right
field names, values of every type and size, huge and negative numbers, odd text) mixed with any
JSON at all, and sends each as a caller the route allows, so bodies reach past the role check
into the handlers. Deterministic (derandomized, no example database) and bounded per family.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.app import create_app
from tests.commerce import key, pickup
from tests.conftest import make_settings
from tests.security.test_route_roles import RULES, Rule, concrete
from tests.security.world import PAYMENTS_SECRET, Kind, Payload, World, build_world
from tests.trace_helpers import epcis_document, journey

pytestmark = pytest.mark.timeout(180)
T = TypeVar("T")

EXAMPLES_PER_FAMILY = 150
# Who to call as, most privileged first: the body then reaches the deepest code the route has.
PREFERENCE = [Kind.OPERATOR, Kind.DEVICE, Kind.WEBHOOK, Kind.STREAM_KEY, Kind.VIEWER, Kind.ANONYMOUS]
FAMILIES = {
    "accounts": ("/api/auth", "/api/me", "/api/invites"),
    "rooms": ("/api/rooms",),
    "catalogue": ("/api/products", "/api/communities", "/api/coupons"),
    "selling": ("/api/sessions", "/api/flash-claims", "/api/group-buys", "/api/orders", "/api/webhooks"),
    "reviews": ("/api/reviews",),
    "sensors": ("/api/sensors",),
    "trace": ("/api/trace", "/api/epcis"),
}


def json_routes() -> list[tuple[str, str, Rule]]:
    out = []
    for (method, template), rule in RULES.items():
        payload = rule.payload
        if callable(payload) or (payload is not None and payload.content_type == "application/json"):
            out.append((method, template, rule))
    return out


def family_routes(family: str) -> list[tuple[str, str, Rule]]:
    return [r for r in json_routes() if r[1].startswith(FAMILIES[family])]


def test_every_json_route_is_in_a_family() -> None:
    covered = {r[1] for family in FAMILIES for r in family_routes(family)}
    assert {r[1] for r in json_routes()} <= covered
    assert SEEDS.keys() <= {(m, t) for m, t, _ in json_routes()}, "a seed for a route that takes no JSON"


# -- strategies -----------------------------------------------------------------------------------

ODD_TEXT = st.sampled_from([
    "", " ", "0", "-1", "null", "true", "1e309", "NaN", "\u0000", "\u202e", "🍅" * 300, "<script>x</script>",
    "a" * 5000, "2026-02-30T25:61:00Z", "9" * 30, "../../etc/passwd", "%00", "'; DROP TABLE orders; --",
])
ODD_INT = st.sampled_from([0, -1, 1, 2**31, 2**53 - 1, 2**53, 2**63, -(2**63) - 1, 10**30])
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), ODD_INT, st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40), ODD_TEXT,
)
ANY_JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                        max_leaves=12)


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[1]]
    return schema


def from_schema(schema: dict[str, Any], components: dict[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
    """Values that mostly fit `schema`, often at its edges, sometimes not at all."""
    schema = _resolve(schema, components)
    options: list[st.SearchStrategy[Any]] = []
    if "enum" in schema:
        options.append(st.sampled_from(schema["enum"]))
    if "const" in schema:
        options.append(st.just(schema["const"]))
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key, []):
            options.append(from_schema(sub, components, depth + 1))
    kind = schema.get("type")
    if kind == "integer":
        lo, hi = schema.get("minimum"), schema.get("maximum")
        options += [st.integers(lo, hi), ODD_INT]
        options += [st.just(v) for v in (lo, hi) if v is not None]
    elif kind == "number":
        options += [st.floats(allow_nan=False, allow_infinity=False), ODD_INT]
    elif kind == "string":
        options += [st.text(min_size=schema.get("minLength", 0), max_size=schema.get("maxLength", 60) or 60), ODD_TEXT]
        if schema.get("format") == "date-time":
            options.append(st.datetimes().map(lambda d: d.isoformat() + "Z"))
    elif kind == "boolean":
        options.append(st.booleans())
    elif kind == "array" and depth < 4:
        options.append(st.lists(from_schema(schema.get("items", {}), components, depth + 1), max_size=5))
    elif kind == "object" or "properties" in schema:
        if depth < 4:
            options.append(object_of(schema, components, depth + 1))
    options.append(ANY_JSON)  # the wrong type, now and then
    return st.one_of(options)


def object_of(schema: dict[str, Any], components: dict[str, Any], depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    props = schema.get("properties", {})
    required = set(schema.get("required", []))
    return st.fixed_dictionaries(
        {k: from_schema(v, components, depth) for k, v in props.items() if k in required},
        optional={k: from_schema(v, components, depth) for k, v in props.items() if k not in required}
        | {"unexpected": ANY_JSON},
    )


def _later(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


# A valid body per route (what a well-behaved client sends): one field at a time is then replaced
# by something odd, so the odd value gets past the rest of the validation into the handler.
SEEDS: dict[tuple[str, str], Callable[[World], Any]] = {
    ("POST", "/api/auth/register"): lambda w: {"identifier": "fuzz@example.com", "password": "pw-123456", "nickname": "n"},
    ("POST", "/api/auth/login"): lambda w: {"identifier": "fuzz@example.com", "password": "pw-123456"},
    ("POST", "/api/auth/code"): lambda w: {"identifier": "fuzz@example.com"},
    ("POST", "/api/auth/code/verify"): lambda w: {"identifier": "fuzz@example.com", "code": "123456"},
    ("PATCH", "/api/me"): lambda w: {"nickname": "番茄", "community": "阳光花园"},
    ("PUT", "/api/me/community"): lambda w: {"community_id": int(w.ids["community_id"])},
    ("POST", "/api/invites"): lambda w: {"role": "host"},
    ("POST", "/api/invites/accept"): lambda w: {"token": "abcdefgh12345678"},
    ("POST", "/api/rooms"): lambda w: {"id": "fuzz-room", "title": "t", "brand": "b", "orientation": "portrait"},
    ("PATCH", "/api/rooms/{room_id}"): lambda w: {"title": "t", "brand": "b"},
    ("POST", "/api/rooms/{room_id}/pin"): lambda w: {"product_id": int(w.ids["product_id"])},
    ("POST", "/api/rooms/{room_id}/sessions"): lambda w: {"title": "t", "product_ids": [int(w.ids["product_id"])]},
    ("PUT", "/api/rooms/{room_id}/trace-overlay"): lambda w: {"devices": ["truck-1"], "batch": {"gtin": w.ids["gtin"], "lot": w.ids["lot"]}},
    ("POST", "/api/products"): lambda w: {"name_zh": "番茄", "name_en": "Tomato", "gtin": "6901234567892", "unit": "500g",
                                          "price_fen": 1280, "stock": 10},
    ("PATCH", "/api/products/{product_id}"): lambda w: {"price_fen": 1300, "stock": 20},
    ("POST", "/api/products/{product_id}/stock"): lambda w: {"delta": 5},
    ("POST", "/api/communities"): lambda w: {"name": "小区", "leader_name": "王", "leader_phone": "13800000000"},
    ("POST", "/api/communities/{community_id}/pickup-points"): lambda w: {"name": "驿站", "address": "1号楼", "hours": "9-5"},
    ("PUT", "/api/communities/{community_id}/prices/{product_id}"): lambda w: {"price_fen": 1000},
    ("POST", "/api/coupons"): lambda w: {"code": "FUZZ10", "discount_fen": 100, "min_spend_fen": 0,
                                         "starts_at": _later(-1), "ends_at": _later(1)},
    ("POST", "/api/sessions/{session_id}/products"): lambda w: {"product_ids": [int(w.ids["product_id"])]},
    ("POST", "/api/sessions/{session_id}/group-buys"): lambda w: {
        "product_id": int(w.ids["product_id"]), "community_ids": [int(w.ids["community_id"])],
        "tiers": [{"buyers": 3, "discount_fen": 100}], "deadline": _later(1), "failure_rule": "ship_at_list"},
    ("POST", "/api/sessions/{session_id}/flash-claims"): lambda w: {
        "product_id": int(w.ids["product_id"]), "price_fen": 100, "quantity": 5, "per_buyer_limit": 1,
        "starts_at": _later(0), "ends_at": _later(1)},
    ("POST", "/api/flash-claims/{claim_id}/claim"): lambda w: {"quantity": 1, "delivery": pickup(w.shop), "idempotency_key": key()},
    ("POST", "/api/orders/quote"): lambda w: {"room_id": w.shop.room, "product_id": int(w.ids["product_id"]), "quantity": 2},
    ("POST", "/api/orders"): lambda w: {"room_id": w.shop.room, "product_id": int(w.ids["product_id"]), "quantity": 1,
                                        "delivery": pickup(w.shop), "payment_method": "test", "idempotency_key": key()},
    ("POST", "/api/orders/{order_id}/status"): lambda w: {"state": "packed", "note": "n"},
    ("POST", "/api/webhooks/payments/{provider}"): lambda w: {
        "id": "evt_fuzz", "type": "payment.succeeded", "order_id": int(w.ids["order_id"]), "amount_fen": 1},
    ("POST", "/api/reviews/{review_id}/reject"): lambda w: {"reason": "r"},
    ("POST", "/api/sensors/devices"): lambda w: {"id": "fuzz-dev", "name": "n", "kind": "field"},
    ("POST", "/api/sensors/{device_id}/readings"): lambda w: {"readings": [{"t": _later(0), "temperature": 4.5, "humidity": 80}]},
    ("PUT", "/api/trace/compensation-policy"): lambda w: {"kind": "refund_percent", "amount": 10},
    ("POST", "/api/trace/products"): lambda w: {"gtin": "06901234567892", "name": "番茄"},
    ("POST", "/api/trace/batches"): lambda w: {"gtin": w.ids["gtin"], "lot": "FUZZ-1", "farm": "农场"},
    ("POST", "/api/epcis/capture"): lambda w: epcis_document(journey()[:1]),
    ("POST", "/api/epcis/events"): lambda w: journey()[0],
}


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            found += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value[:3]):
            found += _paths(v, (*prefix, i))
    return found


def _replaced(seed: Any, path: tuple[Any, ...], new: Any, drop: bool) -> Any:
    copy = json.loads(json.dumps(seed))
    target = copy
    for step in path[:-1]:
        target = target[step]
    if drop and isinstance(target, dict):
        del target[path[-1]]
    else:
        target[path[-1]] = new
    return copy


def mutated(seed: Callable[[], Any]) -> st.SearchStrategy[Any]:
    """`seed()` (made afresh each time: new idempotency keys) with one field replaced or dropped."""
    paths = _paths(seed())
    if not paths:
        return st.builds(seed)
    return st.builds(lambda p, v, d: _replaced(seed(), p, v, d), st.sampled_from(paths),
                     st.one_of(SCALARS, ODD_INT, ODD_TEXT, ANY_JSON), st.booleans())


def body_strategy(method: str, template: str, doc: dict[str, Any], world: World) -> st.SearchStrategy[Any]:
    options: list[st.SearchStrategy[Any]] = []
    seed = SEEDS.get((method, template))
    if seed is not None:
        options += [mutated(lambda: seed(world))] * 3  # mostly: a valid body with one odd field
    op = doc["paths"].get(template, {}).get(method.lower(), {})
    schema = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    if schema is not None:
        components = doc["components"]["schemas"]
        options.append(object_of(_resolve(schema, components), components))
    options.append(ANY_JSON)
    return st.one_of(options)


# -- the pass -------------------------------------------------------------------------------------
# Hypothesis runs plain functions, so the app and its world live on an event loop in a thread of
# their own and each example waits for its answer there (shrinking a failure works as usual).

Run = Callable[[Coroutine[Any, Any, T]], T]


@contextmanager
def world_in_a_thread(tmp_path: Path) -> Iterator[tuple[Run[Any], World]]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="fuzzed-app", daemon=True)
    thread.start()

    def run(coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=60)

    async def start() -> TestClient:
        # A code sender is configured (codes go to the log), as in any deployment that offers
        # sign-in codes: without one, POST /api/auth/code answers 501 no_code_sender by design.
        settings = make_settings(f"sqlite:///{tmp_path}/fuzz.db", media_dir=tmp_path / "media",
                                 test_payments_secret=PAYMENTS_SECRET, login_codes_to_log=True)
        client = TestClient(TestServer(create_app(settings)))
        await client.start_server()
        return client

    client = run(start())
    try:
        yield run, run(build_world(client))
    finally:
        run(client.close())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@st.composite
def requests(draw: st.DrawFn, family: str, doc: dict[str, Any], world: World) -> tuple[str, str, Rule, Any]:
    method, template, rule = draw(st.sampled_from(family_routes(family)))
    return method, template, rule, draw(body_strategy(method, template, doc, world))


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_no_json_body_makes_a_500(family: str, tmp_path: Path) -> None:
    with world_in_a_thread(tmp_path) as (run, world):
        async def get_doc() -> Any:
            return await (await world.client.get("/api/openapi.json")).json()

        doc = run(get_doc())
        seen: set[str] = set()

        async def send(method: str, template: str, rule: Rule, body: Any) -> tuple[int, str]:
            kind = next(k for k in PREFERENCE if k in rule.allowed)
            resp = await world.call(method, concrete(template, world, rule), kind, Payload.json(body))
            return resp.status, (await resp.text())[:300]

        @settings(max_examples=EXAMPLES_PER_FAMILY, derandomize=True, database=None, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow])
        @given(requests(family, doc, world))
        def one(request: tuple[str, str, Rule, Any]) -> None:
            method, template, rule, body = request
            status, text = run(send(method, template, rule, body))
            seen.add(template)
            assert status < 500, f"{method} {template} with {json.dumps(body)[:300]}: {status} {text}"

        one()
        assert len(seen) >= min(3, len(family_routes(family)))  # the family's routes were really called


# -- query strings --------------------------------------------------------------------------------

QUERY_NAMES = ["limit", "before", "after", "since", "size", "index", "from", "to", "hours", "status", "room",
               "state", "session_id", "community_id", "pickup_point_id", "lang"]
QUERY_VALUES = st.one_of(st.sampled_from(["", "0", "-1", "1", "nan", "inf", "-inf", "1e400", "9" * 23, "9" * 5000,
                                          "٣", "1.5", "true", "null", "%00", "a" * 300, "all", "pending"]),
                         st.integers().map(str), st.text(max_size=20))


def get_routes() -> list[tuple[str, Rule]]:
    return [(t, r) for (m, t), r in RULES.items() if m == "GET" and t.startswith("/api/")]


def test_no_query_string_makes_a_500(tmp_path: Path) -> None:
    with world_in_a_thread(tmp_path) as (run, world):
        async def send(template: str, rule: Rule, query: dict[str, str]) -> tuple[int, str]:
            kind = next(k for k in PREFERENCE if k in rule.allowed)
            path = concrete(template, world, rule)
            world.client.session.cookie_jar.clear()
            headers = dict(world.callers[kind])
            resp = await world.client.get(path, params=query, headers=headers)
            return resp.status, (await resp.read())[:300].decode(errors="replace")

        @settings(max_examples=EXAMPLES_PER_FAMILY * 2, derandomize=True, database=None, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow])
        @given(st.sampled_from(get_routes()), st.dictionaries(st.sampled_from(QUERY_NAMES), QUERY_VALUES, min_size=1, max_size=3))
        def one(route: tuple[str, Rule], query: dict[str, str]) -> None:
            template, rule = route
            status, text = run(send(template, rule, query))
            assert status < 500, f"GET {template}?{query}: {status} {text}"

        one()
