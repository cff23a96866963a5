"""GS1 identifiers: check digits, GTIN/lot validation, EPC URNs and the canonical GS1 Digital Link.

The CBV 2.0 event hash compares identifiers in one form, the constrained canonical Digital Link
(`https://id.gs1.org/...`), so an event that says `urn:epc:id:sgtin:...` and one that says
`https://brand.example/01/...` about the same thing hash alike. trace.js mirrors this module.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import unquote, urlsplit

from ..errors import InvalidInput

CANONICAL_DL = "https://id.gs1.org"

# GS1 AI 10 (batch/lot) takes up to 20 characters of the GS1 "AI encodable character set 82".
_LOT = re.compile(r"^[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]{1,20}$")
# Primary keys a Digital Link path can start with, and the one qualifier kept with each (the most
# fine-grained level of identification, per CBV 2.0 section 8.9 rule 4).
_DIGITS = re.compile(r"^[0-9]+$")
_PRIMARY = {"00", "01", "253", "255", "401", "402", "414", "417", "8003", "8004", "8006", "8010", "8017", "8018"}
_QUALIFIERS = {"01": ("21", "10", "235"), "8006": ("21", "10"), "414": ("254",), "8010": ("8011",)}


class BadIdentifier(InvalidInput):
    code = "bad_identifier"


def check_digit(digits: str) -> str:
    """The GS1 mod-10 check digit for `digits` (the key without its last digit)."""
    if not _DIGITS.match(digits):
        raise BadIdentifier(f"a GS1 key has digits only, not {digits[:40]!r}")
    total = 0
    for i, ch in enumerate(reversed(digits)):
        total += int(ch) * (3 if i % 2 == 0 else 1)
    return str((10 - total % 10) % 10)


def normalise_gtin(gtin: str) -> str:
    """A GTIN-8/12/13/14 as the 14 digits Digital Link uses; raises if the check digit is wrong."""
    gtin = gtin.strip()
    if not _DIGITS.match(gtin) or len(gtin) not in (8, 12, 13, 14):
        raise BadIdentifier(f"GTIN must be 8, 12, 13 or 14 digits, not {gtin[:40]!r}")
    gtin = gtin.zfill(14)
    if check_digit(gtin[:-1]) != gtin[-1]:
        raise BadIdentifier(f"GTIN {gtin} has a wrong check digit (expected {check_digit(gtin[:-1])})")
    return gtin


def validate_lot(lot: str) -> str:
    if not _LOT.match(lot):
        raise BadIdentifier(
            "lot must be 1-20 characters: letters, digits and !\"%&'()*+,-./:;<=>?_ (GS1 AI 10)"
        )
    return lot


def batch_uri(gtin: str, lot: str) -> str:
    """The batch's canonical Digital Link, as used in quantityList epcClass."""
    return f"{CANONICAL_DL}/01/{gtin}/10/{_dl_escape(lot)}"


def _dl_escape(value: str) -> str:
    # Digital Link percent-encodes the characters that mean something in a URI path.
    return "".join(ch if ch.isalnum() or ch in "-._~!$'()*+,;=:@" and ch != "%" else f"%{ord(ch):02X}" for ch in value)


def _urn_parts(urn: str, scheme: str, count: int) -> list[str]:
    parts = urn[len(scheme):].split(".")
    if len(parts) != count:
        raise BadIdentifier(f"malformed EPC URI {urn[:80]!r}")
    return parts


