"""The tree in memory: the same nodes and proofs as RFC 9162 computes, growing from stored nodes
only when they add up."""

from __future__ import annotations

import pytest

from server.domain.trace import merkle
from server.domain.trace.merkle_tree import MerkleTree, TreeMismatch
from tests.server.domain.trace.test_merkle import ref_mth, ref_path, ref_subproof

N = 64 + 17


def grown(data: list[bytes], batches: tuple[int, ...] = (1, 2, 3, 5, 8, 13, 21, 28)) -> tuple[MerkleTree, dict[merkle.Key, bytes]]:
    tree = MerkleTree()
    stored: dict[merkle.Key, bytes] = {}
    for batch in batches:
        stored.update(tree.append([merkle.leaf_hash(x) for x in data[tree.size : tree.size + batch]]))
    return tree, stored


def test_proofs_from_the_tree_in_memory_match_the_rfc_for_every_size() -> None:
    data = [f"leaf {i}".encode() for i in range(N)]
    tree, _ = grown(data)
    assert tree.size == N
    for n in range(1, N + 1):
        assert tree.root(n) == ref_mth(data[:n])
        for m in range(n):
            plan = merkle.inclusion_plan(m, n)
            assert merkle.assemble(plan, tree.nodes(merkle.keys_of(plan))) == ref_path(m, data[:n]), (m, n)
        for old in range(1, n):
            plan = merkle.consistency_plan(old, n)
            assert merkle.assemble(plan, tree.nodes(merkle.keys_of(plan))) == ref_subproof(old, data[:n], True)


def test_a_tree_grown_from_stored_nodes_equals_the_one_that_made_them() -> None:
    data = [f"leaf {i}".encode() for i in range(N)]
    original, stored = grown(data)
    copy = MerkleTree()
    for size in (1, 2, 7, 32, 33, N):  # steps of every shape
        copy.extend(size, stored)
    assert copy.size == N and copy.levels == original.levels
    assert copy.bytes_used == len(stored) * 32  # nothing but the hashes


@pytest.mark.parametrize("damage", ["inner", "leaf-missing", "leaf-short"])
def test_stored_nodes_that_do_not_add_up_are_refused(damage: str) -> None:
    data = [f"leaf {i}".encode() for i in range(N)]
    _, stored = grown(data)
    if damage == "inner":
        stored[(3, 2)] = bytes(32)
    elif damage == "leaf-missing":
        del stored[(0, 40)]
    else:
        stored[(0, 40)] = b"short"
    copy = MerkleTree()
    copy.extend(16, stored)
    with pytest.raises(TreeMismatch):
        copy.extend(N, stored)
    assert copy.size == 16  # unchanged by the refused step
    with pytest.raises(TreeMismatch, match="fewer"):
        copy.extend(8, stored)


def test_adding_an_append_made_elsewhere_only_applies_at_the_size_it_was_made_for() -> None:
    data = [f"leaf {i}".encode() for i in range(10)]
    tree, _ = grown(data, (4,))
    new = merkle.append(4, tree.frontier(), [merkle.leaf_hash(x) for x in data[4:10]])
    assert not tree.add(3, 9, new)  # made for another size: ignored
    assert tree.add(4, 10, new)
    assert tree.root() == ref_mth(data)
    assert not tree.add(4, 10, new)  # already taken
