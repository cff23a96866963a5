"""The EPCIS Event Hash ID (GS1 CBV 2.0, section 8.9): a syntax-independent fingerprint of an event.

The event's fields are written in the canonical property order into a pre-hash string (values
normalised: UTC timestamps with milliseconds, numbers without trailing zeros, bare CBV words and
CURIEs expanded to URIs, EPC URNs and Digital Links in constrained canonical Digital Link form;
list members and user extensions sorted), hashed with SHA-256 and written as an RFC 6920 `ni` URI:
`ni:///sha-256;<hex>?ver=CBV2.0`. `web/js/epcis-hash.js` is the same algorithm for the browser.

eventID, recordTime and errorDeclaration are not part of the pre-hash, so an
error declaration hashes to the id of the event it declares wrong (that is how CBV pairs them).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

from ..errors import InvalidInput
from .identifiers import constrain_dl, epc_urn_to_dl

CBV = "https://ref.gs1.org/cbv/"
GS1_VOC = "https://gs1.org/voc/"
BUILTIN_PREFIXES = {"gs1": GS1_VOC, "cbv": CBV, "epcis": "https://ref.gs1.org/epcis/"}
_URN_VOCAB = {
    "urn:epcglobal:cbv:bizstep:": CBV + "BizStep-",
    "urn:epcglobal:cbv:disp:": CBV + "Disp-",
    "urn:epcglobal:cbv:btt:": CBV + "BTT-",
    "urn:epcglobal:cbv:sdt:": CBV + "SDT-",
    "urn:epcglobal:cbv:er:": CBV + "ER-",
}
_TIME = re.compile(
    r"^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?(Z|[+-][0-9]{2}:[0-9]{2})$"
)


_CANONICAL_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z\Z")


class BadEvent(InvalidInput):
    code = "bad_epcis"


# (field, bare-word vocabulary prefix or None, children order or None). Lists are marked by the
# element label that repeats inside them ("epc", "quantityElement", ...; "" for unlabelled).
_QUANTITY = ["epcClass", "quantity", "uom"]
_METADATA = ["time", "startTime", "endTime", "deviceID", "deviceMetadata", "rawData", "dataProcessingMethod", "bizRules"]
_REPORT = [
    "type", "exception", "deviceID", "deviceMetadata", "rawData", "dataProcessingMethod", "time",
    "microorganism", "chemicalSubstance", "value", "component", "stringValue", "booleanValue",
    "hexBinaryValue", "uriValue", "minValue", "maxValue", "meanValue", "sDev", "percRank", "percValue",
    "uom", "coordinateReferenceSystem",
]
_ORDER = [
    "eventTime", "eventTimeZoneOffset", "certificationInfo", "epcList", "parentID", "inputEPCList", "childEPCs",
    "quantityList", "childQuantityList", "inputQuantityList", "outputEPCList", "outputQuantityList",
    "action", "transformationID", "bizStep", "disposition", "persistentDisposition", "readPoint",
    "bizLocation", "bizTransactionList", "sourceList", "destinationList", "sensorElementList", "ilmd",
]
_EPC_LISTS = {"epcList", "inputEPCList", "childEPCs", "outputEPCList"}
_QUANTITY_LISTS = {"quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList"}
_TYPED_LISTS = {"bizTransactionList": ("bizTransaction", "BTT-"), "sourceList": ("source", "SDT-"), "destinationList": ("destination", "SDT-")}
_NOT_HASHED = {"type", "eventID", "recordTime", "errorDeclaration", "@context"}


def event_hash_id(event: Mapping[str, Any], context: Mapping[str, str] | None = None) -> str:
    """The `ni:///sha-256;...?ver=CBV2.0` id of `event`; `context` maps extra CURIE prefixes."""
    digest = hashlib.sha256(pre_hash(event, context).encode("utf-8")).hexdigest()
    return f"ni:///sha-256;{digest}?ver=CBV2.0"


def context_prefixes(context: Any) -> dict[str, str]:
    """CURIE prefixes declared in a JSON-LD @context (string entries are remote contexts: skipped)."""
    out: dict[str, str] = {}
    items = context if isinstance(context, list) else [context]
    for item in items:
        if isinstance(item, Mapping):
            for key, value in item.items():
                if isinstance(value, str) and not key.startswith("@"):
                    out[key] = value
    return out


def pre_hash(event: Mapping[str, Any], context: Mapping[str, str] | None = None) -> str:
    prefixes = {**BUILTIN_PREFIXES, **(context or {}), **context_prefixes(event.get("@context"))}
    h = _Hasher(prefixes)
    kind = event.get("type")
    if not isinstance(kind, str):
        raise BadEvent("an event needs a type")
    out = [f"eventType={kind}"]
    for name in _ORDER:
        if name in event and event[name] is not None:
            out.append(h.field(name, event[name]))
    extensions = [h.extension(k, v) for k, v in event.items() if k not in _ORDER and k not in _NOT_HASHED and ":" in k]
    out.extend(sorted(extensions))
    return "".join(out)


def _canonical_moment(value: Any) -> datetime | None:
    """The fast path for what most systems send, UTC with milliseconds (`...T02:00:00.000Z`):
    the C ISO parser checks the date; anything else takes the general path below."""
    if isinstance(value, str) and len(value) == 24 and _CANONICAL_TIME.match(value):
        try:
            return datetime.fromisoformat(value[:23]).replace(tzinfo=UTC)
        except ValueError as exc:
            raise BadEvent(f"not a real date/time: {value!r}") from exc
    return None


def utc_moment(value: Any) -> datetime:
    """An xsd:dateTimeStamp as a UTC datetime rounded to milliseconds (the 4th decimal rounds half up)."""
    canonical = _canonical_moment(value)
    if canonical is not None:
        return canonical
    m = _TIME.match(value.strip()) if isinstance(value, str) else None
    if m is None:
        raise BadEvent(f"not a timestamp with a time zone: {str(value)[:60]!r}")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    fraction = (m.group(7) or "") + "0000"
    millis = int(fraction[:3]) + (1 if fraction[3] >= "5" else 0)
    zone = m.group(8)
    offset = 0 if zone == "Z" else (1 if zone[0] == "+" else -1) * (int(zone[1:3]) * 60 + int(zone[4:6]))
    try:
        base = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError as exc:
        raise BadEvent(f"not a real date/time: {value!r}") from exc
    return base + timedelta(minutes=-offset, milliseconds=millis)


def format_time(value: Any) -> str:
    """An xsd:dateTimeStamp in UTC with exactly three decimals."""
    if _canonical_moment(value) is not None:
        return str(value)
    t = utc_moment(value)
    return (f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}."
            f"{t.microsecond // 1000:03d}Z")


def format_number(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise BadEvent("numbers must be finite")
        text = format(Decimal(repr(value)).normalize(), "f")
        return text
    text = str(value).strip()
    try:
        return format(Decimal(text).normalize(), "f")
    except ArithmeticError:
        return text


@lru_cache(maxsize=4096)
def _urn_dl(text: str) -> str:
    return epc_urn_to_dl(text) or text


@lru_cache(maxsize=4096)
def _web_dl(text: str) -> str:
    return constrain_dl(text) or text


class _Hasher:
    def __init__(self, prefixes: Mapping[str, str]) -> None:
        self.prefixes = prefixes

    # -- values ---------------------------------------------------------------------------------

    def uri(self, value: Any, bare_prefix: str | None = None) -> str:
        text = str(value).strip()
        for urn, web in _URN_VOCAB.items():
            if text.startswith(urn):
                return web + text[len(urn):]
        if text.startswith("urn:epc:"):
            return _urn_dl(text)
        if text.startswith(("http://", "https://")):
            return _web_dl(text)
        prefix, sep, rest = text.partition(":")
        if sep and prefix in self.prefixes:
            return self.prefixes[prefix] + rest
        if not sep and bare_prefix is not None and text:
            return bare_prefix + text
        return text

    def key(self, name: str) -> str:
        prefix, sep, local = name.partition(":")
        if sep and prefix in self.prefixes:
            return "{" + self.prefixes[prefix] + "}" + local
        return name

    def scalar(self, name: str, value: Any) -> str:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return format_number(value)
        if isinstance(value, bool):
            return format_number(value)
        if name in ("eventTime", "time", "startTime", "endTime"):
            return format_time(value)
        if name == "bizStep":
            return self.uri(value, CBV + "BizStep-")
        if name in ("disposition", "set", "unset"):
            return self.uri(value, CBV + "Disp-")
        if name == "exception":
            return self.uri(value, GS1_VOC)
        if name == "component":
            return self.uri(value, CBV + "Comp-")
        if name in ("epc", "epcClass", "parentID", "id", "transformationID", "deviceID", "deviceMetadata",
                    "rawData", "dataProcessingMethod", "bizRules", "microorganism", "chemicalSubstance",
                    "uriValue", "coordinateReferenceSystem", "source", "destination", "certificationInfo"):
            return self.uri(value)
        if name in ("quantity", "value", "minValue", "maxValue", "meanValue", "sDev", "percRank", "percValue"):
            return format_number(value)
        return str(value).strip()

    # -- structure ------------------------------------------------------------------------------

    def field(self, name: str, value: Any) -> str:
        if name in _EPC_LISTS:
            items = sorted(f"epc={self.scalar('epc', v)}" for v in _as_list(name, value))
            return name + "".join(items) if items else ""
        if name in _QUANTITY_LISTS:
            items = sorted("quantityElement" + self.ordered(q, _QUANTITY) for q in _objects(name, value))
            return name + "".join(items) if items else ""
        if name in _TYPED_LISTS:
            label, vocab = _TYPED_LISTS[name]
            items = []
            for entry in _objects(name, value):
                kind = f"type={self.uri(entry['type'], CBV + vocab)}" if entry.get("type") else ""
                items.append(kind + f"{label}={self.scalar(label, entry.get(label, ''))}")
            return name + "".join(sorted(items)) if items else ""
        if name == "persistentDisposition":
            if not isinstance(value, Mapping):
                raise BadEvent("persistentDisposition must be an object")
            out = ""
            for part in ("set", "unset"):
                values = sorted(f"{part}={self.scalar(part, v)}" for v in _as_list(part, value.get(part, [])))
                out += "".join(values)
            return name + out if out else ""
        if name in ("readPoint", "bizLocation"):
            if not isinstance(value, Mapping):
                raise BadEvent(f"{name} must be an object with an id")
            return name + self.ordered(value, ["id"])
        if name == "sensorElementList":
            elements = []
            for element in _objects(name, value):
                text = "sensorElement"
                if isinstance(element.get("sensorMetadata"), Mapping):
                    text += "sensorMetadata" + self.ordered(element["sensorMetadata"], _METADATA)
                reports = sorted("sensorReport" + self.ordered(r, _REPORT) for r in _objects("sensorReport", element.get("sensorReport", [])))
                text += "".join(reports)
                text += "".join(sorted(self.extension(k, v) for k, v in element.items() if ":" in k))
                elements.append(text)
            return name + "".join(sorted(elements)) if elements else ""
        if name == "certificationInfo":
            values = value if isinstance(value, list) else [value]
            return "".join(sorted(f"certificationInfo={self.scalar(name, v)}" for v in values))
        if name == "ilmd":
            if not isinstance(value, Mapping):
                raise BadEvent("ilmd must be an object")
            entries = sorted(self.extension(k, v) for k, v in value.items())
            return name + "".join(entries) if entries else ""
        return f"{name}={self.scalar(name, value)}"

    def ordered(self, obj: Mapping[str, Any], order: list[str]) -> str:
        out = ""
        for key in order:
            if key in obj and obj[key] is not None:
                if key == "type":
                    out += f"type={self.uri(obj[key], GS1_VOC)}"
                else:
                    out += f"{key}={self.scalar(key, obj[key])}"
        out += "".join(sorted(self.extension(k, v) for k, v in obj.items() if k not in order and ":" in k))
        return out

    def extension(self, name: str, value: Any) -> str:
        key = self.key(name)
        if isinstance(value, Mapping):
            return key + "".join(sorted(self.extension(k, v) for k, v in value.items() if not k.startswith("@")))
        if isinstance(value, list):
            return "".join(sorted(self.extension(name, v) for v in value))
        if isinstance(value, (int, float)):
            return f"{key}={format_number(value)}"
        if value is None:
            return f"{key}="
        return f"{key}={str(value).strip()}"


def _as_list(name: str, value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise BadEvent(f"{name} must be a list")
    return value


def _objects(name: str, value: Any) -> list[Mapping[str, Any]]:
    items = _as_list(name, value)
    if not all(isinstance(v, Mapping) for v in items):
        raise BadEvent(f"{name} must be a list of objects")
    return items
