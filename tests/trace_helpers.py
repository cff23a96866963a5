"""Test helpers for the trace feature: a product, a batch and its journey as EPCIS events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient

GTIN = "06901234567892"  # a valid GTIN-14 (check digit 2)
LOT = "QH-2406-A"
BATCH_URI = f"https://id.gs1.org/01/{GTIN}/10/{LOT}"
FARM_GLN = "https://id.gs1.org/414/6901234000004"


def at(hours_ago: float) -> str:
    moment = datetime.now(UTC) - timedelta(hours=hours_ago)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def step(biz_step: str, hours_ago: float, *, action: str = "OBSERVE", uri: str = BATCH_URI, **extra: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "ObjectEvent",
        "eventTime": at(hours_ago),
        "eventTimeZoneOffset": "+08:00",
        "action": action,
        "bizStep": biz_step,
        "quantityList": [{"epcClass": uri, "quantity": 120, "uom": "KGM"}],
        "readPoint": {"id": FARM_GLN},
    }
    event.update(extra)
    return event


def journey() -> list[dict[str, Any]]:
    return [
        step("commissioning", 30, action="ADD", **{"fieldcast:place": "青禾农场 3号大棚"}),
        step("inspecting", 28, **{"fieldcast:note": "清洗分拣"}),
        step("packing", 26),
        step("storing", 20, disposition="sellable_not_accessible"),
        step("loading", 6, disposition="in_transit"),
    ]


def epcis_document(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": at(0),
        "epcisBody": {"eventList": events},
    }


async def register_batch(client: TestClient, token: str, *, gtin: str = GTIN, lot: str = LOT,
                         band: dict[str, Any] | None = None) -> dict[str, Any]:
    auth = {"Authorization": f"Bearer {token}"}
    resp = await client.post("/api/trace/products", json={"gtin": gtin, "name": "高山有机番茄", "band": band}, headers=auth)
    assert resp.status == 201, await resp.text()
    resp = await client.post("/api/trace/batches", json={"gtin": gtin, "lot": lot, "farm": "青禾农场"}, headers=auth)
    assert resp.status == 201, await resp.text()
    return dict(await resp.json())


async def capture(client: TestClient, token: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    resp = await client.post("/api/epcis/capture", json=epcis_document(events), headers={"Authorization": f"Bearer {token}"})
    assert resp.status == 201, await resp.text()
    return dict(await resp.json())
