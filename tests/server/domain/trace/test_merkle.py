"""The Merkle log against an independent, literal transcription of RFC 9162 section 2.1."""

from __future__ import annotations

import hashlib

import pytest

from server.domain.trace import merkle


# -- the reference: RFC 9162 2.1.1, 2.1.3.1 and 2.1.4.1 written out recursively, on the raw leaves --

def ref_mth(d: list[bytes]) -> bytes:
    n = len(d)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:])).digest()


def ref_path(m: int, d: list[bytes]) -> list[bytes]:
    n = len(d)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return ref_path(m, d[:k]) + [ref_mth(d[k:])]
    return ref_path(m - k, d[k:]) + [ref_mth(d[:k])]


def ref_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [ref_mth(d)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return ref_subproof(m, d[:k], b) + [ref_mth(d[k:])]
    return ref_subproof(m - k, d[k:], False) + [ref_mth(d[:k])]


N = 64 + 17  # crosses several powers of two


@pytest.fixture(scope="module")
def tree() -> tuple[list[bytes], dict[merkle.Key, bytes]]:
    data = [f"leaf {i}".encode() for i in range(N)]
    nodes: dict[merkle.Key, bytes] = {}
    size = 0
    # Appended in uneven batches, as captures arrive.
    for batch in (1, 2, 3, 5, 8, 13, 21, 28):
        chunk = data[size : size + batch]
        known = {k: nodes[k] for k in merkle.frontier(size)}
        nodes.update(merkle.append(size, known, [merkle.leaf_hash(x) for x in chunk]))
        size += len(chunk)
    assert size == N
    return data, nodes


def test_root_of_every_size_matches_the_rfc(tree: tuple[list[bytes], dict[merkle.Key, bytes]]) -> None:
    data, nodes = tree
    assert merkle.root_from(0, nodes) == ref_mth([])
    for n in range(1, N + 1):
        assert merkle.root_from(n, nodes) == ref_mth(data[:n]), n


def test_inclusion_proofs_for_every_leaf_of_every_size(tree: tuple[list[bytes], dict[merkle.Key, bytes]]) -> None:
    data, nodes = tree
    for n in range(1, N + 1):
        root = ref_mth(data[:n])
        for m in range(n):
            proof = merkle.assemble(merkle.inclusion_plan(m, n), nodes)
            assert proof == ref_path(m, data[:n]), (m, n)
            assert merkle.verify_inclusion(m, n, merkle.leaf_hash(data[m]), proof, root)


def test_consistency_proofs_for_every_pair_of_sizes(tree: tuple[list[bytes], dict[merkle.Key, bytes]]) -> None:
    data, nodes = tree
    for n in range(1, N + 1):
        for m in range(1, n + 1):
            proof = merkle.assemble(merkle.consistency_plan(m, n), nodes)
            assert proof == (ref_subproof(m, data[:n], True) if m < n else []), (m, n)
            assert merkle.verify_consistency(m, n, ref_mth(data[:m]), ref_mth(data[:n]), proof)


def test_a_changed_leaf_or_proof_node_fails_verification(tree: tuple[list[bytes], dict[merkle.Key, bytes]]) -> None:
    data, nodes = tree
    n = N
    root = ref_mth(data)
    for m in (0, 5, 40, N - 1):
        proof = merkle.assemble(merkle.inclusion_plan(m, n), nodes)
        assert not merkle.verify_inclusion(m, n, merkle.leaf_hash(b"forged"), proof, root)
        for i in range(len(proof)):
            bent = list(proof)
            bent[i] = bytes(32)
            assert not merkle.verify_inclusion(m, n, merkle.leaf_hash(data[m]), bent, root)
        assert not merkle.verify_inclusion(m, n, merkle.leaf_hash(data[m]), proof[:-1], root)
        assert not merkle.verify_inclusion((m + 1) % n, n, merkle.leaf_hash(data[m]), proof, root)


def test_a_rewritten_history_fails_consistency(tree: tuple[list[bytes], dict[merkle.Key, bytes]]) -> None:
    data, nodes = tree
    forged = list(data)
    forged[7] = b"rewritten"
    for m in (8, 9, 16, 30, N - 1):
        proof = merkle.assemble(merkle.consistency_plan(m, N), nodes)
        assert merkle.verify_consistency(m, N, ref_mth(data[:m]), ref_mth(data), proof)
        assert not merkle.verify_consistency(m, N, ref_mth(forged[:m]), ref_mth(data), proof), m


def test_proof_requests_outside_the_tree_are_refused() -> None:
    with pytest.raises(merkle.BadProofRequest):
        merkle.inclusion_plan(5, 5)
    with pytest.raises(merkle.BadProofRequest):
        merkle.consistency_plan(0, 5)
    with pytest.raises(merkle.BadProofRequest):
        merkle.consistency_plan(6, 5)


def test_a_proof_reads_only_logarithmically_many_nodes() -> None:
    size = 1_000_000
    for index in (0, 1, 499_999, 999_999, 524_288):
        keys = merkle.keys_of(merkle.inclusion_plan(index, size))
        assert len(keys) <= 2 * size.bit_length()
