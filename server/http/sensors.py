"""Sensors API: devices (operators), readings over HTTP with a per-device token, the room's sensor
panel and QR choices (hosts), and the cold-chain views (operators and the buyers concerned)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from ..domain.accounts.roles import Role
from ..domain.errors import InvalidInput
from ..domain.sensors.anomalies import CompensationPolicy
from ..domain.sensors.devices import BadDeviceToken
from ..domain.sensors.readings import panel_entry
from ..media import load_room
from ..persistence.trace_sensors import RoomOverlay
from .auth import bearer, require_role, require_room_role, require_user
from .body import read_json
from .trace_keys import COLD_CHAIN, SENSORS, TRACE, TRACE_OVERLAY

logger = logging.getLogger(__name__)
routes = web.RouteTableDef()


class DeviceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=2, max_length=40)
    name: str = Field(min_length=1, max_length=40)
    kind: Literal["field", "store", "truck"] = "field"


class ReadingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    t: datetime | None = None
    temperature: float | None = None
    humidity: float | None = None
    soil_moisture: float | None = None

    def values(self) -> dict[str, float]:
        return {k: v for k, v in (("temperature", self.temperature), ("humidity", self.humidity),
                                  ("soil_moisture", self.soil_moisture)) if v is not None}


class ReadingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    readings: list[ReadingIn] = Field(min_length=1, max_length=1000)


class BatchRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    gtin: str = Field(min_length=8, max_length=14)
    lot: str = Field(min_length=1, max_length=20)


class OverlayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    devices: list[str] = Field(default_factory=list, max_length=4)  # "truck-1" or "field-3:soil_moisture"
    batch: BatchRef | None = None


class PolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["refund_percent", "coupon_fen", "replacement", "none"]
    amount: int = Field(default=0, ge=0, le=1_000_000)


def device_public(device) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {"id": device.id, "name": device.name, "kind": device.kind, "revoked": device.revoked,
            "simulated": device.simulated, "uri": device.uri}


@routes.post("/api/sensors/devices")
async def add_device(request: web.Request) -> web.Response:
    who = await require_role(request, Role.OPERATOR)
    body = DeviceIn.model_validate(await read_json(request))
    device, token = await request.app[SENSORS].add_device(body.id, body.name, body.kind)
    logger.info("sensor device %s added by %s", device.id, who.label)
    from .keys import SETTINGS

    prefix = request.app[SETTINGS].mqtt_topic_prefix
    return web.json_response({**device_public(device), "token": token,
                              "mqtt_topic": f"{prefix}/sensors/{device.id}/readings",
                              "http_url": f"/api/sensors/{device.id}/readings"}, status=201)


@routes.get("/api/sensors/devices")
async def list_devices(request: web.Request) -> web.Response:
    await require_role(request, Role.HOST)
    hub = request.app[SENSORS]
    return web.json_response([device_public(d) for d in sorted(hub.devices.values(), key=lambda d: d.id)])


@routes.post("/api/sensors/devices/{device_id}/revoke")
async def revoke_device(request: web.Request) -> web.Response:
    who = await require_role(request, Role.OPERATOR)
    await request.app[SENSORS].revoke(request.match_info["device_id"])
    logger.info("sensor device %s revoked by %s", request.match_info["device_id"], who.label)
    return web.Response(status=204)


@routes.post("/api/sensors/{device_id}/readings")
async def post_readings(request: web.Request) -> web.Response:
    """A device reports: `Authorization: Bearer <device token>`, one reading or {"readings": [...]}."""
    token = bearer(request)
    if token is None:
        raise BadDeviceToken("send the device token: Authorization: Bearer <token>")
    payload = await read_json(request)
    items = ReadingsIn.model_validate(payload).readings if isinstance(payload, dict) and "readings" in payload \
        else [ReadingIn.model_validate(payload)]
    hub = request.app[SENSORS]
    device_id = request.match_info["device_id"]
    accepted = 0
    for item in items:
        await hub.ingest(device_id, token, item.t, item.values())
        accepted += 1
    committed = hub.committed()
    if committed is not None:
        await asyncio.shield(committed)  # answered once stored (with the others of its ~50 ms)
    return web.json_response({"accepted": accepted}, status=202)


@routes.get("/api/sensors/{device_id}/latest")
async def latest(request: web.Request) -> web.Response:
    hub = request.app[SENSORS]
    device = await hub.device(request.match_info["device_id"])
    reading = (await hub.current([device.id])).get(device.id)
    return web.json_response({"device": device_public(device), "at": reading.at.isoformat() if reading else None,
                              "values": reading.values if reading else {}})


@routes.get("/api/sensors/{device_id}/history")
async def history(request: web.Request) -> web.Response:
    await require_role(request, Role.HOST)
    hub = request.app[SENSORS]
    device = await hub.device(request.match_info["device_id"])
    hours_text = request.query.get("hours", "24")
    try:
        hours = min(24 * 366, max(0.01, float(hours_text)))
    except ValueError as exc:
        raise InvalidInput("hours must be a number") from exc
    until = datetime.now(UTC)
    since = until - timedelta(hours=hours)
    series = {q: await hub.series(device.id, q, since, until) for q in ("temperature", "humidity", "soil_moisture")}
    return web.json_response({"device": device.id, "series": {q: p for q, p in series.items() if p}})


@routes.put("/api/rooms/{room_id}/trace-overlay")
async def choose_overlay(request: web.Request) -> web.Response:
    room = await load_room(request.app, request.match_info["room_id"])
    who = await require_room_role(request, room.id, Role.HOST)
    body = OverlayIn.model_validate(await read_json(request))
    hub = request.app[SENSORS]
    for entry in body.devices:
        device_id, _ = panel_entry(entry)
        await hub.device(device_id)
    gtin = lot = ""
    if body.batch is not None:
        batch = await request.app[TRACE].batch(body.batch.gtin, body.batch.lot)
        gtin, lot = batch.gtin, batch.lot
    choice = RoomOverlay(room.id, tuple(dict.fromkeys(body.devices)), gtin, lot)
    await request.app[TRACE_OVERLAY].choose(choice)
    logger.info("trace overlay chosen by %s", who.label, extra={"room": room.id})
    return web.json_response({"room": room.id, "devices": list(choice.devices),
                              "batch": {"gtin": gtin, "lot": lot} if gtin else None})


@routes.get("/api/trace/breaches")
async def breaches(request: web.Request) -> web.Response:
    """The operator's list to act on: every buyer told about a breach, with the batch and the offer."""
    await require_role(request, Role.OPERATOR)
    rows = await request.app[COLD_CHAIN].store.notices()
    return web.json_response([
        {"notice_id": n.id, "order_id": n.order_id, "user_id": n.user_id, "event_id": n.event_id,
         "gtin": b.gtin if b else "", "lot": b.lot if b else "", "product": b.product_name if b else "",
         "flag_reason": b.flag_reason if b else "", "offer": n.offer_zh, "offer_en": n.offer_en,
         "created_at": n.created_at.isoformat()}
        for n, b in rows
    ])


