"""The CBV 2.0 Event Hash ID against the expected values published with GS1's reference implementation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from server.domain.trace.event_hash import BadEvent, context_prefixes, event_hash_id, format_number, format_time, pre_hash

STANDARDS = Path(__file__).resolve().parents[4] / ".." / "shared" / "standards" / "epcis"

# Events from the test suite of GS1's reference implementation (epcis-event-hash-generator), with
# the hash ids it publishes for them.
SINGLE = {
    "type": "ObjectEvent", "action": "OBSERVE", "bizStep": "shipping", "disposition": "in_transit",
    "epcList": ["urn:epc:id:sgtin:0614141.107346.2017", "urn:epc:id:sgtin:0614141.107346.2018"],
    "eventTime": "2022-02-16T20:33:31.116000-06:00", "eventTimeZoneOffset": "-06:00",
    "readPoint": {"id": "urn:epc:id:sgln:0614141.07346.1234"},
    "bizTransactionList": [{"type": "po", "bizTransaction": "http://transaction.acme.com/po/12345678"}],
}
SINGLE_HASH = "ni:///sha-256;ffa491b16867e34a7791a8d5389d826afc24e63a121026b6a4004ace38631b4b?ver=CBV2.0"
SINGLE_PREHASH = (
    "eventType=ObjectEventeventTime=2022-02-17T02:33:31.116ZeventTimeZoneOffset=-06:00epcList"
    "epc=https://id.gs1.org/01/10614141073464/21/2017epc=https://id.gs1.org/01/10614141073464/21/2018"
    "action=OBSERVEbizStep=https://ref.gs1.org/cbv/BizStep-shippingdisposition=https://ref.gs1.org/cbv/Disp-in_transit"
    "readPointid=https://id.gs1.org/414/0614141073467/254/1234bizTransactionListtype=https://ref.gs1.org/cbv/BTT-po"
    "bizTransaction=http://transaction.acme.com/po/12345678"
)
EXTENSIONS = {
    "type": "ObjectEvent", "eventTime": "2020-03-04T11:00:30.000+01:00", "eventTimeZoneOffset": "+01:00",
    "recordTime": "2020-03-04T11:00:30.999+01:00",
    "epcList": ["urn:epc:id:sscc:4012345.0000000333", "urn:epc:id:sscc:4012345.0000000111", "urn:epc:id:sscc:4012345.0000000222"],
    "action": "OBSERVE", "bizStep": "departing", "readPoint": {"id": "urn:epc:id:sgln:4012345.00011.987"},
    "example:myField1": {"example:mySubField1": "2", "example:mySubField2": "5"},
    "example:myField2": "0",
    "example:myField3": {"example:mySubField3": ["3", "1"]},
}
EXTENSIONS_HASH = "ni:///sha-256;6ae96341e0acc6d7a261364751f60e68278a81cdf51da0abb6b4e617014e39d7?ver=CBV2.0"
SENSORS = {
    "type": "ObjectEvent", "eventTime": "2022-04-07T10:00:00.000Z", "eventTimeZoneOffset": "+01:00",
    "epcList": ["https://id.example.com/8003/040123450007718765"], "action": "OBSERVE",
    "bizStep": "sensor_reporting", "readPoint": {"id": "https://id.example.com/414/4012345000054"},
    "sensorElementList": [{"sensorReport": [
        {"type": "gs1:Angle", "value": 42.698334, "component": "cbv:Comp-latitude", "uom": "DD",
         "coordinateReferenceSystem": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"},
        {"type": "gs1:Angle", "value": 23.319941, "component": "cbv:Comp-longitude", "uom": "DD",
         "coordinateReferenceSystem": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"},
    ]}],
}
SENSORS_HASH = "ni:///sha-256;bb12b0e4a573819c15796579560efbe6bd5e337f5c8c5cdf81f983a39947f629?ver=CBV2.0"
PERSISTENT = {
    "type": "ObjectEvent", "eventTime": "2021-04-01T15:00:00+01:00", "eventTimeZoneOffset": "+01:00",
    "epcList": ["urn:epc:id:sgtin:4012345.011111.1", "urn:epc:id:sgtin:4012345.011111.2"],
    "action": "OBSERVE", "bizStep": "shipping", "disposition": "in_transit",
    "readPoint": {"id": "urn:epc:id:sgln:4012345.00005.0"}, "persistentDisposition": {"set": ["recalled"]},
}
PERSISTENT_HASH = "ni:///sha-256;f6a9d89f2cd8d7931daa3d4c3d48399c2173b88417932f8cc04d021671e7d01e?ver=CBV2.0"
TRANSFORMATION = {
    "type": "TransformationEvent", "eventTime": "2020-01-14T00:00:00.000+01:00", "eventTimeZoneOffset": "+01:00",
    "eventID": "urn:uuid:374d95fc-9457-4a51-bd6a-0bba133845a8",
    "inputEPCList": ["urn:epc:id:sgtin:4012345.011111.987"], "outputEPCList": ["urn:epc:id:sgtin:4012345.033333.AGHFG"],
    "inputQuantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.022222.87545GHGH"}],
    "outputQuantityList": [{"epcClass": "urn:epc:idpat:sgtin:4012345.044444.*", "quantity": 452.0, "uom": "KGM"}],
    "bizStep": "commissioning", "readPoint": {"id": "urn:epc:id:sgln:4012345.00000.0"},
    "errorDeclaration": {"declarationTime": "2020-01-15T00:00:00.000+01:00", "reason": "incorrect_data",
                         "example:vendorExtension": "Test1"},
}
TRANSFORMATION_HASH = "ni:///sha-256;e16ce101f3d7383612e00b74419b2d88f12baa6a124b0e390252d396687d5cf7?ver=CBV2.0"
EXAMPLE_NS = {"example": "https://ns.example.com/epcis/"}


@pytest.mark.parametrize(
    ("event", "expected"),
    [(SINGLE, SINGLE_HASH), (EXTENSIONS, EXTENSIONS_HASH), (SENSORS, SENSORS_HASH),
     (PERSISTENT, PERSISTENT_HASH), (TRANSFORMATION, TRANSFORMATION_HASH)],
    ids=["object-urns", "user-extensions", "sensor-curies", "persistent-disposition", "transformation-error-declaration"],
)
def test_event_hash_matches_the_reference_implementation(event: dict[str, object], expected: str) -> None:
    assert event_hash_id(event, EXAMPLE_NS) == expected


def test_pre_hash_string_is_the_canonical_concatenation() -> None:
    assert pre_hash(SINGLE) == SINGLE_PREHASH


def test_hash_ignores_field_order_time_zone_spelling_and_trailing_zeros() -> None:
    shuffled = dict(reversed(list(SINGLE.items())))
    shuffled["eventTime"] = "2022-02-17T02:33:31.1160Z"
    shuffled["epcList"] = list(reversed(SINGLE["epcList"]))  # type: ignore[call-overload]
    assert event_hash_id(shuffled) == SINGLE_HASH
    changed = dict(SINGLE, bizStep="receiving")
    assert event_hash_id(changed) != SINGLE_HASH


def test_timestamps_round_the_fourth_decimal_half_up_and_carry() -> None:
    assert format_time("2023-01-18T11:04:03.1415Z") == "2023-01-18T11:04:03.142Z"
    assert format_time("2023-01-18T11:04:03.1414Z") == "2023-01-18T11:04:03.141Z"
    assert format_time("2023-12-31T23:59:59.9996+00:00") == "2024-01-01T00:00:00.000Z"
    assert format_time("2023-01-18T08:00:00+08:00") == "2023-01-18T00:00:00.000Z"
    with pytest.raises(BadEvent):
        format_time("2023-02-30T00:00:00Z")
    with pytest.raises(BadEvent):
        format_time("2023-01-18T00:00:00")  # no zone: not a dateTimeStamp


def test_numbers_lose_trailing_zeros_and_never_use_exponents() -> None:
    assert format_number(1.0) == "1"
    assert format_number(0.3434) == "0.3434"
    assert format_number(1e-7) == "0.0000001"
    assert format_number(452) == "452"


def test_every_official_gs1_example_event_hashes() -> None:
    examples = sorted(STANDARDS.glob("*.jsonld"))
    examples = [p for p in examples if "context" not in p.name]
    assert examples, f"the GS1 examples are missing from {STANDARDS}"
    for path in examples:
        doc = json.loads(path.read_text())
        prefixes = context_prefixes(doc.get("@context"))
        for event in doc["epcisBody"]["eventList"]:
            assert event_hash_id(event, prefixes).startswith("ni:///sha-256;")
