"""The log's Merkle tree held in memory: every complete-subtree hash, so proofs are pure computation.

Level L is one bytearray of 32-byte hashes, node (L, i) at offset 32 * i: a tree of n leaves holds
about 2n hashes (64 MB at a million leaves) with no per-node object. Nodes are only ever added, in
order, so a copy can follow the stored log by extending it. The database stays the source of truth:
`extend` takes the stored leaves and the stored inner nodes, recomputes the inner nodes itself and
refuses (`TreeMismatch`) anything that does not add up, so a damaged store is noticed on loading.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from . import merkle
from .merkle import Key

HASH = 32


class TreeMismatch(Exception):
    """Stored nodes that are missing, out of place or not the hash of their children."""


class MerkleTree:
    def __init__(self) -> None:
        self.levels: list[bytearray] = []
        self.size = 0

    def get(self, key: Key) -> bytes | None:
        level, index = key
        if level >= len(self.levels) or index < 0:
            return None
        start = index * HASH
        data = self.levels[level]
        if start + HASH > len(data):
            return None
        return bytes(data[start : start + HASH])

    def nodes(self, keys: Iterable[Key]) -> dict[Key, bytes]:
        """The hashes of `keys` this tree has (a key it lacks is simply left out)."""
        out: dict[Key, bytes] = {}
        for key in keys:
            value = self.get(key)
            if value is not None:
                out[key] = value
        return out

    def frontier(self) -> dict[Key, bytes]:
        return self.nodes(merkle.frontier(self.size))

    def root(self, size: int | None = None) -> bytes:
        size = self.size if size is None else size
        if size > self.size:
            raise ValueError(f"the tree has {self.size} leaves, not {size}")
        return merkle.root_from(size, self.nodes(merkle.root_plan(size)))

    def append(self, leaves: list[bytes]) -> dict[Key, bytes]:
        """Append leaf hashes; returns the new complete-subtree nodes (what a store must keep)."""
        new = merkle.append(self.size, self.frontier(), leaves)
        self.add(self.size, self.size + len(leaves), new)
        return new

    def add(self, size: int, new_size: int, new: Mapping[Key, bytes]) -> bool:
        """Take the nodes made by appending leaves [size, new_size), unless the tree has moved on.

        Returns False (and changes nothing) when this tree is not at `size`: someone else already
        brought it further, or it is behind and must `extend` first.
        """
        if size != self.size:
            return False
        for level in range((new_size).bit_length()):
            first, last = size >> level, new_size >> level
            if first == last:
                continue
            if level == len(self.levels):
                self.levels.append(bytearray())
            data = self.levels[level]
            for index in range(first, last):
                data += new[(level, index)]
        self.size = new_size
        return True

    def extend(self, new_size: int, stored: Mapping[Key, bytes]) -> None:
        """Grow to `new_size` from stored nodes: the leaves are taken, every inner node recomputed
        and compared with the stored one. Raises TreeMismatch (the tree unchanged) on any difference."""
        if new_size < self.size:
            raise TreeMismatch(f"the stored log has {new_size} entries, fewer than the {self.size} already seen")
        if new_size == self.size:
            return
        leaves = []
        for index in range(self.size, new_size):
            leaf = stored.get((0, index))
            if leaf is None or len(leaf) != HASH:
                raise TreeMismatch(f"stored leaf {index} is missing or malformed")
            leaves.append(leaf)
        new = merkle.append(self.size, self.frontier(), leaves)
        for key, value in new.items():
            if key[0] and stored.get(key) != value:
                raise TreeMismatch(f"stored node {key} is not the hash of its children")
        self.add(self.size, new_size, new)

    @staticmethod
    def keys_between(size: int, new_size: int) -> list[tuple[int, int, int]]:
        """(level, first index, end index) of the nodes that appending leaves [size, new_size) adds."""
        out = []
        for level in range(new_size.bit_length()):
            first, end = size >> level, new_size >> level
            if first < end:
                out.append((level, first, end))
        return out

    @property
    def bytes_used(self) -> int:
        return sum(len(level) for level in self.levels)