def epc_urn_to_dl(urn: str) -> str | None:
    """The canonical Digital Link for an EPC (class/pattern) URN, or None if it is not one we know."""
    try:
        if urn.startswith("urn:epc:id:sgtin:"):
            cp, item, serial = _urn_parts(urn, "urn:epc:id:sgtin:", 3)
            return f"{CANONICAL_DL}/01/{_gtin14(cp, item)}/21/{serial}"
        if urn.startswith("urn:epc:class:lgtin:"):
            cp, item, lot = _urn_parts(urn, "urn:epc:class:lgtin:", 3)
            return f"{CANONICAL_DL}/01/{_gtin14(cp, item)}/10/{lot}"
        if urn.startswith("urn:epc:idpat:sgtin:"):
            cp, item, _ = _urn_parts(urn, "urn:epc:idpat:sgtin:", 3)
            return f"{CANONICAL_DL}/01/{_gtin14(cp, item)}"
        if urn.startswith("urn:epc:id:sscc:"):
            cp, ref = _urn_parts(urn, "urn:epc:id:sscc:", 2)
            body = ref[:1] + cp + ref[1:]
            return f"{CANONICAL_DL}/00/{body}{check_digit(body)}"
        if urn.startswith("urn:epc:id:sgln:"):
            cp, loc, ext = _urn_parts(urn, "urn:epc:id:sgln:", 3)
            gln = cp + loc
            out = f"{CANONICAL_DL}/414/{gln}{check_digit(gln)}"
            return out if ext == "0" else f"{out}/254/{ext}"
        if urn.startswith("urn:epc:id:pgln:"):
            cp, party = _urn_parts(urn, "urn:epc:id:pgln:", 2)
            return f"{CANONICAL_DL}/417/{cp + party}{check_digit(cp + party)}"
        if urn.startswith("urn:epc:id:giai:"):
            cp, asset = _urn_parts(urn, "urn:epc:id:giai:", 2)
            return f"{CANONICAL_DL}/8004/{cp}{asset}"
        if urn.startswith("urn:epc:id:grai:"):
            cp, kind, serial = _urn_parts(urn, "urn:epc:id:grai:", 3)
            body = "0" + cp + kind
            return f"{CANONICAL_DL}/8003/{body}{check_digit(body)}{serial}"
        if urn.startswith("urn:epc:id:gdti:"):
            cp, kind, serial = _urn_parts(urn, "urn:epc:id:gdti:", 3)
            body = cp + kind
            return f"{CANONICAL_DL}/253/{body}{check_digit(body)}{serial}"
    except (ValueError, IndexError) as exc:
        raise BadIdentifier(f"malformed EPC URI {urn[:80]!r}") from exc
    return None


def _gtin14(company_prefix: str, indicator_item: str) -> str:
    body = indicator_item[:1] + company_prefix + indicator_item[1:]
    if len(body) != 13 or not _DIGITS.match(body):
        raise BadIdentifier(f"an SGTIN needs 13 digits of company prefix and item reference, got {body!r}")
    return body + check_digit(body)


def constrain_dl(uri: str) -> str | None:
    """A GS1 Digital Link URI on any domain -> the constrained canonical form, or None if not a DL."""
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https"):
        return None
    segments = parts.path.split("/")
    for i, segment in enumerate(segments):
        if segment in _PRIMARY and i + 1 < len(segments):
            pairs = segments[i:]
            if len(pairs) % 2:
                pairs = pairs[:-1]
            values = {pairs[j]: pairs[j + 1] for j in range(0, len(pairs), 2)}
            key = segment
            value = values[key]
            if key == "01" and _DIGITS.match(value) and len(value) in (8, 12, 13):
                value = value.zfill(14)
            out = f"{CANONICAL_DL}/{key}/{value}"
            for qualifier in _QUALIFIERS.get(key, ()):
                if qualifier in values:
                    out += f"/{qualifier}/{values[qualifier]}"
                    break
            return out
    return None


@lru_cache(maxsize=4096)
def batch_of(uri: str) -> tuple[str, str] | None:
    """(gtin, lot) if `uri` names a batch (LGTIN class URN or a /01/.../10/... Digital Link)."""
    dl = epc_urn_to_dl(uri) if uri.startswith("urn:epc:") else constrain_dl(uri)
    if dl is None:
        return None
    m = re.match(r"^https://id\.gs1\.org/01/(\d{14})/10/([^/]+)$", dl)
    if not m:
        return None
    return m.group(1), unquote(m.group(2))
