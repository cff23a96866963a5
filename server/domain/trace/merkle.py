"""The append-only Merkle tree of RFC 9162 (Certificate Transparency v2), section 2.1.

Stored as the hashes of its complete subtrees: node (level, index) covers leaves
[index * 2**level, (index + 1) * 2**level). Those never change once written, so appending writes
about two rows per leaf, and any root, inclusion proof or consistency proof needs O(log n) of them,
named up front by the `*_plan` functions so the store can fetch them in one read. Proof shapes and
verification follow RFC 9162 sections 2.1.3 and 2.1.4 exactly; web/js/merkle.js verifies the same.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

from ..errors import InvalidInput

Key = tuple[int, int]  # (level, index)
# A proof item is the hash of one range of leaves; a range is a run of complete subtrees, the
# hash of which is their right fold (RFC 9162's MTH splits at the largest power of two below n).
Plan = list[list[Key]]

EMPTY_ROOT = hashlib.sha256(b"").digest()


class BadProofRequest(InvalidInput):
    code = "bad_proof_request"


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _largest_power_below(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def decompose(start: int, size: int) -> list[Key]:
    """Leaves [start, start+size) as complete subtrees, left to right (start aligned as RFC ranges are)."""
    keys: list[Key] = []
    offset = start
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            keys.append((level, offset >> level))
            offset += 1 << level
    return keys


def fold(hashes: Sequence[bytes]) -> bytes:
    value = hashes[-1]
    for left in reversed(hashes[:-1]):
        value = node_hash(left, value)
    return value


def root_plan(size: int) -> list[Key]:
    return decompose(0, size)


def inclusion_plan(index: int, size: int) -> Plan:
    """RFC 9162 2.1.3.1 PATH(m, D[n]) as ranges of complete subtrees, leaf end first."""
    if not 0 <= index < size:
        raise BadProofRequest(f"leaf {index} is not in a tree of size {size}")
    plan: Plan = []
    start, n, m = 0, size, index
    stack: list[list[Key]] = []
    while n > 1:
        k = _largest_power_below(n)
        if m < k:
            stack.append(decompose(start + k, n - k))
            n = k
        else:
            stack.append(decompose(start, k))
            start, n, m = start + k, n - k, m - k
    plan.extend(reversed(stack))
    return plan


def consistency_plan(old: int, new: int) -> Plan:
    """RFC 9162 2.1.4.1 PROOF(m, D[n]) as ranges of complete subtrees."""
    if not 0 < old <= new:
        raise BadProofRequest(f"no consistency proof from size {old} to {new}")
    if old == new:
        return []
    stack: list[list[Key]] = []
    start, n, m, complete = 0, new, old, True
    while m != n:
        k = _largest_power_below(n)
        if m <= k:
            stack.append(decompose(start + k, n - k))
            n = k
        else:
            stack.append(decompose(start, k))
            start, n, m, complete = start + k, n - k, m - k, False
    tail: Plan = [] if complete else [decompose(start, n)]
    return tail + list(reversed(stack))


def keys_of(plan: Plan) -> set[Key]:
    return {key for item in plan for key in item}


def assemble(plan: Plan, nodes: Mapping[Key, bytes]) -> list[bytes]:
    return [fold([nodes[key] for key in item]) for item in plan]


def root_from(size: int, nodes: Mapping[Key, bytes]) -> bytes:
    if size == 0:
        return EMPTY_ROOT
    return fold([nodes[key] for key in root_plan(size)])


def frontier(size: int) -> list[Key]:
    """The complete subtrees a new leaf at index `size` may be joined with: the root plan of size."""
    return decompose(0, size)


def append(size: int, known: Mapping[Key, bytes], leaves: Sequence[bytes]) -> dict[Key, bytes]:
    """The new nodes when `leaves` (leaf hashes) are appended to a tree of `size` whose frontier is known."""
    nodes = dict(known)
    new: dict[Key, bytes] = {}
    for offset, value in enumerate(leaves):
        index, level = size + offset, 0
        nodes[(0, index)] = new[(0, index)] = value
        while index & 1:
            value = node_hash(nodes[(level, index - 1)], value)
            index >>= 1
            level += 1
            nodes[(level, index)] = new[(level, index)] = value
    return new


# -- verification (RFC 9162 2.1.3.2 and 2.1.4.2) --------------------------------------------------


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> bool:
    if old > new or old == 0:
        return False
    if old == new:
        return not proof and old_root == new_root
    path = list(proof)
    if old & (old - 1) == 0:  # a power of two: the old root is the first node
        path.insert(0, old_root)
    if not path:
        return False
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root
