"""Trace over HTTP: EPCIS capture, the signed log, proofs, export against the official schema,
tamper detection by the server's verifier, QR labels and who may do what."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from sqlalchemy import text

from server.app import create_app
from server.domain.accounts.roles import Role
from server.domain.accounts.tokens import ApiToken, hash_secret, new_secret
from server.domain.trace import merkle
from server.domain.trace.checkpoints import open_checkpoint
from server.http.keys import DATABASE, TOKENS
from server.http.trace_keys import TRACE
from tests.conftest import make_settings
from tests.helpers import operator_token
from tests.trace_helpers import BATCH_URI, GTIN, LOT, capture, epcis_document, journey, register_batch, step

SCHEMA = Path(__file__).resolve().parents[2] / ".." / "shared" / "standards" / "epcis" / "EPCIS-JSON-Schema.json"
HOSTILE = ["<img src=x onerror=alert(1)>", "长" * 2000, "🍅🚚❄️", "\u202eשלום عربي"]


async def token_for(client: Any, role: Role) -> str:
    secret = new_secret("fc")
    from datetime import UTC, datetime

    await client.app[TOKENS].add(ApiToken(None, role.value, role, hash_secret(secret), datetime.now(UTC)))
    return secret


@pytest.fixture
async def client(aiohttp_client: Any, database_url: str) -> Any:
    return await aiohttp_client(create_app(make_settings(database_url)))


async def test_captured_journey_is_logged_signed_and_provable(client: Any) -> None:
    token = await operator_token(client)
    await register_batch(client, token)
    result = await capture(client, token, journey())
    assert result["success"] and len(result["eventIDs"]) == 5
    assert all(i.startswith("ni:///sha-256;") and i.endswith("?ver=CBV2.0") for i in result["eventIDs"])

    resp = await client.get(f"/api/trace/batches/{GTIN}/{LOT}")
    assert resp.status == 200
    trail = await resp.json()
    head = open_checkpoint(trail["checkpoint"], trail["log"]["verifier_key"])
    assert head.size == 5 and head.origin == trail["log"]["origin"]
    for item in trail["events"]:
        event = json.loads(item["body"])
        assert event["eventID"] in result["eventIDs"]
        proof = [base64.b64decode(p) for p in item["proof"]]
        assert merkle.verify_inclusion(item["index"], head.size, merkle.leaf_hash(item["body"].encode()), proof, head.root)
    assert (await client.get("/api/trace/checkpoint")).status == 200
    verdict = await (await client.get(f"/api/trace/batches/{GTIN}/{LOT}/verify")).json()
    assert verdict == {"verified": True, "events": 5, "failures": []}


async def test_export_validates_against_the_official_epcis_schema(client: Any) -> None:
    token = await operator_token(client)
    await register_batch(client, token)
    sensor = step("sensor_reporting", 5, sensorElementList=[{
        "sensorMetadata": {"time": "2024-06-01T02:00:00Z", "deviceID": "urn:fieldcast:device:truck-1"},
        "sensorReport": [{"type": "Temperature", "value": 3.1, "uom": "CEL"},
                         {"type": "RelativeHumidity", "value": 81.5, "uom": "P1"}],
    }])
    packed = {
        "type": "AggregationEvent", "eventTime": step("packing", 25)["eventTime"], "eventTimeZoneOffset": "+08:00",
        "parentID": "urn:epc:id:sscc:6901234.0000000017", "action": "ADD", "bizStep": "packing",
        "childQuantityList": [{"epcClass": BATCH_URI, "quantity": 20, "uom": "KGM"}],
    }
    washed = {
        "type": "TransformationEvent", "eventTime": step("x", 27)["eventTime"], "eventTimeZoneOffset": "+08:00",
        "inputQuantityList": [{"epcClass": BATCH_URI, "quantity": 120, "uom": "KGM"}],
        "outputQuantityList": [{"epcClass": BATCH_URI, "quantity": 118, "uom": "KGM"}], "bizStep": "commissioning",
    }
    tagged = {
        "type": "AssociationEvent", "eventTime": step("x", 6)["eventTime"], "eventTimeZoneOffset": "+08:00",
        "parentID": "urn:fieldcast:device:truck-1", "action": "ADD", "bizStep": "loading",
        "childQuantityList": [{"epcClass": BATCH_URI}],
    }
    await capture(client, token, journey() + [sensor, packed, washed, tagged])
    resp = await client.get(f"/api/trace/batches/{GTIN}/{LOT}/epcis")
    assert resp.status == 200
    doc = await resp.json()
    assert len(doc["epcisBody"]["eventList"]) == 9
    schema = json.loads(SCHEMA.read_text())
    jsonschema.validate(doc, schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    for event in doc["epcisBody"]["eventList"]:
        jsonschema.validate(event, schema)  # each stored event on its own, too


async def test_capturing_the_same_document_twice_logs_it_once(client: Any) -> None:
    token = await operator_token(client)
    await register_batch(client, token)
    events = journey()
    first = await capture(client, token, events)
    again = await capture(client, token, events)
    assert again["eventIDs"] == first["eventIDs"] and again["logIndexes"] == first["logIndexes"]
    assert not any(again["new"])
    assert await client.app[TRACE].log.size() == 5


@pytest.mark.parametrize(
    ("mutate", "code", "words"),
    [
        (lambda e: e.pop("eventTime"), "bad_epcis", "eventTime"),
        (lambda e: e.update(eventTime="2999-01-01T00:00:00Z"), "bad_epcis", "future"),
        (lambda e: e.update(bizStep="harvesting<script>"), "bad_epcis", "bizStep"),
        (lambda e: e.update(action="MAYBE"), "bad_epcis", "action"),
        (lambda e: e.update(quantityList=[{"epcClass": "https://id.gs1.org/01/06901234567892/10/NOPE"}]), "unknown_batch", "NOPE"),
        (lambda e: e.update(quantityList=[{"epcClass": "urn:epc:id:sgtin:123"}]), "bad_epcis", "EPC"),
        (lambda e: e.update(sensorElementList=[{"sensorReport": [{"type": "Temperature", "value": 450, "uom": "CEL"}]}]), "bad_epcis", "impossible"),
        (lambda e: e.update(eventID="urn:uuid:0b9e1b4e-6e3d-4a57-8f3c-7b9f3c1f2a11"), "bad_epcis", "event hash"),
    ],
    ids=["no-time", "future", "bad-step", "bad-action", "unknown-lot", "bad-epc", "impossible-value", "foreign-id"],
)
async def test_bad_events_are_refused_and_nothing_is_logged(client: Any, mutate: Any, code: str, words: str) -> None:
    token = await operator_token(client)
    await register_batch(client, token)
    await capture(client, token, journey()[:1])
    before = await client.app[TRACE].log.size()
    bad = step("inspecting", 2)
    mutate(bad)
    resp = await client.post("/api/epcis/capture", json=epcis_document([step("packing", 3), bad]),
                             headers={"Authorization": f"Bearer {token}"})
    assert resp.status in (400, 422), await resp.text()
    body = await resp.json()
    assert body["error"] == code and words in body["message"] and "eventList[1]" in body["message"]
    assert await client.app[TRACE].log.size() == before  # all or nothing


async def test_an_event_before_the_harvest_is_out_of_order(client: Any) -> None:
    token = await operator_token(client)
    await register_batch(client, token)
    await capture(client, token, journey()[:1])  # harvested 30 h ago
    resp = await client.post("/api/epcis/events", json={"@context": [], **step("packing", 40)},
                             headers={"Authorization": f"Bearer {token}"})
    assert resp.status == 400
    assert "out of order" in (await resp.json())["message"]


@pytest.mark.parametrize("body", ["not json", "[]", '{"type": "EPCISDocument", "epcisBody": {"eventList": []}}', '{"type": "Nope"}'])
async def test_malformed_epcis_gets_a_clear_error(client: Any, body: str) -> None:
    token = await operator_token(client)
    resp = await client.post("/api/epcis/capture", data=body, headers={"Authorization": f"Bearer {token}",
                                                                       "Content-Type": "application/json"})
    assert resp.status == 400
    assert (await resp.json())["error"] in ("invalid_input", "bad_epcis")


async def test_corrections_are_an_error_declaration_plus_a_corrective_event(client: Any) -> None:
    token = await operator_token(client)
    await register_batch(client, token)
    wrong = step("storing", 10, disposition="sellable_accessible")
    first = await capture(client, token, journey()[:1] + [wrong])
    fixed = step("storing", 10, disposition="sellable_not_accessible")
    fixed_id = (await capture(client, token, [fixed]))["eventIDs"][0]
    declaration = dict(wrong, errorDeclaration={"declarationTime": step("x", 0)["eventTime"], "reason": "incorrect_data",
                                                "correctiveEventIDs": [fixed_id]})
    result = await capture(client, token, [declaration])
    assert result["eventIDs"][0] == first["eventIDs"][1]  # the declaration carries the original's hash
    assert result["new"] == [True]
    trail = await (await client.get(f"/api/trace/batches/{GTIN}/{LOT}")).json()
    assert len(trail["events"]) == 4  # nothing was edited: the original is still there
    verdict = await (await client.get(f"/api/trace/batches/{GTIN}/{LOT}/verify")).json()
    assert verdict["verified"]
    orphan = dict(step("packing", 9), errorDeclaration={"declarationTime": step("x", 0)["eventTime"]})
    resp = await client.post("/api/epcis/capture", json=epcis_document([orphan]), headers={"Authorization": f"Bearer {token}"})
    assert resp.status == 404 and (await resp.json())["error"] == "unknown_event"


@pytest.mark.parametrize(
    "tamper",
    [
        "UPDATE trace_events SET body = replace(body, '青禾农场 3号大棚', '别家农场') WHERE seq = 0",
        "UPDATE trace_events SET body = replace(body, 'sellable_not_accessible', 'sellable_accessible') WHERE seq = 3",
        "DELETE FROM trace_nodes WHERE id = 2",
        "UPDATE trace_nodes SET hash = :zero WHERE id = 281474976710656",
        "UPDATE trace_checkpoints SET note = replace(note, '\n5\n', '\n4\n')",
    ],
    ids=["event-text", "event-field", "leaf-deleted", "node-changed", "checkpoint"],
)
async def test_tampering_with_the_database_is_detected_by_the_verifier(client: Any, tamper: str) -> None:
    token = await operator_token(client)
    await register_batch(client, token)
    await capture(client, token, journey())
    async with client.app[DATABASE].session() as s:
        await s.execute(text(tamper), {"zero": bytes(32)} if ":zero" in tamper else {})
        await s.commit()
    verdict = await (await client.get(f"/api/trace/batches/{GTIN}/{LOT}/verify")).json()
    assert not verdict["verified"], verdict
    assert verdict["failures"]


@pytest.mark.parametrize("hostile", HOSTILE, ids=["html", "long", "emoji", "rtl"])
async def test_hostile_text_is_stored_as_text_or_refused_clearly(client: Any, hostile: str) -> None:
    token = await operator_token(client)
    await register_batch(client, token)
    event = step("commissioning", 3, action="ADD", **{"fieldcast:note": hostile})
    resp = await client.post("/api/epcis/capture", json=epcis_document([event]), headers={"Authorization": f"Bearer {token}"})
    assert resp.status == 201
    trail = await (await client.get(f"/api/trace/batches/{GTIN}/{LOT}")).json()
    assert json.loads(trail["events"][0]["body"])["fieldcast:note"] == hostile
    resp = await client.post("/api/trace/batches", json={"gtin": GTIN, "lot": hostile[:30]}, headers={"Authorization": f"Bearer {token}"})
    assert resp.status in (400, 422)


async def test_consistency_proofs_link_checkpoints(client: Any) -> None:
    token = await operator_token(client)
    await register_batch(client, token)
    await capture(client, token, journey()[:2])
    old = open_checkpoint(await (await client.get("/api/trace/checkpoint")).text(), client.app[TRACE].signer.verifier_key)
    await capture(client, token, journey()[2:])
    new = open_checkpoint(await (await client.get("/api/trace/checkpoint")).text(), client.app[TRACE].signer.verifier_key)
    resp = await client.get(f"/api/trace/proof/consistency?from={old.size}&to={new.size}")
    proof = [base64.b64decode(p) for p in (await resp.json())["proof"]]
    assert merkle.verify_consistency(old.size, new.size, old.root, new.root, proof)
    assert (await client.get("/api/trace/proof/consistency?from=3&to=99")).status == 400
    assert (await client.get("/api/trace/proof/consistency?from=x&to=2")).status == 400


async def test_qr_labels_encode_the_digital_link(client: Any) -> None:
    token = await operator_token(client)
    batch = await register_batch(client, token)
    assert batch["path"] == f"/01/{GTIN}/10/{LOT}"
    png = await client.get(f"/api/trace/batches/{GTIN}/{LOT}/qr.png?size=300")
    assert png.status == 200 and png.content_type == "image/png"
    import io

    import cv2
    import numpy as np
    from PIL import Image

    image = np.asarray(Image.open(io.BytesIO(await png.read())).convert("L"))
    decoded, _, _ = cv2.QRCodeDetector().detectAndDecode(image)
    assert decoded == batch["digital_link"] and decoded.endswith(f"/01/{GTIN}/10/{LOT}")
    svg = await client.get(f"/api/trace/batches/{GTIN}/{LOT}/qr.svg")
    assert svg.status == 200 and (await svg.text()).lstrip().startswith("<?xml")
    page = await client.get(f"/01/{GTIN}/10/{LOT}")
    assert page.status == 200 and "text/html" in page.content_type
    short = await client.get(f"/01/{GTIN[1:]}/10/{LOT}", allow_redirects=False)
    assert short.status == 301 and short.headers["Location"] == f"/01/{GTIN}/10/{LOT}"
    assert (await client.get("/api/trace/batches/06901234567892/NOPE")).status == 404


@pytest.mark.parametrize(
    ("method", "path", "needs"),
    [
        ("POST", "/api/epcis/capture", Role.HOST),
        ("POST", "/api/epcis/events", Role.HOST),
        ("POST", "/api/trace/batches", Role.HOST),
        ("GET", "/api/trace/batches", Role.HOST),
        ("POST", "/api/trace/photos", Role.HOST),
        ("POST", "/api/trace/products", Role.OPERATOR),
    ],
)
async def test_writes_are_refused_to_roles_below_the_one_they_need(client: Any, method: str, path: str, needs: Role) -> None:
    resp = await client.request(method, path, json={})
    assert resp.status == 401
    for role in Role:
        from server.domain.accounts.roles import role_allows

        if role_allows(role, needs):
            continue
        token = await token_for(client, role)
        resp = await client.request(method, path, json={}, headers={"Authorization": f"Bearer {token}"})
        assert resp.status == 403, (role, path)


async def test_a_big_document_is_prepared_off_the_event_loop_with_the_same_checks(client: Any) -> None:
    token = await operator_token(client)
    await register_batch(client, token)
    events = journey()[:1] + [step("inspecting", 29 - i / 100, **{"fieldcast:note": f"检查 {i}"}) for i in range(60)]
    bad = [dict(e) for e in events]
    bad[40]["eventTime"] = "2024-02-30T02:00:00.000Z"  # no such day
    resp = await client.post("/api/epcis/capture", json=epcis_document(bad), headers={"Authorization": f"Bearer {token}"})
    assert resp.status == 400
    body = await resp.json()
    assert body["error"] == "bad_epcis" and "eventList[40]" in body["message"] and "real date" in body["message"]
    assert await client.app[TRACE].log.size() == 0
    result = await capture(client, token, events)
    assert len(result["eventIDs"]) == 61 and result["logIndexes"] == list(range(61))
    verdict = await (await client.get(f"/api/trace/batches/{GTIN}/{LOT}/verify")).json()
    assert verdict == {"verified": True, "events": 61, "failures": []}


async def test_captures_arriving_together_share_a_transaction_but_succeed_or_fail_alone(client: Any) -> None:
    import asyncio

    token = await operator_token(client)
    await register_batch(client, token)
    await capture(client, token, journey()[:1])  # harvested 30 h ago
    service = client.app[TRACE]
    good = [epcis_document([step("inspecting", 29 - i / 100)]) for i in range(12)]
    early = epcis_document([step("packing", 40)])  # before the harvest: refused
    repeat = epcis_document([step("storing", 20)])
    results = await asyncio.gather(*(service.capture(d) for d in [*good, early, repeat, repeat]), return_exceptions=True)
    assert all(not isinstance(r, BaseException) for r in results[:12]), results
    assert isinstance(results[12], Exception) and "out of order" in str(results[12])
    first, second = results[13], results[14]
    assert first[0].seq == second[0].seq and [first[0].new, second[0].new].count(True) == 1  # type: ignore[index]
    assert await service.log.size() == 1 + 12 + 1
    async with client.app[DATABASE].session() as s:
        checkpoints = (await s.execute(text("SELECT count(*) FROM trace_checkpoints"))).scalar()
    assert checkpoints is not None and checkpoints <= 3  # the first capture, then the waiting ones together
    verdict = await (await client.get(f"/api/trace/batches/{GTIN}/{LOT}/verify")).json()
    assert verdict == {"verified": True, "events": 14, "failures": []}
