"""EPCIS 2.0 events as Fieldcast captures, checks, stores and exports them (JSON-LD).

An event is checked at the edge (shape, CBV words, times, plausible sensor values, the batches it
names), given its CBV event hash as `eventID` and the server's `recordTime`, and stored as one JSON
text. That exact text is the event's leaf in the Merkle log, so everything stored is covered.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from ..errors import InvalidInput
from .event_hash import BadEvent, context_prefixes, event_hash_id, utc_moment
from .identifiers import batch_of, constrain_dl, epc_urn_to_dl

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
# Fieldcast's own event fields (place names, notes, photos) live in this namespace.
FIELDCAST_PREFIX = "fieldcast"
FIELDCAST_NS = "https://fieldcast.dev/ns/epcis/"
FIELDCAST_CONTEXT: dict[str, str] = {FIELDCAST_PREFIX: FIELDCAST_NS}

EVENT_TYPES = {"ObjectEvent", "AggregationEvent", "TransformationEvent", "AssociationEvent", "TransactionEvent"}
ACTIONS = {"ADD", "OBSERVE", "DELETE"}
BIZ_STEPS = {
    "accepting", "arriving", "assembling", "collecting", "commissioning", "consigning",
    "creating_class_instance", "cycle_counting", "decommissioning", "departing", "destroying",
    "disassembling", "dispensing", "encoding", "entering_exiting", "holding", "inspecting",
    "installing", "killing", "loading", "other", "packing", "picking", "receiving", "removing",
    "repackaging", "repairing", "replacing", "reserving", "retail_selling", "sampling",
    "sensor_reporting", "shipping", "staging_outbound", "stock_taking", "stocking", "storing",
    "transporting", "unloading", "unpacking", "void_shipping",
}
DISPOSITIONS = {
    "active", "container_closed", "damaged", "destroyed", "dispensed", "disposed", "encoded",
    "expired", "in_progress", "in_transit", "inactive", "no_pedigree_match", "non_sellable_other",
    "partially_dispensed", "recalled", "reserved", "retail_sold", "returned", "sellable_accessible",
    "sellable_not_accessible", "stolen", "unknown", "available", "completeness_verified",
    "completeness_inferred", "conformant", "container_open", "mismatch_instance", "mismatch_class",
    "mismatch_quantity", "needs_replacement", "non_conformant", "unavailable",
}
ERROR_REASONS = {"did_not_occur", "incorrect_data"}
# What a sensor can physically report here; anything outside is a broken sensor or bad input.
PLAUSIBLE = {("Temperature", "CEL"): (-80.0, 100.0), ("RelativeHumidity", "P1"): (0.0, 100.0)}
MAX_EVENT_BYTES = 64 * 1024
MAX_LIST = 1000
CLOCK_SKEW = timedelta(minutes=5)
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class PreparedEvent:
    """An event ready to be logged: its id, the exact stored text, and what the index needs."""

    event_hash: str
    body: str
    event_type: str
    biz_step: str
    event_time: datetime
    batches: tuple[tuple[str, str], ...]
    declares_error: bool
    corrective_ids: tuple[str, ...]

    @property
    def event(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


def parse_time(value: Any, field: str) -> datetime:
    try:
        return utc_moment(value)
    except BadEvent as exc:
        raise BadEvent(f"{field}: {exc.message}") from exc


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def events_in(payload: Any) -> tuple[list[Mapping[str, Any]], Any]:
    """The events of an EPCIS document (or one bare event) and the @context they come with."""
    if not isinstance(payload, Mapping):
        raise BadEvent("the body must be an EPCIS document or an EPCIS event (a JSON object)")
    if payload.get("type") == "EPCISDocument":
        body = payload.get("epcisBody")
        events = body.get("eventList") if isinstance(body, Mapping) else None
        if not isinstance(events, list) or not events:
            raise BadEvent("an EPCISDocument needs epcisBody.eventList with at least one event")
        if len(events) > MAX_LIST:
            raise BadEvent(f"at most {MAX_LIST} events per capture")
        if not all(isinstance(e, Mapping) for e in events):
            raise BadEvent("every member of eventList must be an event object")
        return list(events), payload.get("@context")
    if payload.get("type") in EVENT_TYPES:
        return [payload], payload.get("@context")
    raise BadEvent("type must be EPCISDocument or an EPCIS event type (ObjectEvent, ...)")


def prepare_all(events: list[Mapping[str, Any]], context: Any, now: datetime) -> list[PreparedEvent]:
    """Every event of one capture checked and made ready, all or nothing (BadEvent names the event).

    Pure CPU work on plain data, so a big capture can be prepared in a worker process."""
    record_time = iso(now)
    prepared: list[PreparedEvent] = []
    for i, event in enumerate(events):
        try:
            prepared.append(prepare(event, context, now, record_time))
        except BadEvent as exc:
            raise BadEvent(f"eventList[{i}]: {exc.message}" if len(events) > 1 else exc.message) from exc
    return prepared


def prepare(event: Mapping[str, Any], context: Any, now: datetime, record_time: str | None = None) -> PreparedEvent:
    """Check one captured event and make it ready to log; raises BadEvent saying what is wrong."""
    where = f"{event.get('type', 'event')}"
    kind = event.get("type")
    if kind not in EVENT_TYPES:
        raise BadEvent(f"type must be one of {', '.join(sorted(EVENT_TYPES))}")
    if kind != "TransformationEvent" and event.get("action") not in ACTIONS:
        raise BadEvent(f"{where}: action must be ADD, OBSERVE or DELETE")
    event_time = parse_time(event.get("eventTime"), "eventTime")
    offset = event.get("eventTimeZoneOffset")
    if not isinstance(offset, str) or len(offset) != 6 or offset[0] not in "+-" or offset[3] != ":":
        raise BadEvent(f"{where}: eventTimeZoneOffset must look like +08:00")
    if event_time > now + CLOCK_SKEW:
        raise BadEvent(f"{where}: eventTime {iso(event_time)} is in the future")
    if event_time < EARLIEST:
        raise BadEvent(f"{where}: eventTime {iso(event_time)} is before 2000")
    _check_vocab(event, where)
    _check_lists(event, where)
    _check_sensors(event, where, now)

    merged = _context_with(event.get("@context", context))
    prefixes = context_prefixes(merged)
    stored = {k: v for k, v in event.items() if k not in ("eventID", "recordTime", "@context")}
    event_hash = event_hash_id(stored, prefixes)
    given = event.get("eventID")
    if given is not None and given != event_hash:
        raise BadEvent(
            f"{where}: eventID must be left out or be the CBV 2.0 event hash ({event_hash}); got {str(given)[:80]!r}"
        )
    declares_error = "errorDeclaration" in event
    corrective: tuple[str, ...] = ()
    if declares_error:
        declaration = event["errorDeclaration"]
        if not isinstance(declaration, Mapping):
            raise BadEvent("errorDeclaration must be an object")
        parse_time(declaration.get("declarationTime"), "errorDeclaration.declarationTime")
        reason = declaration.get("reason")
        if reason is not None and reason not in ERROR_REASONS and ":" not in str(reason):
            raise BadEvent("errorDeclaration.reason must be did_not_occur, incorrect_data or a URI")
        ids = declaration.get("correctiveEventIDs", [])
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise BadEvent("errorDeclaration.correctiveEventIDs must be a list of event ids")
        corrective = tuple(ids)
    out = {"@context": merged, **stored, "eventID": event_hash, "recordTime": record_time or iso(now)}
    body = json.dumps(out, ensure_ascii=False, separators=(",", ":"))
    if len(body.encode()) > MAX_EVENT_BYTES:
        raise BadEvent(f"{where}: an event may take at most {MAX_EVENT_BYTES // 1024} KiB")
    batches = tuple(dict.fromkeys(b for b in (batch_of(u) for u in _identifiers(event)) if b is not None))
    biz_step = str(event.get("bizStep", ""))
    return PreparedEvent(
        event_hash=event_hash,
        body=body,
        event_type=str(kind),
        biz_step=biz_step.rsplit("BizStep-", 1)[-1].rsplit(":", 1)[-1],
        event_time=event_time,
        batches=batches,
        declares_error=declares_error,
        corrective_ids=corrective,
    )


def _context_with(context: Any) -> list[Any]:
    items = context if isinstance(context, list) else [context] if context else []
    out: list[Any] = [EPCIS_CONTEXT]
    extra: dict[str, str] = dict(FIELDCAST_CONTEXT)
    for item in items:
        if isinstance(item, Mapping):
            for key, value in item.items():
                if isinstance(value, str) and not key.startswith("@"):
                    if key in extra and extra[key] != value:
                        raise BadEvent(f"@context prefix {key!r} is reserved for {extra[key]}")
                    extra[key] = value
        elif isinstance(item, str) and item != EPCIS_CONTEXT and item.startswith("https://ref.gs1.org/standards/epcis/"):
            continue
        elif isinstance(item, str) and item != EPCIS_CONTEXT:
            raise BadEvent("remote @context documents other than the EPCIS 2.0 context are not accepted")
    out.append(extra)
    return out


def _check_vocab(event: Mapping[str, Any], where: str) -> None:
    step = event.get("bizStep")
    if step is not None and (not isinstance(step, str) or (":" not in step and step not in BIZ_STEPS)):
        raise BadEvent(f"{where}: bizStep {str(step)[:40]!r} is not a CBV business step or a URI")
    disposition = event.get("disposition")
    if disposition is not None and (
        not isinstance(disposition, str) or (":" not in disposition and disposition not in DISPOSITIONS)
    ):
        raise BadEvent(f"{where}: disposition {str(disposition)[:40]!r} is not a CBV disposition or a URI")
    for name in ("readPoint", "bizLocation"):
        value = event.get(name)
        if value is not None and not (isinstance(value, Mapping) and isinstance(value.get("id"), str) and ":" in value["id"]):
            raise BadEvent(f"{where}: {name} must be an object with an id URI")


def _check_lists(event: Mapping[str, Any], where: str) -> None:
    for name in ("epcList", "childEPCs", "inputEPCList", "outputEPCList"):
        value = event.get(name)
        if value is None:
            continue
        if not isinstance(value, list) or len(value) > MAX_LIST or not all(isinstance(v, str) and ":" in v for v in value):
            raise BadEvent(f"{where}: {name} must be a list of at most {MAX_LIST} URIs")
        for v in value:
            _known_identifier(v, f"{where}: {name}")
    for name in ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList"):
        value = event.get(name)
        if value is None:
            continue
        if not isinstance(value, list) or len(value) > MAX_LIST:
            raise BadEvent(f"{where}: {name} must be a list of at most {MAX_LIST} quantity elements")
        for q in value:
            if not isinstance(q, Mapping) or not isinstance(q.get("epcClass"), str):
                raise BadEvent(f"{where}: each {name} element needs an epcClass")
            _known_identifier(q["epcClass"], f"{where}: {name}")
            quantity = q.get("quantity")
            if quantity is not None and (
                isinstance(quantity, bool) or not isinstance(quantity, (int, float)) or not math.isfinite(quantity) or quantity < 0
            ):
                raise BadEvent(f"{where}: quantity must be a number of at least 0")
    parent = event.get("parentID")
    if parent is not None and not (isinstance(parent, str) and ":" in parent):
        raise BadEvent(f"{where}: parentID must be a URI")


@lru_cache(maxsize=4096)
def _identifier_problem(value: str) -> str | None:
    try:
        if value.startswith("urn:epc:"):
            epc_urn_to_dl(value)
        else:
            constrain_dl(value)
    except InvalidInput as exc:
        return exc.message
    except ValueError:
        return f"{value[:80]!r} is not an identifier"
    return None


def _known_identifier(value: str, where: str) -> None:
    # Surfaces malformed EPC URNs now, with the field they are in, rather than inside the hash.
    problem = _identifier_problem(value)
    if problem is not None:
        raise BadEvent(f"{where}: {problem}")


def _check_sensors(event: Mapping[str, Any], where: str, now: datetime) -> None:
    elements = event.get("sensorElementList")
    if elements is None:
        return
    if not isinstance(elements, list) or len(elements) > MAX_LIST:
        raise BadEvent(f"{where}: sensorElementList must be a list")
    for element in elements:
        if not isinstance(element, Mapping) or not isinstance(element.get("sensorReport"), list):
            raise BadEvent(f"{where}: each sensorElement needs a sensorReport list")
        meta = element.get("sensorMetadata", {})
        if not isinstance(meta, Mapping):
            raise BadEvent(f"{where}: sensorMetadata must be an object")
        start = parse_time(meta["startTime"], "sensorMetadata.startTime") if "startTime" in meta else None
        end = parse_time(meta["endTime"], "sensorMetadata.endTime") if "endTime" in meta else None
        if start and end and start > end:
            raise BadEvent(f"{where}: sensorMetadata startTime is after endTime")
        for report in element["sensorReport"]:
            if not isinstance(report, Mapping) or not isinstance(report.get("type"), str):
                raise BadEvent(f"{where}: each sensorReport needs a type")
            if "time" in report and parse_time(report["time"], "sensorReport.time") > now + CLOCK_SKEW:
                raise BadEvent(f"{where}: a sensorReport time is in the future")
            kind = report["type"].rsplit(":", 1)[-1].rsplit("/", 1)[-1]
            for field in ("value", "minValue", "maxValue", "meanValue"):
                if field not in report:
                    continue
                value = report[field]
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                    raise BadEvent(f"{where}: sensorReport {field} must be a finite number")
                limits = PLAUSIBLE.get((kind, str(report.get("uom", ""))))
                if limits and not limits[0] <= value <= limits[1]:
                    raise BadEvent(
                        f"{where}: {kind} {value} {report.get('uom')} is impossible (allowed {limits[0]}..{limits[1]})"
                    )
            if "minValue" in report and "maxValue" in report and report["minValue"] > report["maxValue"]:
                raise BadEvent(f"{where}: sensorReport minValue is above maxValue")


def _identifiers(event: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    for name in ("epcList", "childEPCs", "inputEPCList", "outputEPCList"):
        out.extend(v for v in event.get(name) or [] if isinstance(v, str))
    for name in ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList"):
        out.extend(q["epcClass"] for q in event.get(name) or [] if isinstance(q, Mapping) and isinstance(q.get("epcClass"), str))
    parent = event.get("parentID")
    if isinstance(parent, str):
        out.append(parent)
    return out


def document(bodies: list[str], created: datetime) -> dict[str, Any]:
    """An EPCISDocument of stored events (each keeps its own @context, as EPCIS 2.0 allows)."""
    return {
        "@context": [EPCIS_CONTEXT, dict(FIELDCAST_CONTEXT)],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": iso(created),
        "epcisBody": {"eventList": [json.loads(b) for b in bodies]},
    }
