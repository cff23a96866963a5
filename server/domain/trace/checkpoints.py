"""Signed checkpoints of the log: C2SP tlog-checkpoint bodies in C2SP signed-note envelopes, Ed25519.

    <origin>\\n<tree size>\\n<base64 root hash>\\n
    \\n
    — <key name> <base64(key hash (4 bytes) || Ed25519 signature)>\\n

The key hash is the first four bytes of SHA-256(key name || "\\n" || 0x01 || public key), and the
signature covers the body (the text before the blank line, final newline included). The verifier
key, the line anyone needs to check a checkpoint with their own tools, is
`<name>+<hex key hash>+<base64(0x01 || public key)>`.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ..errors import InvalidInput

ED25519_ALG = 0x01
SIGNATURE_PREFIX = "\u2014 "  # an em dash and a space


class BadCheckpoint(InvalidInput):
    code = "bad_checkpoint"


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    note: str  # the whole signed note, exactly as published
    signed_at: datetime | None = None

    @property
    def body(self) -> str:
        return checkpoint_body(self.origin, self.size, self.root)


def checkpoint_body(origin: str, size: int, root: bytes) -> str:
    return f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n"


def key_hash(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([ED25519_ALG]) + public_key).digest()[:4]


class NoteSigner:
    """The log's signing key. `name` is the key name in signature lines (the log's origin)."""

    def __init__(self, name: str, private_key: bytes) -> None:
        if not name or any(c.isspace() for c in name) or "+" in name:
            raise ValueError("a note key name has no spaces and no '+'")
        self.name = name
        self._key = Ed25519PrivateKey.from_private_bytes(private_key)
        self.public_key = self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.key_hash = key_hash(name, self.public_key)

    @property
    def verifier_key(self) -> str:
        encoded = base64.b64encode(bytes([ED25519_ALG]) + self.public_key).decode()
        return f"{self.name}+{self.key_hash.hex()}+{encoded}"

    def sign(self, origin: str, size: int, root: bytes, signed_at: datetime | None = None) -> Checkpoint:
        body = checkpoint_body(origin, size, root)
        signature = self._key.sign(body.encode())
        line = f"{SIGNATURE_PREFIX}{self.name} {base64.b64encode(self.key_hash + signature).decode()}\n"
        return Checkpoint(origin, size, root, body + "\n" + line, signed_at)


def new_private_key() -> bytes:
    from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

    return Ed25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


def parse_verifier_key(vkey: str) -> tuple[str, bytes, bytes]:
    """(name, key hash, public key) from `<name>+<hex key hash>+<base64(alg || key)>`."""
    try:
        name, hash_hex, encoded = vkey.split("+", 2)
        raw = base64.b64decode(encoded, validate=True)
    except ValueError as exc:
        raise BadCheckpoint("malformed verifier key") from exc
    if len(raw) != 33 or raw[0] != ED25519_ALG or key_hash(name, raw[1:]).hex() != hash_hex:
        raise BadCheckpoint("verifier key is not an Ed25519 note key or its hash does not match")
    return name, bytes.fromhex(hash_hex), raw[1:]


def open_checkpoint(note: str, vkey: str) -> Checkpoint:
    """Check a signed checkpoint against a verifier key; raises BadCheckpoint saying what failed."""
    name, khash, public_key = parse_verifier_key(vkey)
    body, sep, signatures = note.partition("\n\n")
    if not sep or not body:
        raise BadCheckpoint("a signed note has a body, a blank line and signature lines")
    body += "\n"
    lines = body.split("\n")[:-1]
    if len(lines) < 3:
        raise BadCheckpoint("a checkpoint body has an origin, a size and a root hash")
    origin, size_text, root_text = lines[0], lines[1], lines[2]
    if not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
        raise BadCheckpoint("checkpoint tree size is not a decimal number")
    try:
        root = base64.b64decode(root_text, validate=True)
    except ValueError as exc:
        raise BadCheckpoint("checkpoint root hash is not base64") from exc
    if len(root) != 32:
        raise BadCheckpoint("checkpoint root hash is not 32 bytes")
    for line in signatures.split("\n"):
        if not line.startswith(SIGNATURE_PREFIX):
            continue
        signer, _, blob = line[len(SIGNATURE_PREFIX):].partition(" ")
        try:
            raw = base64.b64decode(blob, validate=True)
        except ValueError:
            continue
        if signer != name or raw[:4] != khash:
            continue
        try:
            Ed25519PublicKey.from_public_bytes(public_key).verify(raw[4:], body.encode())
        except InvalidSignature as exc:
            raise BadCheckpoint("checkpoint signature does not verify") from exc
        return Checkpoint(origin, int(size_text), root, note)
    raise BadCheckpoint(f"checkpoint is not signed by {name}")
