"""Signed checkpoints in the C2SP signed-note format."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from server.domain.trace.checkpoints import BadCheckpoint, NoteSigner, open_checkpoint

SEED = bytes(range(32))
ORIGIN = "farm.example/trace/1"


def test_checkpoint_note_has_the_c2sp_shape_and_a_verifiable_signature() -> None:
    signer = NoteSigner(ORIGIN, SEED)
    root = hashlib.sha256(b"root").digest()
    note = signer.sign(ORIGIN, 42, root).note
    body, blank, signature_line = note.partition("\n\n")
    assert body + "\n" == f"{ORIGIN}\n42\n{base64.b64encode(root).decode()}\n"
    assert signature_line.startswith(f"\u2014 {ORIGIN} ") and signature_line.endswith("\n")
    blob = base64.b64decode(signature_line.rstrip("\n").rsplit(" ", 1)[1])
    # The key hash is SHA-256(name || "\n" || 0x01 || key)[:4] (the note spec's Ed25519 key id).
    expected_hash = hashlib.sha256(ORIGIN.encode() + b"\n\x01" + signer.public_key).digest()[:4]
    assert blob[:4] == expected_hash
    Ed25519PublicKey.from_public_bytes(signer.public_key).verify(blob[4:], (body + "\n").encode())
    opened = open_checkpoint(note, signer.verifier_key)
    assert (opened.origin, opened.size, opened.root) == (ORIGIN, 42, root)


def test_verifier_key_names_the_key_hash_and_the_key() -> None:
    signer = NoteSigner(ORIGIN, SEED)
    name, key_hash, encoded = signer.verifier_key.split("+", 2)
    assert name == ORIGIN and key_hash == signer.key_hash.hex()
    assert base64.b64decode(encoded) == b"\x01" + signer.public_key


@pytest.mark.parametrize(
    "tamper",
    [
        lambda n: n.replace("\n42\n", "\n43\n"),
        lambda n: n.replace(ORIGIN + "\n", "other.example/log\n", 1),
        lambda n: n[: n.index("\u2014")] + "\u2014 " + ORIGIN + " " + base64.b64encode(b"\0" * 68).decode() + "\n",
        lambda n: n.split("\n\n")[0] + "\n",
    ],
    ids=["size", "origin", "signature", "unsigned"],
)
def test_a_changed_checkpoint_does_not_open(tamper) -> None:  # type: ignore[no-untyped-def]
    signer = NoteSigner(ORIGIN, SEED)
    note = signer.sign(ORIGIN, 42, hashlib.sha256(b"root").digest()).note
    with pytest.raises(BadCheckpoint):
        open_checkpoint(tamper(note), signer.verifier_key)


def test_a_checkpoint_signed_by_another_key_does_not_open() -> None:
    mine = NoteSigner(ORIGIN, SEED)
    theirs = NoteSigner(ORIGIN, bytes(32))
    note = theirs.sign(ORIGIN, 1, bytes(32)).note
    with pytest.raises(BadCheckpoint):
        open_checkpoint(note, mine.verifier_key)
