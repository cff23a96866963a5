"""Sensor devices: an id that is also its MQTT topic segment, and a per-device secret token."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from ..accounts.tokens import hash_secret, new_secret, secret_matches
from ..errors import InvalidInput, NotFound, Unauthorized

_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")
KINDS = ("field", "store", "truck")


class UnknownDevice(NotFound):
    code = "unknown_device"


class BadDeviceToken(Unauthorized):
    code = "bad_device_token"


class BadDevice(InvalidInput):
    code = "bad_device"


@dataclass(frozen=True)
class Device:
    id: str
    name: str
    kind: str
    token_hash: str
    created_at: datetime
    revoked: bool = False
    simulated: bool = False

    @property
    def uri(self) -> str:
        """How EPCIS events name the device (sensorMetadata.deviceID, AssociationEvent.parentID)."""
        return f"urn:fieldcast:device:{self.id}"

    def check(self, token: str | None) -> None:
        if self.revoked:
            raise BadDeviceToken(f"device {self.id}'s token was revoked")
        if not token or not secret_matches(token, self.token_hash):
            raise BadDeviceToken(f"wrong token for device {self.id}")


def validate_device_id(device_id: str) -> str:
    if not _ID.match(device_id):
        raise BadDevice("a device id is 2-40 lowercase letters, digits and dashes (it is part of the MQTT topic)")
    return device_id


def new_device(device_id: str, name: str, kind: str, now: datetime, simulated: bool = False) -> tuple[Device, str]:
    """A device and its token (shown once; only its hash is kept)."""
    if kind not in KINDS:
        raise BadDevice(f"kind must be one of {', '.join(KINDS)}")
    token = new_secret("fcd")
    return Device(validate_device_id(device_id), name.strip(), kind, hash_secret(token), now, simulated=simulated), token


def device_id_from_uri(uri: str) -> str | None:
    prefix = "urn:fieldcast:device:"
    return uri[len(prefix):] if uri.startswith(prefix) else None