@routes.get("/api/trace/compensation-policy")
async def get_policy(request: web.Request) -> web.Response:
    await require_role(request, Role.OPERATOR)
    policy = await request.app[COLD_CHAIN].store.policy()
    return web.json_response({"kind": policy.kind, "amount": policy.amount, "offer": policy.offer_zh()})


@routes.put("/api/trace/compensation-policy")
async def set_policy(request: web.Request) -> web.Response:
    who = await require_role(request, Role.OPERATOR)
    body = PolicyIn.model_validate(await read_json(request))
    if body.kind == "refund_percent" and not 0 < body.amount <= 100:
        raise InvalidInput("a refund is 1 to 100 percent")
    policy = CompensationPolicy(body.kind, body.amount)
    await request.app[COLD_CHAIN].store.set_policy(policy)
    logger.info("compensation policy set by %s", who.label)
    return web.json_response({"kind": policy.kind, "amount": policy.amount, "offer": policy.offer_zh()})


@routes.get("/api/me/trace-notices")
async def my_notices(request: web.Request) -> web.Response:
    _, user = await require_user(request)
    assert user.id is not None
    notices = await request.app[COLD_CHAIN].store.notices_for_user(user.id)
    return web.json_response([
        {"notice_id": n.id, "order_id": n.order_id, "message": n.message_zh, "offer": n.offer_zh,
         "message_en": n.message_en, "offer_en": n.offer_en, "created_at": n.created_at.isoformat()}
        for n in notices
    ])


@routes.get("/api/sensors/stats")
async def stats(request: web.Request) -> web.Response:
    """Counters of this node: readings stored and refused, MQTT messages received, and whether
    the MQTT bridge is subscribed now (null without a broker configured)."""
    await require_role(request, Role.OPERATOR)
    from .trace_keys import MQTT

    hub = request.app[SENSORS]
    bridge = request.app.get(MQTT)
    return web.json_response({"stored": hub.stored, "refused": hub.refused,
                              "mqtt_connected": bridge.connected.is_set() if bridge else None,
                              "mqtt_received": bridge.received if bridge else 0,
                              "mqtt_refused": bridge.refused if bridge else 0})
